//! Unit tests of the poller: the per-account share of the limit, stuck rounds shown as down.

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
        2,
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
