//! The callback probe in a running exporter: probes that hang on a slow callback server delay
//! neither a poll round nor a scrape, time out with their reason, and only accounts with a probe
//! get probe series.

use std::time::{Duration, Instant};

use jiff::civil::Time;
use tokio_util::sync::CancellationToken;
use wechat_mp_exporter::clock;
use wechat_mp_exporter::simulator::callback::Behaviour;

use crate::support::{get, parse_text, serve, sim_config, stack, value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_probes_delay_neither_polls_nor_scrapes() {
    let mut stack = stack(sim_config(Time::midnight()), clock::system(), |c| {
        for a in &mut c.accounts {
            if let Some(p) = &mut a.callback_probe {
                p.interval = Duration::from_secs(1);
                p.timeout = Duration::from_secs(5);
            }
        }
        c.accounts[2].callback_probe = None;
    })
    .await;
    for n in 1..=2 {
        // Answers after 6 s: past the 5 s timeout.
        stack.simulator.callback().set(
            &format!("demo-{n}"),
            Behaviour::Slow(Duration::from_secs(6)),
        );
    }
    let shutdown = CancellationToken::new();
    stack.exporter.start_probes(shutdown.clone());
    let base = serve(&stack.exporter).await;

    // The probes start within their first second and hang; a poll round and scrapes go on.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let start = Instant::now();
    stack.exporter.scheduler.tick().await;
    let poll = start.elapsed();
    assert!(poll < Duration::from_secs(4), "a poll round took {poll:?}");
    for _ in 0..5 {
        let start = Instant::now();
        let (status, _, _) = get(&format!("{base}/metrics"), None).await;
        assert_eq!(status, 200);
        assert!(start.elapsed() < Duration::from_millis(500));
    }

    // Both probes give up at 5 s, with reason timeout; demo-3 has no probe and no probe series.
    let timeouts = |body: &str, account: &str| {
        value(
            &parse_text(body),
            "wechat_mp_callback_probe_failures_total",
            account,
            &[("reason", "timeout")],
        )
    };
    let mut body = String::new();
    for _ in 0..100 {
        body = get(&format!("{base}/metrics"), None).await.2;
        if timeouts(&body, "demo-1") >= Some(1.0) && timeouts(&body, "demo-2") >= Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(timeouts(&body, "demo-1") >= Some(1.0), "{body}");
    assert!(timeouts(&body, "demo-2") >= Some(1.0), "{body}");
    let samples = parse_text(&body);
    assert_eq!(
        value(&samples, "wechat_mp_callback_probe_success", "demo-1", &[]),
        Some(0.0)
    );
    assert!(
        value(
            &samples,
            "wechat_mp_callback_probe_duration_seconds",
            "demo-1",
            &[]
        )
        .is_some_and(|d| (5.0..5.9).contains(&d))
    );
    assert!(
        !body
            .lines()
            .any(|l| l.starts_with("wechat_mp_callback_probe_") && l.contains("account=\"demo-3\"")),
        "demo-3 has no probe"
    );
    assert_eq!(value(&samples, "wechat_mp_up", "demo-3", &[]), Some(1.0));
    shutdown.cancel();
}
