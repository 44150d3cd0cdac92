//! `[wechat] rate_limit`: with it on, the simulator never sees more upstream requests in a second
//! than the limit (token, datacube and quota calls together), whichever command sends them: the
//! poll loop (and every account still gets ready), after a reload that sets it, and `backfill`. (The listing of a platform's
//! accounts: `component.rs`.)

use std::sync::Arc;

use jiff::civil::{Time, date};
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::backfill::{self, Request};
use wechat_mp_exporter::clock::{self, ManualClock};
use wechat_mp_exporter::config::Config;

use crate::support::{get, many_accounts, serve, stack, start_simulator, users_only, write_config};

/// Ten days of two accounts at `rate_limit = 4`: the tokens and the datacube calls of a backfill
/// keep the limit as the poll loop does (unpaced, they all arrive within one second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_keeps_the_rate_limit_token_calls_included() {
    const LIMIT: u32 = 4;
    // 12:00 UTC+8 on 2026-11-25: the 24th is published.
    let clock = Arc::new(ManualClock::new("2026-11-25T04:00:00Z".parse().unwrap()));
    let sim = many_accounts(2, Time::constant(9, 0, 0, 0));
    let stack = stack(sim, clock.clone(), |c| {
        users_only(c);
        c.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(8);
        c.wechat.rate_limit = LIMIT;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let request = Request {
        from: date(2026, 11, 14),
        to: date(2026, 11, 23),
        output: dir.path().join("backfill.om"),
    };
    let summary = backfill::run(&stack.config, &request, clock)
        .await
        .expect("the backfill runs");
    assert_eq!(summary.failed, 0);
    // Per account: a token, then getusersummary and getusercumulate over two 7-day spans each.
    assert_eq!(summary.fetched, 2 * 2);
    let total = stack.simulator.requests_received();
    assert!(total >= 2 * 5, "{total} requests");
    assert_eq!(
        stack.simulator.stable_token_requests(),
        2,
        "one token per account"
    );
    let busiest = stack.simulator.busiest_second();
    assert!(
        busiest <= LIMIT as usize,
        "{busiest} requests within a second (limit {LIMIT}/s, {total} in all)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_request_rate_stays_under_the_limit_and_every_account_gets_ready() {
    const LIMIT: u32 = 25;
    const ACCOUNTS: usize = 30;
    // The simulator publishes yesterday from midnight: every account is ready after one round.
    let sim = many_accounts(ACCOUNTS, jiff::civil::Time::midnight());
    let mut stack = stack(sim, clock::system(), |c| {
        users_only(c);
        c.schedule.publish_after = jiff::civil::Time::midnight();
        c.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(16);
        c.wechat.rate_limit = LIMIT;
    })
    .await;
    let url = serve(&stack.exporter).await;
    stack.exporter.scheduler.tick().await;

    let (status, _, _) = get(&format!("{url}/-/ready"), None).await;
    assert_eq!(status, 200, "every account is ready");
    let total = stack.simulator.requests_received();
    // A token, a probe, getusersummary and two quota reads per account: far more than a second's worth.
    assert!(total >= 4 * ACCOUNTS, "{total} requests");
    let busiest = stack.simulator.busiest_second();
    // Evenly spaced, a one-second window holds at most LIMIT + 1; loopback latency can bunch a
    // few arrivals together, hence the slack.
    let ceiling = (f64::from(LIMIT) * 1.2) as usize + 1;
    assert!(
        busiest <= ceiling,
        "{busiest} requests within a second (limit {LIMIT}/s, {total} in all)"
    );
    // Not trivially low either: the limiter spaces the calls, it does not stall them.
    assert!(
        busiest >= LIMIT as usize / 2,
        "{busiest} requests in the busiest second"
    );
}

/// A reload that sets `rate_limit` paces every account at once: the limiter is the one the shared
/// HTTP client carries, changed in place (the pollers built before the reload keep it too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_sets_the_rate_limit_of_every_account() {
    const LIMIT: u32 = 3;
    let (sim, addr, sim_config) = start_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    write_config(&path, addr, &sim_config, &[("a", 0), ("b", 1), ("c", 2)]);
    // The follower reports only, and concurrency enough to send everything at once unpaced.
    let users_only = |text: String| -> String {
        let mut out = String::new();
        for line in text.lines() {
            out.push_str(line);
            out.push('\n');
            if line.starts_with("app_secret") {
                out.push_str("reports = [\"users\"]\n");
            }
        }
        out.replace("[wechat]\n", "[wechat]\nconcurrency = 16\n")
    };
    let text = users_only(std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, &text).unwrap();
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut exporter = Exporter::new(&config, clock::system()).unwrap();
    let reloader = exporter.reloader(path.clone());
    let limited = text.replace("[wechat]\n", &format!("[wechat]\nrate_limit = {LIMIT}\n"));
    std::fs::write(&path, limited).unwrap();
    reloader.reload().await.expect("the reload is accepted");

    exporter.scheduler.tick().await;
    let total = sim.requests_received();
    assert!(total >= 3 * 3, "{total} requests");
    let busiest = sim.busiest_second();
    assert!(
        busiest <= LIMIT as usize,
        "{busiest} requests within a second (limit {LIMIT}/s, {total} in all)"
    );
}
