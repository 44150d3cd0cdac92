//! Runs the plan: asks WeChat for what is due, applies the answers, publishes the latest data.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::stream::{self, FuturesUnordered, StreamExt};
use jiff::Timestamp;
use jiff::civil::Date;
use rayon::prelude::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::plan::{AccountPlan, Job, Outcome};
use crate::clock::SharedClock;
use crate::latest::AccountStatus;
use crate::metrics::Store;
use crate::status_page::{AccountView, StatusBoard};
use crate::storage::{QuotaRecord, Saved, StateWriter, StatusRecord};
use crate::wechat::client::{ApiQuota, Client};
use crate::wechat::date::china_today;
use crate::wechat::error::Error;
use crate::wechat::pace::Pace;
use crate::wechat::{DateRange, Endpoint, Parsed};

/// Something that answers datacube requests: the real client, or a fake in unit tests.
pub trait Fetch: Send + Sync {
    /// Asks `endpoint` for `range` (split by span and merged by the client).
    fn fetch(&self, endpoint: Endpoint, range: DateRange) -> BoxFuture<'_, Result<Parsed, Error>>;
    /// Reads the account's daily quota of `endpoint` (getApiQuota).
    fn quota(&self, endpoint: Endpoint) -> BoxFuture<'_, Result<ApiQuota, Error>>;
}

impl Fetch for Client {
    fn fetch(&self, endpoint: Endpoint, range: DateRange) -> BoxFuture<'_, Result<Parsed, Error>> {
        Box::pin(self.fetch_range(endpoint, range))
    }

    fn quota(&self, endpoint: Endpoint) -> BoxFuture<'_, Result<ApiQuota, Error>> {
        Box::pin(Client::quota(self, endpoint))
    }
}

/// What one poll round of one account did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollRound {
    /// Requests made.
    pub requests: usize,
    /// Requests that failed.
    pub failures: usize,
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One account: its plan, its client, its health.
pub struct AccountPoller {
    /// The `account` label.
    pub name: String,
    plan: AccountPlan,
    fetch: Arc<dyn Fetch>,
    status: AccountStatus,
    /// The AppID the saved state belongs to (empty when nothing is saved).
    app_id: String,
    /// Unique per poller, so a reload can tell a replaced account's late round from its own.
    id: u64,
    /// The UTC+8 day the quotas were last read (they are read once a day, and after a 45009).
    quota_read: Option<Date>,
    /// When the last round without an error ended (the status page's "last successful poll").
    last_success: Option<Timestamp>,
}

impl AccountPoller {
    /// A poller of account `name` with its plan and client.
    pub fn new(name: impl Into<String>, plan: AccountPlan, fetch: Arc<dyn Fetch>) -> Self {
        Self {
            name: name.into(),
            plan,
            fetch,
            status: AccountStatus::default(),
            app_id: String::new(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            quota_read: None,
            last_success: None,
        }
    }

    /// Names the AppID this account's saved state belongs to, and takes back `saved` (from the
    /// state directory) as of `now`.
    pub fn with_saved(mut self, app_id: &str, saved: Option<&Saved>, now: Timestamp) -> Self {
        self.app_id = app_id.to_string();
        if let Some(saved) = saved {
            self.plan.restore(&saved.plan, now);
            self.status.up = saved.status.up;
            self.status.last_poll_seconds = saved.status.last_poll_seconds;
            self.status.last_poll_end = saved.status.last_poll_end;
            // The last quota readings, so the gauges are served before any call; and the day
            // they were read, so a restart the same day does not read them again.
            self.status.quota = saved
                .status
                .quota
                .iter()
                .filter_map(|(name, q)| Some((name.parse::<Endpoint>().ok()?, quota_of(q))))
                .collect();
            self.quota_read = saved.status.quota_read;
            if saved.status.up {
                self.last_success = saved
                    .status
                    .last_poll_end
                    .and_then(|t| Timestamp::from_second(t).ok());
            }
            self.plan.fill_status(&mut self.status, now);
        }
        self
    }

    /// What the state directory keeps of this account.
    pub fn saved(&self) -> Saved {
        Saved {
            plan: self.plan.export(),
            status: StatusRecord {
                up: self.status.up,
                last_poll_seconds: self.status.last_poll_seconds,
                last_poll_end: self.status.last_poll_end,
                quota: self
                    .status
                    .quota
                    .iter()
                    .map(|(e, q)| (e.name().to_string(), record_of(q)))
                    .collect(),
                quota_read: self.quota_read,
            },
        }
    }

    /// The account's plan.
    pub fn plan(&self) -> &AccountPlan {
        &self.plan
    }

    /// The account's health after the last round.
    pub fn status(&self) -> &AccountStatus {
        &self.status
    }

    /// The status page's view of this account at `now`.
    pub fn view(&self, now: Timestamp) -> AccountView {
        let mut view = AccountView::new(&self.name, &self.plan.report_dates(), &self.status);
        view.waiting_for = self.plan.waiting_for(now);
        view.next_poll = Some(self.plan.next_poll(now));
        view.last_success = self.last_success;
        view
    }

    /// Makes every request due at `clock.now()`, repeating while answers make more due (the probe
    /// succeeding unlocks the day). At most `width` of its requests are in flight (the pace
    /// every client shares bounds them across all accounts).
    pub async fn poll(&mut self, clock: &SharedClock, width: usize) -> PollRound {
        let started = Instant::now();
        let mut round = PollRound::default();
        let mut quota_hit = false;
        loop {
            let now = clock.now();
            let jobs = self.plan.due(now);
            if jobs.is_empty() {
                break;
            }
            let fetch = &self.fetch;
            let answers: Vec<(Job, Result<Parsed, Error>)> = stream::iter(jobs)
                .map(|job| async move { (job, fetch.fetch(job.endpoint, job.range).await) })
                .buffer_unordered(width.max(1))
                .collect()
                .await;
            let now = clock.now();
            for (job, answer) in answers {
                round.requests += 1;
                if let Err(err) = &answer {
                    tracing::warn!(account = %self.name, api = job.endpoint.name(), range = %job.range, error = %err, "datacube request failed");
                    // The datacube API's own 45009, not the token endpoint's (reading quotas
                    // needs a token: it would only spend more token calls).
                    quota_hit |= matches!(err, Error::Api { api, errcode: 45009, .. } if api == job.endpoint.name());
                }
                match self.plan.apply(job, answer, now) {
                    Outcome::Failed => round.failures += 1,
                    Outcome::Retired => tracing::warn!(
                        account = %self.name,
                        api = job.endpoint.name(),
                        "this legacy article endpoint is gone for the account; no longer calling it, the published-content endpoints (getbizsummary, getarticleread, getarticleshare, getarticletotaldetail) carry on"
                    ),
                    Outcome::Stored | Outcome::Pending => {}
                }
            }
        }
        // Once a day after the day's fetch (so `used` includes it), and after any 45009.
        let (now, today) = (clock.now(), china_today(clock.now()));
        let fetched = self.plan.is_ready(self.plan.target_day(now));
        if round.requests > 0 && (quota_hit || (fetched && self.quota_read != Some(today))) {
            self.read_quotas(width).await;
            self.quota_read = Some(today);
        }
        if round.requests > 0 {
            self.status.up = round.failures == 0;
            self.status.last_poll_seconds = Some(started.elapsed().as_secs_f64());
            self.status.last_poll_end = Some(clock.now().as_second());
            if round.failures == 0 {
                self.last_success = Some(clock.now());
            }
        }
        self.plan.fill_status(&mut self.status, clock.now());
        round
    }
}

impl AccountPoller {
    /// Reads the quota of every endpoint the plan calls. A failed read keeps the last value and
    /// does not make the account unhealthy: the quota is information, not data.
    async fn read_quotas(&mut self, width: usize) {
        let endpoints = self.plan.callable_endpoints();
        let fetch = &self.fetch;
        let answers: Vec<(Endpoint, Result<ApiQuota, Error>)> = stream::iter(endpoints)
            .map(|e| async move { (e, fetch.quota(e).await) })
            .buffer_unordered(width.max(1))
            .collect()
            .await;
        for (e, answer) in answers {
            match answer {
                Ok(quota) => {
                    self.status.quota.insert(e, quota);
                }
                Err(err) => {
                    tracing::warn!(account = %self.name, api = e.name(), error = %err, "cannot read the API's quota");
                }
            }
        }
    }
}

fn quota_of(q: &QuotaRecord) -> ApiQuota {
    ApiQuota {
        daily_limit: q.daily_limit,
        used: q.used,
        remain: q.remain,
    }
}

fn record_of(q: &ApiQuota) -> QuotaRecord {
    QuotaRecord {
        daily_limit: q.daily_limit,
        used: q.used,
        remain: q.remain,
    }
}

/// A change a config reload or a platform's listing sends, applied between poll rounds.
pub enum Update {
    /// The accounts changed.
    Accounts {
        /// Accounts kept as they are, with their plan and token cache.
        keep: Vec<String>,
        /// New or changed accounts.
        add: Vec<AccountPoller>,
    },
    /// The settings every account shares changed (a reload; the rate limit and concurrency
    /// are not here: they are in the pace of the HTTP client every account shares).
    Settings {
        /// `max_articles_per_account`.
        max_articles: usize,
    },
}

/// At most this many of an account's requests are in flight: below the global limit (when it is
/// above 1), so an account whose upstream hangs cannot hold every permit and stall the others.
pub fn per_account_limit(concurrency: usize) -> usize {
    let concurrency = concurrency.max(1);
    if concurrency == 1 {
        1
    } else {
        concurrency.div_ceil(2).min(concurrency - 1)
    }
}

/// Polls every account when its plan has something due; swaps accounts on reload. In `run`
/// every account follows its own schedule: a slow account delays nobody else's round.
pub struct Scheduler {
    /// The accounts not being polled right now (all of them outside `run`).
    accounts: Vec<AccountPoller>,
    /// The configured account names, in config order (the landing page's order).
    order: Vec<String>,
    /// The latest view of every configured account, including those being polled.
    views: BTreeMap<String, AccountView>,
    /// The poller id of every configured account: a round that ends after its account was
    /// removed or replaced by a reload is dropped.
    ids: BTreeMap<String, u64>,
    updates: mpsc::UnboundedReceiver<Update>,
    updates_tx: mpsc::UnboundedSender<Update>,
    store: Arc<Store>,
    board: Arc<StatusBoard>,
    clock: SharedClock,
    /// The pace every upstream call keeps: its in-flight window sizes each account's share.
    pace: Pace,
    max_articles: usize,
    state: Option<Arc<StateWriter>>,
}

impl Scheduler {
    /// A scheduler of `accounts`, publishing to `store` and `board` (every account at once).
    pub fn new(
        accounts: Vec<AccountPoller>,
        store: Arc<Store>,
        board: Arc<StatusBoard>,
        clock: SharedClock,
        pace: Pace,
        max_articles: usize,
    ) -> Self {
        let (updates_tx, updates) = mpsc::unbounded_channel();
        let mut scheduler = Self {
            accounts: Vec::new(),
            order: Vec::new(),
            views: BTreeMap::new(),
            ids: BTreeMap::new(),
            updates,
            updates_tx,
            store,
            board,
            clock,
            pace,
            max_articles,
            state: None,
        };
        // Publish every account at once, so /metrics shows wechat_mp_up 0 (or the saved values)
        // before the first answer.
        scheduler.add(accounts);
        scheduler.publish_board();
        scheduler
    }

    /// Saves every account's state through `writer` after each poll round that did something,
    /// and drops the state of accounts that are no longer configured.
    pub fn with_state(mut self, writer: Arc<StateWriter>) -> Self {
        writer.retain(self.order.clone());
        self.state = Some(writer);
        self
    }

    /// The accounts being polled.
    pub fn accounts(&self) -> &[AccountPoller] {
        &self.accounts
    }

    /// Where config reloads send their changes; `run` applies them between rounds.
    pub fn updates(&self) -> mpsc::UnboundedSender<Update> {
        self.updates_tx.clone()
    }

    fn add(&mut self, accounts: Vec<AccountPoller>) {
        // Mapping each account to samples is most of a restart's work: on every core.
        let (store, max_articles, now) = (&self.store, self.max_articles, self.clock.now());
        let views: Vec<AccountView> = accounts
            .par_iter()
            .map(|a| {
                store.update_account(&a.name, &a.plan.reports(), &a.status, max_articles);
                a.view(now)
            })
            .collect();
        for (a, view) in accounts.into_iter().zip(views) {
            self.views.insert(a.name.clone(), view);
            self.order.push(a.name.clone());
            self.ids.insert(a.name.clone(), a.id);
            self.accounts.push(a);
        }
    }

    fn publish_board(&self) {
        let views = self.order.iter().filter_map(|n| self.views.get(n).cloned());
        self.board.publish(views.collect());
    }

    /// Applies `update`: new settings, or new accounts (the kept ones keep their state, the
    /// others start afresh, and the series of accounts that left disappear).
    pub fn apply(&mut self, update: Update) {
        let (keep, add) = match update {
            Update::Settings { max_articles } => {
                self.max_articles = max_articles;
                return;
            }
            Update::Accounts { keep, add } => (keep, add),
        };
        let keep = |name: &String| keep.contains(name);
        self.accounts.retain(|a| keep(&a.name));
        self.order.retain(keep);
        self.views.retain(|n, _| keep(n));
        self.ids.retain(|n, _| keep(n));
        self.add(add);
        self.store.retain_accounts(&self.order);
        if let Some(state) = &self.state {
            state.retain(self.order.clone());
        }
        self.publish_board();
    }

    /// Publishes what `a`'s round learned: its series, its view, its saved state.
    fn finished(&mut self, a: &AccountPoller, round: PollRound) {
        if round.requests > 0 {
            self.store
                .update_account(&a.name, &a.plan.reports(), &a.status, self.max_articles);
            if let Some(state) = &self.state {
                state.save(&a.name, &a.app_id, a.saved());
            }
        }
        self.views.insert(a.name.clone(), a.view(self.clock.now()));
    }

    /// Polls every account once (concurrently) and publishes each one's data as it finishes.
    pub async fn tick(&mut self) -> PollRound {
        let width = per_account_limit(self.pace.in_flight_limit());
        let polls: Vec<_> = std::mem::take(&mut self.accounts)
            .into_iter()
            .map(|a| spawn_poll(a, self.clock.clone(), width))
            .collect();
        let mut rounds = Vec::with_capacity(polls.len());
        for poll in polls {
            let (a, round) = poll.await;
            self.finished(&a, round);
            self.accounts.push(a);
            rounds.push(round);
        }
        self.publish_board();
        rounds
            .into_iter()
            .fold(PollRound::default(), |acc, r| PollRound {
                requests: acc.requests + r.requests,
                failures: acc.failures + r.failures,
            })
    }

    /// The earliest instant any account has something to do.
    pub fn next_wakeup(&self) -> Timestamp {
        let now = self.clock.now();
        self.accounts
            .iter()
            .map(|a| a.plan.next_wakeup(now))
            .min()
            .unwrap_or(now + jiff::SignedDuration::from_hours(1))
    }

    /// Simulated time (tests and benchmarks): ticks, jumping `clock` to each next wakeup as
    /// `run` would sleep until it, until `end`; the clock is left at `end`. Returns the rounds
    /// (at most 100,000: a plan that keeps waking at the same instant ends there, for the caller
    /// to see).
    pub async fn run_until(&mut self, clock: &crate::clock::ManualClock, end: Timestamp) -> usize {
        let mut rounds = 0;
        loop {
            self.tick().await;
            rounds += 1;
            let next = self.next_wakeup();
            if next > end || rounds >= 100_000 {
                clock.set(end);
                return rounds;
            }
            clock.set(next);
        }
    }

    /// Shows each running account whose call has been in flight longer than its timeout (the
    /// status board's "stuck") as down, on /metrics and the landing page, until its round ends;
    /// `running` remembers which were shown so.
    fn mark_stuck(&mut self, running: &mut BTreeMap<String, bool>) {
        let mut changed = false;
        for (name, shown) in running.iter_mut() {
            if *shown || self.board.stuck(name).is_none() {
                continue;
            }
            self.store.mark_down(name);
            if let Some(view) = self.views.get_mut(name) {
                view.up = false;
            }
            *shown = true;
            changed = true;
        }
        if changed {
            self.publish_board();
        }
    }

    /// Polls until `shutdown` is cancelled. Each account is polled when its own plan wakes up
    /// and published as soon as its round ends, whatever the other accounts are doing.
    pub async fn run(mut self, shutdown: CancellationToken) {
        type Round = BoxFuture<'static, (AccountPoller, PollRound)>;
        let mut polling: FuturesUnordered<Round> = FuturesUnordered::new();
        // When each idle account is next due (by poller id); new accounts are due at once.
        let mut wake: BTreeMap<u64, Timestamp> = BTreeMap::new();
        // Accounts whose round is running, and whether it was found stuck.
        let mut running: BTreeMap<String, bool> = BTreeMap::new();
        loop {
            self.mark_stuck(&mut running);
            let now = self.clock.now();
            let (due, idle): (Vec<_>, Vec<_>) = std::mem::take(&mut self.accounts)
                .into_iter()
                .partition(|a| wake.get(&a.id).is_none_or(|&t| t <= now));
            self.accounts = idle;
            for a in due {
                wake.remove(&a.id);
                running.insert(a.name.clone(), false);
                let width = per_account_limit(self.pace.in_flight_limit());
                polling.push(Box::pin(spawn_poll(a, self.clock.clone(), width)));
            }
            let next = self
                .accounts
                .iter()
                .filter_map(|a| wake.get(&a.id))
                .min()
                .map_or(jiff::SignedDuration::from_hours(1), |&t| {
                    t.duration_since(now)
                });
            // Never sleep more than an hour at once, so a wall-clock jump is noticed.
            let wait = next.clamp(
                jiff::SignedDuration::from_millis(10),
                jiff::SignedDuration::from_hours(1),
            );
            let mut wait =
                std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(1));
            if !running.is_empty() {
                wait = wait.min(STUCK_CHECK);
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                Some(update) = self.updates.recv() => self.apply(update),
                Some((a, round)) = polling.next(), if !polling.is_empty() => {
                    running.remove(&a.name);
                    if self.ids.get(&a.name) != Some(&a.id) {
                        continue; // removed or replaced meanwhile
                    }
                    if round.requests > 0 {
                        tracing::info!(account = %a.name, requests = round.requests, failures = round.failures, "poll round finished");
                    }
                    self.finished(&a, round);
                    self.publish_board();
                    let now = self.clock.now();
                    // At least a second between rounds of one account, as before.
                    let next = a.plan.next_wakeup(now).max(now + jiff::SignedDuration::from_secs(1));
                    wake.insert(a.id, next);
                    self.accounts.push(a);
                }
            }
        }
    }
}

/// Polls `a` on a task of its own, so that reading and storing the answers of many accounts
/// uses every worker thread, not only the scheduler's. Dropping the future aborts the task (a
/// scheduler that stops cancels its rounds, as when they ran inside it); a panic in the round is
/// the caller's.
async fn spawn_poll(
    mut a: AccountPoller,
    clock: SharedClock,
    width: usize,
) -> (AccountPoller, PollRound) {
    let task = AbortOnDropHandle::new(tokio::spawn(async move {
        let round = a.poll(&clock, width).await;
        (a, round)
    }));
    match task.await {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: only by the runtime shutting down, which drops this future too.
        Err(_) => std::future::pending().await,
    }
}

/// How often a running round is checked for a stuck call.
const STUCK_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

#[cfg(test)]
mod tests;
