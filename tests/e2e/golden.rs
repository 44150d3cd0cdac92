//! Golden exposition of the demo: the simulator and the exporter in one process at a fixed clock,
//! both `/metrics` bodies compared byte for byte with `tests/golden/demo.*`. Every change to a
//! metric name, label, value or ordering shows as a diff of those files; `UPDATE_DOCS=1` rewrites
//! them.
//!
//! What is not a function of the data and the clock is not compared: the `process_*` families
//! (this test process's CPU and memory) and the `wechat_mp_callback_probe_*` families (real
//! request times, and how many probes ran depends on their random start) are removed, and the values of the families in `WALL_CLOCK`
//! (when the config was loaded, how long a poll round took in real time) are replaced by `0`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::civil::{date, time};
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::demo::Demo;
use wechat_mp_exporter::wechat::date::china_at;

use crate::support::{get, wait_until_ok};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Families whose values are real elapsed or wall-clock time, not the ManualClock's.
const WALL_CLOCK: [&str; 2] = [
    "wechat_mp_exporter_config_last_reload_success_timestamp_seconds",
    "wechat_mp_last_poll_duration_seconds",
];

/// Drops the `process_*` families and pins the one wall-clock value (see the module comment).
fn normalise(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    for line in body.lines() {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .or_else(|| line.strip_prefix("# UNIT "))
            .unwrap_or(line);
        if name.starts_with("process_") || name.starts_with("wechat_mp_callback_probe_") {
            continue;
        }
        if let Some(family) = WALL_CLOCK.iter().find(|f| {
            line.strip_prefix(**f)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        }) {
            let series = line.rsplit_once(' ').map_or(line, |(series, _)| series);
            debug_assert!(series.starts_with(family));
            out.push_str(series);
            out.push_str(" 0\n");
            continue;
        }
        // The revision is the checkout's (build.rs): pinned to a placeholder.
        let revision = format!("revision=\"{}\"", wechat_mp_exporter::app::REVISION);
        out.push_str(&line.replace(&revision, "revision=\"GIT_REVISION\""));
        out.push('\n');
    }
    out
}

/// Compares `have` with the golden file `name`, or rewrites it under `UPDATE_DOCS=1`.
fn golden(name: &str, have: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, have).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want != have {
        let first = want
            .lines()
            .zip(have.lines())
            .position(|(w, h)| w != h)
            .unwrap_or(want.lines().count().min(have.lines().count()));
        panic!(
            "{} differs from the exposition at line {} (want {:?}, have {:?}); \
             if the change is intended run `UPDATE_DOCS=1 cargo test --test e2e golden`",
            path.display(),
            first + 1,
            want.lines().nth(first),
            have.lines().nth(first),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_exposition_at_a_fixed_clock_is_the_golden_one() {
    // 10:00 UTC+8 on a Tuesday: yesterday is published, the last complete week and month exist.
    let clock = Arc::new(ManualClock::new(china_at(
        date(2026, 11, 24),
        time(10, 0, 0, 0),
    )));
    let demo = Demo::start(SocketAddr::from(([127, 0, 0, 1], 0)), clock)
        .await
        .expect("demo starts");
    let base = format!("http://{}", demo.exporter_addr);
    wait_until_ok(&format!("{base}/-/ready")).await;

    // Ready means every account answered; let the round finish: the body stops changing.
    let mut last = String::new();
    let mut same = 0;
    for _ in 0..200 {
        let (status, _, body) = get(&format!("{base}/metrics"), None).await;
        assert_eq!(status, 200);
        let body = normalise(&body);
        same = if body == last { same + 1 } else { 0 };
        last = body;
        if same == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(same, 5, "the exposition kept changing");

    let (_, content_type, om) = get(&format!("{base}/metrics"), Some(OPENMETRICS)).await;
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    golden("demo.openmetrics.txt", &normalise(&om));
    golden("demo.txt", &last);
    demo.stop().await;
}
