//! getApiQuota: the exporter's quota gauges equal the simulator's own counts, quotas are read once
//! per UTC+8 day and again after a 45009, and the simulator's quota really runs out.

use std::sync::Arc;

use jiff::civil::{Date, date, time};
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::simulator::DEFAULT_DAILY_LIMIT;
use wechat_mp_exporter::wechat::Endpoint;
use wechat_mp_exporter::wechat::date::china_at;

use crate::support::{Stack, parse_text, sim_config, stack, value};

const DAY: Date = date(2026, 11, 3);

async fn start() -> (Stack, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(china_at(DAY, time(10, 0, 0, 0))));
    let stack = stack(sim_config(time(9, 0, 0, 0)), clock.clone(), |c| {
        c.schedule.publish_after = time(9, 0, 0, 0);
    })
    .await;
    (stack, clock)
}

fn metric(stack: &Stack, name: &str, account: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = String::from_utf8(stack.exporter.store.exposition().text.to_vec()).unwrap();
    value(&parse_text(&text), name, account, labels)
}

fn quota_reads(stack: &Stack, account: &str) -> Option<f64> {
    metric(
        stack,
        "wechat_mp_api_requests_total",
        account,
        &[("api", "quota_get"), ("errcode", "0")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_gauges_equal_the_simulators_counts_and_a_45009_reads_them_again() {
    let (mut stack, clock) = start().await;
    let accounts = stack.config.accounts.clone();
    let (a, b) = (&accounts[0], &accounts[1]);
    // Both accounts' getusersummary fails all four attempts: it is asked again at 10:30.
    for acc in [a, b] {
        stack
            .simulator
            .faults()
            .fail_account(&acc.app_id, "getusersummary", -1, Some(4));
    }
    stack.exporter.scheduler.tick().await;

    let endpoints = Endpoint::ALL.len() as f64;
    for acc in &accounts {
        assert_eq!(
            quota_reads(&stack, &acc.name),
            Some(endpoints),
            "{}: one read per API",
            acc.name
        );
        assert_eq!(
            stack.simulator.calls_to(&acc.app_id, "quota_get") as f64,
            endpoints
        );
        for e in Endpoint::ALL {
            let api = [("api", e.name())];
            let used = stack.simulator.used_on(&acc.app_id, e.name(), DAY);
            let name = &acc.name;
            assert_eq!(
                metric(&stack, "wechat_mp_api_quota_used_requests", name, &api),
                Some(used as f64),
                "{name} {e:?}"
            );
            assert_eq!(
                metric(&stack, "wechat_mp_api_quota_limit_requests", name, &api),
                Some(DEFAULT_DAILY_LIMIT as f64)
            );
            assert_eq!(
                metric(&stack, "wechat_mp_api_quota_remaining_requests", name, &api),
                Some((DEFAULT_DAILY_LIMIT - used) as f64)
            );
        }
        // The simulator counted the calls the exporter made (the failed ones were refused
        // before they reached the quota).
        let used = stack.simulator.used_on(&acc.app_id, "getusersummary", DAY);
        assert_eq!(
            used,
            if acc.name == a.name || acc.name == b.name {
                0
            } else {
                1
            }
        );
        assert!(stack.simulator.used_on(&acc.app_id, "getusercumulate", DAY) >= 1);
    }

    // 10:30: a retries and succeeds (no fresh read: once a day); b meets a 45009 (read again).
    stack
        .simulator
        .faults()
        .fail_account(&b.app_id, "getusersummary", 45009, Some(1));
    clock.set(china_at(DAY, time(10, 30, 0, 0)));
    stack.exporter.scheduler.tick().await;
    assert_eq!(stack.simulator.calls_to(&a.app_id, "getusersummary"), 5);
    assert_eq!(
        quota_reads(&stack, &a.name),
        Some(endpoints),
        "a: no 45009, no second read"
    );
    assert_eq!(
        quota_reads(&stack, &b.name),
        Some(2.0 * endpoints),
        "b: read again after the 45009"
    );
    // a's gauge still shows the morning's read (its 10:30 call is not in it); b's the fresh one.
    let api = [("api", "getusersummary")];
    assert_eq!(
        metric(&stack, "wechat_mp_api_quota_used_requests", &a.name, &api),
        Some(0.0)
    );
    assert_eq!(stack.simulator.used_on(&a.app_id, "getusersummary", DAY), 1);
    assert_eq!(
        metric(&stack, "wechat_mp_api_quota_used_requests", &b.name, &api),
        Some(stack.simulator.used_on(&b.app_id, "getusersummary", DAY) as f64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_daily_quota_runs_out_with_45009() {
    let (mut stack, _clock) = start().await;
    let acc = stack.config.accounts[0].clone();
    // getarticletotal asks for 7 send dates on a first poll: 3 fit in the quota.
    stack.simulator.set_daily_limit(3);
    stack.exporter.scheduler.tick().await;
    let api = "getarticletotal";
    let calls = stack.simulator.calls_to(&acc.app_id, api);
    assert_eq!(calls, 7);
    assert_eq!(stack.simulator.used_on(&acc.app_id, api, DAY), 3);
    let labels = [("api", api)];
    assert_eq!(
        metric(
            &stack,
            "wechat_mp_api_quota_used_requests",
            &acc.name,
            &labels
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(
            &stack,
            "wechat_mp_api_quota_limit_requests",
            &acc.name,
            &labels
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(
            &stack,
            "wechat_mp_api_quota_remaining_requests",
            &acc.name,
            &labels
        ),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &stack,
            "wechat_mp_api_requests_total",
            &acc.name,
            &[("api", api), ("errcode", "45009")]
        ),
        Some((calls - 3) as f64)
    );
    assert_eq!(
        metric(
            &stack,
            "wechat_mp_api_unavailable",
            &acc.name,
            &[("api", api), ("reason", "quota")]
        ),
        Some(1.0)
    );
}
