//! Build metadata for `--version` and `wechat_mp_exporter_build_info`: the source revision (the
//! `WECHAT_MP_EXPORTER_REVISION` the container build passes, else `git rev-parse HEAD` when the
//! source is a git checkout, else "unknown"), the build date (`SOURCE_DATE_EPOCH` when set, for
//! reproducible builds) and the compiler's version.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=WECHAT_MP_EXPORTER_REVISION");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let revision = match std::env::var("WECHAT_MP_EXPORTER_REVISION") {
        Ok(r) if !r.trim().is_empty() => r.trim().to_string(),
        _ => git_revision().unwrap_or_else(|| "unknown".into()),
    };
    println!("cargo:rustc-env=WECHAT_MP_EXPORTER_REVISION={revision}");
    println!(
        "cargo:rustc-env=WECHAT_MP_EXPORTER_BUILD_DATE={}",
        build_date()
    );
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let toolchain =
        output(Command::new(rustc).arg("--version")).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=WECHAT_MP_EXPORTER_TOOLCHAIN={toolchain}");
    let target = |key: &str| std::env::var(key).unwrap_or_else(|_| "unknown".into());
    println!(
        "cargo:rustc-env=WECHAT_MP_EXPORTER_PLATFORM={}/{}",
        target("CARGO_CFG_TARGET_OS"),
        target("CARGO_CFG_TARGET_ARCH")
    );
}

/// HEAD's commit, and a rebuild whenever HEAD moves (a commit, a checkout).
fn git_revision() -> Option<String> {
    let revision = output(Command::new("git").args(["rev-parse", "HEAD"]))?;
    // HEAD names the branch; the branch's ref (or packed-refs) names the commit. Only files
    // that exist are watched: cargo counts a missing one as changed and would rebuild the crate
    // on every build (a checkout that never packed its refs has no packed-refs).
    let watch = |path: &str| {
        if let Some(p) = output(Command::new("git").args(["rev-parse", "--git-path", path]))
            && std::path::Path::new(&p).exists()
        {
            println!("cargo:rerun-if-changed={p}");
        }
    };
    watch("HEAD");
    watch("packed-refs");
    if let Some(branch) = output(Command::new("git").args(["symbolic-ref", "-q", "HEAD"])) {
        watch(&branch);
    }
    Some(revision)
}

/// `YYYYMMDD-HH:MM:SS` in UTC, as Prometheus' `--version` prints it.
fn build_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm): a build
/// script has no date crate.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}
