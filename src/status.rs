//! What the landing page and `/-/ready` show: per account, the data date of each report, the
//! last error in words, and a datacube call stuck in flight. The scheduler publishes the views
//! after every poll round; the calls in flight are live. Readers never block either.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::clock::SharedClock;

use crate::reports::{AccountReports, AccountStatus};
use crate::wechat::Endpoint;

/// One account as the landing page shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountView {
    pub name: String,
    /// The account has been polled at least once (with or without success).
    pub polled: bool,
    pub up: bool,
    pub data_dates: BTreeMap<Endpoint, Date>,
    pub unavailable: BTreeMap<Endpoint, String>,
    pub last_errors: BTreeMap<Endpoint, String>,
}

impl AccountView {
    pub fn new(name: &str, reports: &AccountReports, status: &AccountStatus) -> Self {
        Self {
            name: name.to_string(),
            polled: status.last_poll_end.is_some(),
            up: status.up,
            data_dates: reports.reports.iter().map(|(&e, r)| (e, r.date)).collect(),
            unavailable: status.unavailable.clone(),
            last_errors: status.last_errors.clone(),
        }
    }

    /// Ready when the account has data, or has reported why not.
    pub fn is_ready(&self) -> bool {
        !self.data_dates.is_empty() || !self.last_errors.is_empty()
    }
}

/// A datacube call that has waited longer than its account's budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Stuck {
    pub endpoint: Endpoint,
    /// When the call started.
    pub since: Timestamp,
    pub waited: Duration,
    /// `wechat.timeout`.
    pub budget: Duration,
}

impl Stuck {
    /// In words, for the landing page: "stuck since 2026-12-02 09:00:03 UTC+8: getusersummary
    /// waiting 45 s, longer than the 10s timeout".
    pub fn describe(&self) -> String {
        let since = self
            .since
            .to_zoned(crate::wechat::date::china())
            .strftime("%Y-%m-%d %H:%M:%S");
        format!(
            "stuck since {since} UTC+8: {} waiting {} s, longer than the {} timeout",
            self.endpoint.name(),
            self.waited.as_secs(),
            humantime::format_duration(self.budget)
        )
    }
}

/// One account's datacube calls in flight (each started when its fetch began, retries included).
pub struct InFlight {
    /// Longer than this without an answer is stuck: `wechat.timeout`, one attempt's budget, so
    /// a stuck call is one whose attempts time out or hang.
    budget: Duration,
    clock: SharedClock,
    calls: Mutex<BTreeMap<u64, (Endpoint, Timestamp)>>,
    next: AtomicU64,
}

/// Removes its call from [`InFlight`] when the call ends (or its future is dropped).
pub struct CallGuard {
    in_flight: Arc<InFlight>,
    id: u64,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.in_flight.lock().remove(&self.id);
    }
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("budget", &self.budget)
            .field("calls", &*self.lock())
            .finish()
    }
}

impl InFlight {
    pub fn new(budget: Duration, clock: SharedClock) -> Arc<Self> {
        Arc::new(Self {
            budget,
            clock,
            calls: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, (Endpoint, Timestamp)>> {
        // Plain inserts and removes: a poisoned table is still consistent.
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A call of `endpoint` starts now; it is in flight until the guard drops.
    pub fn start(self: &Arc<Self>, endpoint: Endpoint) -> CallGuard {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, (endpoint, self.clock.now()));
        CallGuard {
            in_flight: self.clone(),
            id,
        }
    }

    /// The oldest call in flight, if it has waited longer than the budget.
    pub fn stuck(&self) -> Option<Stuck> {
        let now = self.clock.now();
        let (endpoint, since) = self.lock().values().min_by_key(|(_, t)| *t).copied()?;
        let waited = Duration::try_from(now.duration_since(since)).unwrap_or_default();
        (waited > self.budget).then_some(Stuck {
            endpoint,
            since,
            waited,
            budget: self.budget,
        })
    }
}

/// The latest views of every account, swapped in atomically.
#[derive(Debug, Default)]
pub struct StatusBoard {
    accounts: ArcSwap<Vec<AccountView>>,
    /// Each account's calls in flight, by account name.
    in_flight: Mutex<BTreeMap<String, Arc<InFlight>>>,
}

impl StatusBoard {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn publish(&self, views: Vec<AccountView>) {
        self.accounts.store(Arc::new(views));
    }

    pub fn accounts(&self) -> Arc<Vec<AccountView>> {
        self.accounts.load_full()
    }

    /// Where `account`'s calls in flight are tracked from now on (a reloaded account starts a new
    /// table; the old poller's calls no longer count).
    pub fn track(&self, account: &str, in_flight: Arc<InFlight>) {
        self.in_flight_table()
            .insert(account.to_string(), in_flight);
    }

    /// `account`'s oldest call in flight, if it is stuck.
    pub fn stuck(&self, account: &str) -> Option<Stuck> {
        let table = self.in_flight_table().get(account).cloned()?;
        table.stuck()
    }

    fn in_flight_table(&self) -> MutexGuard<'_, BTreeMap<String, Arc<InFlight>>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `/-/ready`: every configured account has data or has reported why not.
    pub fn is_ready(&self) -> bool {
        let accounts = self.accounts.load();
        !accounts.is_empty() && accounts.iter().all(AccountView::is_ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use jiff::SignedDuration;

    #[test]
    fn the_oldest_call_past_the_budget_is_stuck_until_it_ends() {
        let start: Timestamp = "2026-12-02T01:00:03Z".parse().unwrap();
        let clock = Arc::new(ManualClock::new(start));
        let in_flight = InFlight::new(Duration::from_secs(10), clock.clone());
        let board = StatusBoard::default();
        board.track("brand", in_flight.clone());
        let first = in_flight.start(Endpoint::UserSummary);
        clock.advance(SignedDuration::from_secs(5));
        let second = in_flight.start(Endpoint::UserCumulate);
        clock.advance(SignedDuration::from_secs(5));
        assert_eq!(board.stuck("brand"), None, "10 s is within the budget");
        clock.advance(SignedDuration::from_secs(35));
        let stuck = board.stuck("brand").expect("stuck");
        assert_eq!(stuck.endpoint, Endpoint::UserSummary, "the oldest call");
        assert_eq!(
            stuck.describe(),
            "stuck since 2026-12-02 09:00:03 UTC+8: getusersummary waiting 45 s, longer than the 10s timeout"
        );
        assert_eq!(board.stuck("other"), None);
        drop(first);
        assert_eq!(
            board.stuck("brand").unwrap().waited,
            Duration::from_secs(40)
        );
        drop(second);
        assert_eq!(board.stuck("brand"), None, "nothing in flight");
    }
}
