//! Unit tests of the poller: the per-account share of the limit, stuck rounds shown as down, the
//! quota readings across a restart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use jiff::SignedDuration;
use jiff::civil::{date, time};

use super::{AccountPoller, Fetch, Scheduler, per_account_limit};
use crate::clock::ManualClock;
use crate::latest::{AccountReports, AccountStatus};
use crate::metrics::Store;
use crate::schedule::{AccountPlan, PlanSettings};
use crate::status_page::{InFlight, StatusBoard};
use crate::wechat::client::ApiQuota;
use crate::wechat::date::china_at;
use crate::wechat::error::Error;
use crate::wechat::{DateRange, Endpoint, Parsed};

/// A client that is never asked: these tests do not poll.
struct Unused;

impl Fetch for Unused {
    fn fetch(&self, _: Endpoint, _: DateRange) -> BoxFuture<'_, Result<Parsed, Error>> {
        unreachable!("not polled")
    }
    fn quota(&self, _: Endpoint) -> BoxFuture<'_, Result<ApiQuota, Error>> {
        unreachable!("not polled")
    }
}

fn up_line(store: &Store) -> String {
    let body = String::from_utf8(store.exposition().text.to_vec()).unwrap();
    body.lines()
        .find(|l| l.starts_with("wechat_mp_up{"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn an_account_whose_call_outlasts_its_timeout_shows_as_down_until_its_round_ends() {
    let clock = Arc::new(ManualClock::new(china_at(
        date(2026, 11, 3),
        time(9, 0, 0, 0),
    )));
    let settings = PlanSettings {
        publish_after: time(8, 0, 0, 0),
        retry_interval: SignedDuration::from_mins(30),
        empty_is_zero_after: time(12, 0, 0, 0),
        error_retry_interval: SignedDuration::from_hours(1),
        probe_offset: SignedDuration::ZERO,
    };
    let plan = AccountPlan::new(settings, [Endpoint::UserCumulate]);
    let poller = AccountPoller::new("brand", plan, Arc::new(Unused));
    let (store, board) = (Store::new("t", "t"), StatusBoard::new());
    let mut scheduler = Scheduler::new(
        vec![poller],
        store.clone(),
        board.clone(),
        clock.clone(),
        crate::wechat::pace::Pace::new(0, crate::config::Concurrency::Fixed(2)),
        10,
    );
    // Its last round was fine.
    let fine = AccountStatus {
        up: true,
        ..AccountStatus::default()
    };
    store.update_account("brand", &AccountReports::default(), &fine, 10);
    scheduler.views.get_mut("brand").unwrap().up = true;
    scheduler.publish_board();
    let in_flight = InFlight::new(Duration::from_secs(10), clock.clone());
    board.track("brand", in_flight.clone());
    let call = in_flight.start(Endpoint::UserCumulate);
    let mut running = BTreeMap::from([("brand".to_string(), false)]);

    clock.advance(SignedDuration::from_secs(9));
    scheduler.mark_stuck(&mut running);
    assert_eq!(
        up_line(&store),
        "wechat_mp_up{account=\"brand\"} 1",
        "within its timeout"
    );
    assert!(board.accounts()[0].up);

    clock.advance(SignedDuration::from_secs(2));
    scheduler.mark_stuck(&mut running);
    assert_eq!(
        up_line(&store),
        "wechat_mp_up{account=\"brand\"} 0",
        "stuck"
    );
    assert!(!board.accounts()[0].up, "the landing page says down");
    assert!(running["brand"], "shown once, not again every second");
    drop(call);
}

#[test]
fn one_account_never_takes_every_permit_of_a_shared_limit() {
    let limits: Vec<usize> = [0, 1, 2, 3, 4, 8].map(per_account_limit).to_vec();
    assert_eq!(limits, [1, 1, 1, 2, 2, 4]);
}

/// Answers getusercumulate with one row for the day asked and every quota read with the same
/// figures, counting the quota reads.
#[derive(Default)]
struct Answers {
    quota_reads: std::sync::atomic::AtomicUsize,
}

impl Fetch for Answers {
    fn fetch(&self, e: Endpoint, range: DateRange) -> BoxFuture<'_, Result<Parsed, Error>> {
        let body = format!(
            r#"{{"list": [{{"ref_date": "{}", "user_source": 0, "cumulate_user": 1234}}]}}"#,
            range.begin
        );
        Box::pin(async move { Ok(crate::wechat::Report::parse(e, body.as_bytes()).unwrap()) })
    }
    fn quota(&self, _: Endpoint) -> BoxFuture<'_, Result<ApiQuota, Error>> {
        self.quota_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async {
            Ok(ApiQuota {
                daily_limit: 5000,
                used: 12,
                remain: 4988,
            })
        })
    }
}

#[tokio::test]
async fn quota_readings_and_their_day_survive_a_restart() {
    let day = date(2026, 11, 3);
    let clock = Arc::new(ManualClock::new(china_at(day, time(9, 0, 0, 0))));
    let shared: crate::clock::SharedClock = clock.clone();
    let settings = PlanSettings {
        publish_after: time(8, 0, 0, 0),
        retry_interval: SignedDuration::from_mins(30),
        empty_is_zero_after: time(12, 0, 0, 0),
        error_retry_interval: SignedDuration::from_hours(1),
        probe_offset: SignedDuration::ZERO,
    };
    let fetch = Arc::new(Answers::default());
    let plan = || AccountPlan::new(settings.clone(), [Endpoint::UserCumulate]);
    let mut first = AccountPoller::new("brand", plan(), fetch.clone());
    let round = first.poll(&shared, 2).await;
    assert_eq!(round.requests, 1);
    let reads = || fetch.quota_reads.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(reads(), 1, "read once the day is fetched");
    let expected = BTreeMap::from([(
        Endpoint::UserCumulate,
        ApiQuota {
            daily_limit: 5000,
            used: 12,
            remain: 4988,
        },
    )]);
    assert_eq!(first.status().quota, expected);

    // Through the file, as a restart reads it.
    let bytes = crate::storage::encode("brand", "wx1", &first.saved());
    let saved = crate::storage::decode(&bytes, "brand", "wx1").unwrap();
    assert_eq!(saved.status.quota_read, Some(day));
    clock.advance(SignedDuration::from_hours(1));
    let mut second = AccountPoller::new("brand", plan(), fetch.clone()).with_saved(
        "wx1",
        Some(&saved),
        shared.now(),
    );
    assert_eq!(second.status().quota, expected, "before any call");
    let store = Store::new("t", "t");
    store.update_account("brand", &second.plan().reports(), second.status(), 10);
    let body = String::from_utf8(store.exposition().text.to_vec()).unwrap();
    assert!(
        body.contains(
            "wechat_mp_api_quota_remaining_requests{account=\"brand\",api=\"getusercumulate\"} 4988"
        ),
        "{body}"
    );

    // The same UTC+8 day: nothing due, no second read. The next day's fetch reads them again.
    assert_eq!(second.poll(&shared, 2).await.requests, 0);
    assert_eq!(reads(), 1);
    clock.set(china_at(date(2026, 11, 4), time(9, 0, 0, 0)));
    assert_eq!(second.poll(&shared, 2).await.requests, 1);
    assert_eq!(reads(), 2);
}
