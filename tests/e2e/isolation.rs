//! Per-account isolation: an account whose upstream answers slowly never delays another
//! account's calls; the others stay current while it is stuck, and the landing page says which
//! account is stuck on what.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wechat_mp_exporter::clock;

use crate::support::{Stack, get, serve, sim_config, stack, up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_account_does_not_hold_up_another_accounts_day() {
    let retry = Duration::from_secs(2);
    let tune = |c: &mut wechat_mp_exporter::config::Config| {
        // Every attempt of the slow account times out and is retried: one fetch stays in flight
        // for 11 timeouts, longer than this whole test, and is stuck after the first.
        c.wechat.timeout = Duration::from_secs(3);
        c.wechat.max_retries = 10;
        c.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(2);
        c.schedule.publish_after = jiff::civil::Time::midnight();
        c.schedule.empty_is_zero_after = jiff::civil::Time::midnight();
        c.schedule.retry_interval = retry;
    };
    let Stack {
        simulator,
        config,
        exporter,
        ..
    } = stack(
        sim_config(jiff::civil::Time::midnight()),
        clock::system(),
        tune,
    )
    .await;
    let (slow, fresh) = (&config.accounts[0], &config.accounts[1]);
    // The slow account's day is published, but every report of it takes longer than this whole
    // test: its round holds as many permits of the shared limit as it may.
    let hang = Duration::from_secs(600);
    let stall = || {
        simulator.faults().delay_account(&slow.app_id, "*", hang);
        simulator
            .faults()
            .delay_account(&slow.app_id, "getusercumulate", Duration::ZERO);
    };
    stall();
    // The other account's day is not published yet (61503): it keeps asking every retry interval.
    simulator
        .faults()
        .fail_account(&fresh.app_id, "getusercumulate", 61503, None);
    let base = serve(&exporter).await;
    let shutdown = CancellationToken::new();
    tokio::spawn(exporter.scheduler.run(shutdown.clone()));

    // Several retry intervals with the slow account stuck in its first round.
    tokio::time::sleep(retry * 3).await;
    let probes = simulator.calls_to(&fresh.app_id, "getusercumulate");
    assert!(
        probes >= 2,
        "the other account kept asking while the slow one hung: {probes} probe(s)"
    );

    // The day is published; the slow account is still hanging.
    simulator.faults().clear();
    stall();
    let published = Instant::now();
    let metrics = format!("{base}/metrics");
    loop {
        let (_, _, body) = get(&metrics, None).await;
        if up(&body, &fresh.name) == Some(1.0) {
            assert_eq!(
                up(&body, &slow.name),
                Some(0.0),
                "the stuck account is not up"
            );
            break;
        }
        assert!(
            published.elapsed() < retry + Duration::from_secs(10),
            "the other account's day was not fetched within its retry interval plus a few seconds"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(simulator.calls_to(&fresh.app_id, "getusersummary") >= 1);
    // Each account's own status page (its row, its reports).
    let mut sections = Vec::new();
    for name in [&slow.name, &fresh.name] {
        let (status, _, page) = get(&format!("{base}/account/{name}"), None).await;
        assert_eq!(status, 200, "{page}");
        sections.push(page);
    }
    let (stuck, current) = (&sections[0], &sections[1]);
    assert!(stuck.contains("<tr class=\"stuck\">"), "{stuck}");
    let words = stuck
        .split("stuck since ")
        .nth(1)
        .and_then(|rest| rest.split("<br>").next())
        .unwrap_or_else(|| panic!("the stuck account's row says so: {stuck}"));
    // "2026-12-02 09:00:03 UTC+8: getusersummary waiting 5 s, longer than the 3s timeout"
    let (when, what) = words.split_once(" UTC+8: ").expect("a UTC+8 time");
    assert!(
        jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", when).is_ok(),
        "{words}"
    );
    let (api, waited) = what.split_once(" waiting ").expect("what it waits for");
    assert!(
        api.parse::<wechat_mp_exporter::wechat::Endpoint>().is_ok(),
        "{words}"
    );
    assert!(
        waited.ends_with(" s, longer than the 3s timeout"),
        "{words}"
    );
    let secs: u64 = waited.split(' ').next().unwrap().parse().unwrap();
    assert!(secs > 3, "{words}");
    assert!(
        !current.contains("stuck since") && current.contains("<tr class=\"waiting\">"),
        "the current account is not stuck: {current}"
    );
    assert!(
        current.contains("waiting for WeChat to publish"),
        "the other account waits for its day: {current}"
    );
    shutdown.cancel();
}
