//! `[wechat] rate_limit`: with it on, the simulator never sees more upstream requests in a second
//! than the limit (token, datacube and quota calls together), and every account still gets ready.

use std::time::Duration;

use wechat_mp_exporter::clock;

use crate::support::{get, many_accounts, serve, stack, users_only};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_request_rate_stays_under_the_limit_and_every_account_gets_ready() {
    const LIMIT: u32 = 25;
    const ACCOUNTS: usize = 30;
    // The simulator publishes yesterday from midnight: every account is ready after one round.
    let sim = many_accounts(ACCOUNTS, jiff::civil::Time::midnight());
    let mut stack = stack(sim, clock::system(), |c| {
        users_only(c);
        c.schedule.publish_after = jiff::civil::Time::midnight();
        c.wechat.concurrency = 16;
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
    let busiest = stack.simulator.max_requests_within(Duration::from_secs(1));
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
