//! The status page in a real browser (Debian's `chromium`, headless): an exporter with healthy
//! accounts and one whose AppSecret WeChat rejects (errcode 40125). The rendered page names the
//! failing account first with its reason and next poll; its own page lists its errors. Each page
//! is kept as a screenshot under `target/tmp/screenshots/` (CI keeps them as artifacts);
//! `UPDATE_DOCS=1` also copies them to `docs/` for the README.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::civil::{Time, date};
use tokio_util::sync::CancellationToken;

use crate::support::chromium;
use crate::support::t1::clock_at;
use crate::support::{fast_probes, get, run_exporter, sim_config, stack};

/// Where the screenshots go: kept by CI as artifacts.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_chromium_shows_the_failing_account_first() {
    let Some(browser) = chromium::find() else {
        eprintln!(
            "\n*** SKIPPED the browser test: chromium is not installed \
             (apt-get install chromium; scripts/test.sh installs it) ***\n"
        );
        return;
    };
    // A fixed morning: on the real clock, an hour before midnight UTC+8 the failing account's
    // next poll is the next day's publication, not its error backoff, and the page says so.
    let clock = clock_at(date(2026, 11, 18), 10, 0);
    let stack = stack(sim_config(Time::midnight()), clock, fast_probes).await;
    let failing = stack.config.accounts.last().unwrap().clone();
    // Every token request of the last account: "invalid appsecret".
    stack
        .simulator
        .faults()
        .fail_account(&failing.app_id, "stable_token", 40125, None);
    let shutdown = CancellationToken::new();
    let accounts = stack.config.accounts.len();
    let (addr, _server) = run_exporter(stack.exporter, &shutdown).await;
    let base = format!("http://{addr}");
    // Until every account's callback probe has reported (the page shows it).
    for _ in 0..100 {
        let (_, _, json) = get(&format!("{base}/api/v1/status"), None).await;
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        let probed = json["accounts"].as_array().unwrap().iter();
        if probed.clone().all(|a| !a["callback_probe"].is_null()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let index = format!("{base}/");
    let own = format!("{base}/account/{}", failing.name);
    let (b, i, o) = (browser.clone(), index.clone(), own.clone());
    let (dom, own_dom) = tokio::task::spawn_blocking(move || {
        (chromium::dump_dom(&b, &i), chromium::dump_dom(&b, &o))
    })
    .await
    .unwrap();

    // The first row is the failing account, down, with WeChat's reason and when it is asked again.
    let rows: Vec<&str> = dom.split("<tr class=").skip(1).collect();
    assert_eq!(rows.len(), accounts, "{dom}");
    let first = rows[0];
    assert!(
        first.contains(&format!(">{}</a>", failing.name)),
        "the failing account comes first: {first}"
    );
    assert!(first.starts_with("\"down\""), "{first}");
    assert!(first.contains("40125"), "its reason: {first}");
    assert!(
        first.contains("backing off after an error"),
        "its next poll and why: {first}"
    );
    for row in &rows[1..] {
        assert!(
            row.starts_with("\"up\"") || row.starts_with("\"waiting\""),
            "{row}"
        );
    }
    assert!(dom.contains("1 down"), "the summary counts it");
    assert!(own_dom.contains(&format!("<h2>{}</h2>", failing.name)));
    assert!(
        own_dom.contains("Recent errors") && own_dom.contains("40125"),
        "{own_dom}"
    );

    let dir = screenshot_dir();
    let shots = [
        (index, dir.join("status-page.png")),
        (own, dir.join("status-account.png")),
    ];
    let taken = shots.clone();
    tokio::task::spawn_blocking(move || {
        for (url, png) in &taken {
            chromium::screenshot(&browser, url, png, (1400, 620));
        }
    })
    .await
    .unwrap();
    eprintln!("screenshots in {}", dir.display());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        for (_, png) in &shots {
            std::fs::copy(png, docs.join(png.file_name().unwrap())).unwrap();
        }
    }
    shutdown.cancel();
}
