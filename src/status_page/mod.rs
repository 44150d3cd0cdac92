//! The status board: what the status page (`/`, `/account/NAME`), `/api/v1/status` and
//! `/-/ready` show. Per account: its state in words, the latest complete day, the last successful
//! poll, the next poll and why, followers, the callback probe, the lowest quota left, the last
//! errors; for the process: version, revision, uptime and the last reload. The scheduler
//! publishes the views after every poll round, the probes after every probe; calls in flight are
//! live. Readers never block writers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::latest::{AccountReports, AccountStatus};
use crate::probe::{Outcome, ProbeSink};
use crate::wechat::client::ApiQuota;
use crate::wechat::{Endpoint, Report};

mod api;
mod in_flight;
mod page;

pub use api::StatusJson;
pub use in_flight::{InFlight, Stuck};
pub use page::{AccountQuery, account_page, escape, index_page};

/// One account as the status page shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountView {
    pub name: String,
    /// The account has been polled at least once (with or without success).
    pub polled: bool,
    pub up: bool,
    pub data_dates: BTreeMap<Endpoint, Date>,
    pub unavailable: BTreeMap<Endpoint, String>,
    pub last_errors: BTreeMap<Endpoint, String>,
    /// The day WeChat has not published yet, while the account waits for it (not an error).
    pub waiting_for: Option<Date>,
    /// When the last round without an error ended.
    pub last_success: Option<Timestamp>,
    /// When the account is next polled, and why then.
    pub next_poll: Option<(Timestamp, String)>,
    /// Total followers on the latest day (getusercumulate).
    pub followers: Option<u64>,
    /// The endpoint with the fewest calls left today, as getApiQuota last said.
    pub lowest_quota: Option<(Endpoint, ApiQuota)>,
}

impl AccountView {
    pub fn new(name: &str, reports: &AccountReports, status: &AccountStatus) -> Self {
        let followers = match reports.reports.get(&Endpoint::UserCumulate) {
            Some(dated) => match &dated.report {
                Report::UserCumulate(rows) => rows.iter().rev().find_map(|r| r.cumulate_user),
                _ => None,
            },
            None => None,
        };
        Self {
            name: name.to_string(),
            polled: status.last_poll_end.is_some(),
            up: status.up,
            data_dates: reports.reports.iter().map(|(&e, r)| (e, r.date)).collect(),
            unavailable: status.unavailable.clone(),
            last_errors: status.last_errors.clone(),
            followers,
            lowest_quota: status
                .quota
                .iter()
                .min_by_key(|(_, q)| q.remain)
                .map(|(&e, &q)| (e, q)),
            ..Self::default()
        }
    }

    /// Ready when the account has data, or has reported why not.
    pub fn is_ready(&self) -> bool {
        !self.data_dates.is_empty() || !self.last_errors.is_empty()
    }

    /// The latest complete day: the data date of getusercumulate (the readiness probe), else the
    /// newest of any report.
    pub fn latest_day(&self) -> Option<Date> {
        self.data_dates
            .get(&Endpoint::UserCumulate)
            .or_else(|| self.data_dates.values().max())
            .copied()
    }

    /// The error to show first: getusercumulate's (it gates the day), else the first one.
    pub fn first_error(&self) -> Option<(Endpoint, &str)> {
        self.last_errors
            .get_key_value(&Endpoint::UserCumulate)
            .or_else(|| self.last_errors.iter().next())
            .map(|(&e, m)| (e, m.as_str()))
    }
}

/// An account's state in one word, worst first (the page's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The last poll round failed.
    Down,
    /// A datacube call has been in flight longer than its timeout.
    Stuck,
    /// Not polled yet since the start.
    NotPolled,
    /// Healthy, waiting for WeChat to publish the next day.
    Waiting,
    /// Healthy, with the latest day.
    Up,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Down,
        State::Stuck,
        State::NotPolled,
        State::Waiting,
        State::Up,
    ];

    /// In words, for the page.
    pub fn word(self) -> &'static str {
        match self {
            State::Down => "down",
            State::Stuck => "stuck",
            State::NotPolled => "not polled yet",
            State::Waiting => "waiting for WeChat",
            State::Up => "up",
        }
    }

    /// A problem an operator should look at.
    pub fn is_problem(self) -> bool {
        matches!(self, State::Down | State::Stuck)
    }
}

/// The last callback probe of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeView {
    pub at: Timestamp,
    pub seconds: f64,
    /// `None`: the callback server answered as WeChat expects.
    pub failure: Option<&'static str>,
}

/// One account with everything the page shows about it, as of one read of the board.
#[derive(Debug, Clone)]
pub struct Row {
    pub view: AccountView,
    pub state: State,
    pub stuck: Option<Stuck>,
    pub probe: Option<ProbeView>,
}

impl Row {
    /// Problems first: down or stuck, then a failing probe, then the rest by state; config
    /// order within each.
    fn rank(&self) -> (bool, bool, State) {
        let probe_failing = self.probe.as_ref().is_some_and(|p| p.failure.is_some());
        (!self.state.is_problem(), !probe_failing, self.state)
    }
}

/// The process: what the page's header shows.
#[derive(Debug, Clone, Default)]
pub struct Process {
    pub started: Option<Timestamp>,
    /// When the config was last (re)loaded, and whether that load succeeded.
    pub last_reload: Option<(Timestamp, bool)>,
    /// Extra links for the header (the demo's simulator), label and URL.
    pub links: Vec<(String, String)>,
}

/// The latest views of every account, swapped in atomically.
#[derive(Debug, Default)]
pub struct StatusBoard {
    accounts: ArcSwap<Vec<AccountView>>,
    /// Each account's calls in flight, by account name.
    in_flight: Mutex<BTreeMap<String, Arc<InFlight>>>,
    probes: Mutex<BTreeMap<String, ProbeView>>,
    process: Mutex<Process>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain inserts and removes: a poisoned table is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl StatusBoard {
    /// A board started now.
    pub fn new() -> Arc<Self> {
        let board = Self::default();
        lock(&board.process).started = Some(Timestamp::now());
        Arc::new(board)
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
        lock(&self.in_flight).insert(account.to_string(), in_flight);
    }

    /// `account`'s oldest call in flight, if it is stuck.
    pub fn stuck(&self, account: &str) -> Option<Stuck> {
        let table = lock(&self.in_flight).get(account).cloned()?;
        table.stuck()
    }

    /// `/-/ready`: every configured account has data or has reported why not.
    pub fn is_ready(&self) -> bool {
        let accounts = self.accounts.load();
        !accounts.is_empty() && accounts.iter().all(AccountView::is_ready)
    }

    /// The config was (re)loaded at `at`, successfully or not.
    pub fn config_loaded(&self, at: Timestamp, ok: bool) {
        lock(&self.process).last_reload = Some((at, ok));
    }

    /// Adds a link to the page's header (the demo links its simulator).
    pub fn add_link(&self, label: &str, url: &str) {
        lock(&self.process).links.push((label.into(), url.into()));
    }

    pub fn process(&self) -> Process {
        lock(&self.process).clone()
    }

    /// Every account with its state, problems first.
    pub fn rows(&self) -> Vec<Row> {
        let probes = lock(&self.probes).clone();
        let mut rows: Vec<Row> = self
            .accounts()
            .iter()
            .map(|view| {
                let stuck = self.stuck(&view.name);
                let state = if stuck.is_some() {
                    State::Stuck
                } else if !view.polled {
                    State::NotPolled
                } else if !view.up {
                    State::Down
                } else if view.waiting_for.is_some() {
                    State::Waiting
                } else {
                    State::Up
                };
                Row {
                    probe: probes.get(&view.name).cloned(),
                    view: view.clone(),
                    state,
                    stuck,
                }
            })
            .collect();
        // Stable: config order within a rank.
        rows.sort_by_key(Row::rank);
        rows
    }
}

/// The board records each probe's last result; the metrics store still gets every result.
impl ProbeSink for StatusBoard {
    fn probe_added(&self, _account: &str) {}

    fn probe_result(&self, account: &str, outcome: &Outcome) {
        let view = ProbeView {
            at: Timestamp::now(),
            seconds: outcome.duration.as_secs_f64(),
            failure: outcome.failure.map(|r| r.as_str()),
        };
        lock(&self.probes).insert(account.to_string(), view);
    }

    fn probe_removed(&self, account: &str) {
        lock(&self.probes).remove(account);
    }
}

/// Sends probe results to several sinks (the metrics store and the board).
pub struct Tee(pub Vec<Arc<dyn ProbeSink>>);

impl ProbeSink for Tee {
    fn probe_added(&self, account: &str) {
        self.0.iter().for_each(|s| s.probe_added(account));
    }

    fn probe_result(&self, account: &str, outcome: &Outcome) {
        self.0.iter().for_each(|s| s.probe_result(account, outcome));
    }

    fn probe_removed(&self, account: &str) {
        self.0.iter().for_each(|s| s.probe_removed(account));
    }
}

#[cfg(test)]
mod tests;
