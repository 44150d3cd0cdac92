//! `wechat-mp-exporter check-config`: exit 0 on a good file, and on a broken one every bad key
//! named with a non-zero exit.

use std::process::Command;

use crate::support::harness::exporter_command;

fn check(config: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    std::fs::write(&path, config).unwrap();
    let out = exporter_command()
        .arg("check-config")
        .arg(format!("--config.file={}", path.display()))
        .env_remove("WECHAT_MP_EXPORTER_CONFIG_FILE")
        .env("BRAND_APP_SECRET", "0123456789abcdef0123456789abcdef")
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_good_config_passes() {
    let (code, stdout, stderr) = check(
        r#"
[wechat]
timeout = "10s"
[schedule]
retry_interval = "30m"
[[account]]
name = "brand"
app_id = "wx0123456789abcdef"
app_secret = "${BRAND_APP_SECRET}"
"#,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("OK (1 account)"), "{stdout}");
}

#[test]
fn a_broken_config_names_every_bad_key_and_fails() {
    let (code, stdout, stderr) = check(
        r#"
[wechat]
api_base_url = "ftp://example"
timeout = "ten seconds"
[schedule]
retry_intervall = "30m"
[[account]]
name = "brand"
app_id = "not-an-app-id"
app_secret = "${NOT_SET_ANYWHERE}"
token = "forced"
reports = ["followers"]
"#,
    );
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    for key in [
        "wechat.api_base_url",
        "wechat.timeout",
        "schedule.retry_intervall",
        "account \"brand\".app_id",
        "account \"brand\".app_secret",
        "account \"brand\".token",
        "account \"brand\".reports",
    ] {
        assert!(
            stderr.contains(&format!("  {key}: ")),
            "{key} not named in:\n{stderr}"
        );
    }
    assert!(stderr.contains("7 problem(s)"), "{stderr}");
    assert!(stderr.contains("NOT_SET_ANYWHERE is not set"), "{stderr}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = exporter_command()
        .args(["check-config", "--config.file=/nonexistent/exporter.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read /nonexistent/exporter.toml"),
        "{stderr}"
    );
}

/// The README's complete example passes with the variables it reads set.
#[test]
fn the_example_config_passes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/wechat-mp-exporter.toml"
    );
    let out = exporter_command()
        .args(["check-config", &format!("--config.file={path}")])
        .env("BRAND_APP_SECRET", "0123456789abcdef0123456789abcdef")
        .env("SHOP_APP_SECRET", "fedcba9876543210fedcba9876543210")
        .env("BRAND_CALLBACK_TOKEN", "probetoken1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("OK (2 accounts; 1 callback probe)"),
        "{stdout}"
    );
}

#[test]
fn serve_prints_a_missing_file_once() {
    let out = exporter_command()
        .args([
            "--config.file=/nonexistent/exporter.toml",
            "--storage.path=",
        ])
        .args(["--web.listen-address=127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .matches("cannot read /nonexistent/exporter.toml")
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn version_is_in_the_prometheus_style_with_a_revision() {
    let out = exporter_command().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "wechat-mp-exporter {} (revision: ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    for key in ["build date:", "toolchain:  rustc ", "platform:"] {
        assert!(text.contains(key), "{key} missing in {text}");
    }
    // In a git checkout (this test's usual home) build.rs takes HEAD's commit.
    let in_git = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    match in_git {
        Some(head) if std::env::var_os("WECHAT_MP_EXPORTER_REVISION").is_none() => {
            let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
            assert!(first.contains(&format!("(revision: {head})")), "{text}");
        }
        _ => eprintln!("SKIPPED the HEAD comparison: not a git checkout, or the revision is set"),
    }
}

/// `check-config --shard`: how many accounts the shard keeps; a bad value names the flag.
#[test]
fn check_config_says_how_many_accounts_a_shard_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(&format!(
            "[[account]]\nname = \"a{i}\"\napp_id = \"wx{i:016x}\"\napp_secret = \"s\"\n"
        ));
    }
    std::fs::write(&path, text).unwrap();
    let run = |shard: &str| {
        let out = exporter_command()
            .args(["check-config", &format!("--config.file={}", path.display())])
            .arg(format!("--shard={shard}"))
            .env_remove("WECHAT_MP_EXPORTER_SHARD")
            .output()
            .expect("the binary runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    };
    let mut kept = 0;
    for i in 0..3 {
        let shard = format!("{i}/3");
        let (code, out) = run(&shard);
        assert_eq!(code, 0, "{out}");
        let expected = (0..30)
            .filter(|n| wechat_mp_exporter::shard::shard_of(&format!("wx{n:016x}"), 3) == i)
            .count();
        assert!(
            out.contains(&format!("OK (30 accounts; shard {shard} keeps {expected})")),
            "{out}"
        );
        kept += expected;
    }
    assert_eq!(kept, 30);
    let (code, out) = run("3/3");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("--shard") && out.contains("I = 3 is not below N = 3"),
        "{out}"
    );
}
