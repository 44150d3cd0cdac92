//! The T+1 schedule against the simulator on an injected clock: a simulated week costs exactly the
//! minimum calls, not-ready days are retried, 45009 and 47009 stop exactly what they should.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::{Date, Time, date};
use wechat_mp_exporter::clock::{Clock as _, ManualClock};
use wechat_mp_exporter::schedule::{self, Scheduler};
use wechat_mp_exporter::simulator::Simulator;
use wechat_mp_exporter::wechat::date::{add_days, china_midnight};
use wechat_mp_exporter::wechat::{Endpoint, Period};

use crate::support::t1::{at, calls, t1_minimum, tune};
use crate::support::{Stack, parse_text, sim_config, stack, value};

async fn start(now: Timestamp) -> (Stack, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(now));
    let stack = stack(sim_config(Time::constant(9, 0, 0, 0)), clock.clone(), tune).await;
    (stack, clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_week_costs_exactly_the_t1_minimum() {
    // Monday 2 November 2026, 10:00 UTC+8: yesterday (Sunday 1 November) is already published.
    let start_day = date(2026, 11, 2);
    let (mut stack, clock) = start(at(start_day, 10, 0)).await;
    let days = 7;
    let end = at(add_days(start_day, days), 10, 0);
    let rounds = stack.exporter.scheduler.run_until(&clock, end).await;
    assert!(rounds < 10_000, "the scheduler keeps waking up");

    let mut total = 0;
    for account in &stack.config.accounts {
        let got = calls(&stack.simulator, &account.app_id);
        let want = t1_minimum(
            &stack.simulator,
            &account.app_id,
            add_days(start_day, -1),
            days,
            3,
        );
        assert_eq!(got, want, "calls per endpoint for {}", account.name);
        total += got.values().sum::<u64>();
    }
    // A fixed 5-minute poller would make 21 endpoints x 12/h x 24 h x 7 days per account.
    println!(
        "simulated week: {total} datacube calls for 3 accounts in {rounds} scheduler rounds (fixed 5-minute polling: {})",
        3 * 21 * 12 * 24 * 7
    );

    // The exposed values describe the last complete day.
    let body = stack.exporter.store.exposition().text.clone();
    let samples = parse_text(std::str::from_utf8(&body).unwrap());
    let last = add_days(start_day, days - 1);
    for account in &stack.config.accounts {
        let date = value(
            &samples,
            "wechat_mp_data_date_timestamp_seconds",
            &account.name,
            &[("api", "getusersummary")],
        );
        assert_eq!(
            date,
            Some(china_midnight(last).as_second() as f64),
            "{}",
            account.name
        );
        assert_eq!(
            value(&samples, "wechat_mp_up", &account.name, &[]),
            Some(1.0)
        );
    }
}

/// `[metrics] exclude = ["hourly"]` saves quota, not only series: over a simulated day the four
/// hourly endpoints are never called, the others are, and no series has an `hour` label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluding_hourly_never_calls_the_hourly_endpoints() {
    const HOURLY: [&str; 4] = [
        "getuserreadhour",
        "getusersharehour",
        "getupstreammsghour",
        "getinterfacesummaryhour",
    ];
    let start_day = date(2026, 11, 2);
    let clock = Arc::new(ManualClock::new(at(start_day, 10, 0)));
    let mut stack = stack(sim_config(Time::constant(9, 0, 0, 0)), clock.clone(), |c| {
        tune(c);
        c.metrics.exclude = wechat_mp_exporter::metrics::Exclusions::parse(["hourly"]).unwrap();
    })
    .await;
    let end = at(add_days(start_day, 1), 10, 0);
    stack.exporter.scheduler.run_until(&clock, end).await;
    for account in &stack.config.accounts {
        let got = calls(&stack.simulator, &account.app_id);
        for api in HOURLY {
            let e: Endpoint = api.parse().unwrap();
            assert_eq!(got[&e], 0, "{api} called for {}", account.name);
        }
        for e in [
            Endpoint::UserRead,
            Endpoint::UpstreamMsg,
            Endpoint::InterfaceSummary,
        ] {
            assert!(got[&e] >= 2, "{e} still called for {}", account.name);
        }
    }
    let body = stack.exporter.store.exposition().text.clone();
    let samples = parse_text(std::str::from_utf8(&body).unwrap());
    assert!(samples.iter().any(|s| s.name == "wechat_mp_article_reads"));
    assert!(samples.iter().all(|s| s.label("hour").is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_before_publication_shows_the_day_before_and_probes_until_published() {
    let day = date(2026, 11, 3);
    let (mut stack, clock) = start(at(day, 8, 0)).await;
    let app = stack.config.accounts[0].app_id.clone();
    // The account's first probe of the day is at 08:00 plus its offset (its share of the spread
    // of all accounts' probes over the 30-minute retry interval); every time below shifts by it.
    let offset = schedule::probe_offset(&app, jiff::SignedDuration::from_mins(30));
    let at = |d: Date, h: i8, m: i8| at(d, h, m) + offset;
    clock.set(at(day, 8, 0));
    let sched = &mut stack.exporter.scheduler;
    // When account 0 (the one watched) next wakes up; the others have their own offsets.
    let next_wakeup = |sched: &Scheduler| sched.accounts()[0].plan().next_wakeup(clock.now());

    // 08:00, a cold start: the probe finds yesterday empty (published at 09:00), so the day
    // before is fetched once meanwhile, every report of it.
    sched.tick().await;
    let total = |sim: &Simulator| calls(sim, &app).values().sum::<u64>();
    assert_eq!(
        stack.simulator.calls_to(&app, "getusercumulate"),
        2,
        "the probe and the stand-in day"
    );
    for e in Endpoint::ALL {
        assert!(
            stack.simulator.calls_to(&app, e.name()) >= 1,
            "{} fetched for the day before",
            e.name()
        );
    }
    let name = stack.config.accounts[0].name.clone();
    let samples = parse_text(std::str::from_utf8(&stack.exporter.store.exposition().text).unwrap());
    assert_eq!(
        value(
            &samples,
            "wechat_mp_data_date_timestamp_seconds",
            &name,
            &[("api", "getusersummary")]
        ),
        Some(china_midnight(add_days(day, -2)).as_second() as f64)
    );
    let after_cold_start = total(&stack.simulator);
    assert_eq!(next_wakeup(sched), at(day, 8, 30));

    clock.set(at(day, 8, 30));
    sched.tick().await;
    assert_eq!(
        total(&stack.simulator),
        after_cold_start + 1,
        "only the probe at 08:30"
    );
    assert_eq!(next_wakeup(sched), at(day, 9, 0));

    clock.set(at(day, 9, 0));
    sched.tick().await;
    assert_eq!(stack.simulator.calls_to(&app, "getusercumulate"), 4);
    assert!(
        total(&stack.simulator) > after_cold_start + 2 + 15,
        "every report asked once published"
    );
    let body = stack.exporter.store.exposition().text.clone();
    let samples = parse_text(std::str::from_utf8(&body).unwrap());
    let yesterday = add_days(day, -1);
    let name = &name;
    assert_eq!(
        value(
            &samples,
            "wechat_mp_data_date_timestamp_seconds",
            name,
            &[("api", "getinterfacesummary")]
        ),
        Some(china_midnight(yesterday).as_second() as f64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exhausted_stops_that_api_until_the_next_china_day() {
    let day = date(2026, 11, 3);
    let (mut stack, clock) = start(at(day, 10, 0)).await;
    let account = stack.config.accounts[0].clone();
    stack.simulator.faults().fail("getusersummary", 45009, None);
    let sched = &mut stack.exporter.scheduler;

    sched.tick().await;
    assert_eq!(
        stack.simulator.calls_to(&account.app_id, "getusersummary"),
        1,
        "45009 is not retried"
    );
    let samples = parse_text(std::str::from_utf8(&stack.exporter.store.exposition().text).unwrap());
    assert_eq!(
        value(
            &samples,
            "wechat_mp_api_unavailable",
            &account.name,
            &[("api", "getusersummary"), ("reason", "quota")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "wechat_mp_api_requests_total",
            &account.name,
            &[("api", "getusersummary"), ("errcode", "45009")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "wechat_mp_up", &account.name, &[]),
        Some(0.0)
    );
    // Other reports carry on.
    assert!(value(&samples, "wechat_mp_followers", &account.name, &[]).is_some());

    // The rest of the China day: no call to that API, however often the scheduler wakes.
    sched.run_until(&clock, at(day, 23, 59)).await;
    assert_eq!(
        stack.simulator.calls_to(&account.app_id, "getusersummary"),
        1
    );

    // The quota resets at 00:00 UTC+8: the missing day is fetched at once, the next one once published.
    stack.simulator.faults().clear();
    sched.run_until(&clock, at(add_days(day, 1), 0, 30)).await;
    assert_eq!(
        stack.simulator.calls_to(&account.app_id, "getusersummary"),
        2
    );
    sched.run_until(&clock, at(add_days(day, 1), 10, 0)).await;
    assert_eq!(
        stack.simulator.calls_to(&account.app_id, "getusersummary"),
        3
    );
    let samples = parse_text(std::str::from_utf8(&stack.exporter.store.exposition().text).unwrap());
    assert_eq!(
        value(
            &samples,
            "wechat_mp_api_unavailable",
            &account.name,
            &[("api", "getusersummary"), ("reason", "quota")]
        ),
        None
    );
    assert_eq!(
        value(&samples, "wechat_mp_up", &account.name, &[]),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_legacy_article_endpoints_give_way_to_the_published_content_ones() {
    let day = date(2026, 11, 3);
    let (mut stack, clock) = start(at(day, 10, 0)).await;
    let account = stack.config.accounts[0].clone();
    stack.simulator.faults().set_legacy_articles_offline(true);
    let sched = &mut stack.exporter.scheduler;

    sched.tick().await;
    let first = calls(&stack.simulator, &account.app_id);
    sched.run_until(&clock, at(add_days(day, 2), 10, 0)).await;
    let later = calls(&stack.simulator, &account.app_id);
    for e in Endpoint::ALL {
        if e.is_legacy_article() {
            assert!(first[&e] >= 1, "{} was tried", e.name());
            assert_eq!(
                later[&e],
                first[&e],
                "{} is not called again after 47009",
                e.name()
            );
        } else if e.period() == Period::Day
            && e.rolling_window_days().is_none()
            && e != Endpoint::UserCumulate
        {
            assert_eq!(later[&e], first[&e] + 2, "{} carries on daily", e.name());
        }
    }
    let samples = parse_text(std::str::from_utf8(&stack.exporter.store.exposition().text).unwrap());
    assert_eq!(
        value(
            &samples,
            "wechat_mp_api_unavailable",
            &account.name,
            &[("api", "getuserread"), ("reason", "offline")]
        ),
        Some(1.0)
    );
    assert!(
        value(
            &samples,
            "wechat_mp_published_read_users",
            &account.name,
            &[]
        )
        .is_some(),
        "getbizsummary carries the reads"
    );
    assert!(
        crate::support::of(&samples, "wechat_mp_article_reads", &account.name).is_empty(),
        "no stale legacy series"
    );
    assert!(
        !crate::support::of(
            &samples,
            "wechat_mp_article_cumulative_read_users",
            &account.name
        )
        .is_empty()
    );
}
