//! Per-account isolation: an account whose upstream answers slowly never delays another
//! account's calls; the others stay current while it is stuck.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wechat_mp_exporter::clock;

use crate::support::{Stack, get, serve, sim_config, stack, up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_account_does_not_hold_up_another_accounts_day() {
    let retry = Duration::from_secs(2);
    let tune = |c: &mut wechat_mp_exporter::config::Config| {
        c.wechat.timeout = Duration::from_secs(120);
        c.wechat.max_retries = 0;
        c.wechat.concurrency = 2;
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
    let (_, _, page) = get(&base, None).await;
    assert!(page.contains(&slow.name), "{page}");
    shutdown.cancel();
}
