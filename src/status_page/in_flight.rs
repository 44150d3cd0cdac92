//! A datacube call stuck in flight: each account's calls are tracked from start to end, and the
//! oldest one past the account's budget is "stuck" on the status page and `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;

use crate::clock::SharedClock;
use crate::wechat::Endpoint;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::status_page::StatusBoard;
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
