//! Runs the plan: asks WeChat for what is due, applies the answers, publishes the latest data.

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use jiff::Timestamp;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::plan::{AccountPlan, Job, Outcome};
use crate::clock::SharedClock;
use crate::metrics::Store;
use crate::reports::AccountStatus;
use crate::state::{Saved, StateWriter, StatusRecord};
use crate::status::{AccountView, StatusBoard};
use crate::wechat::client::Client;
use crate::wechat::error::Error;
use crate::wechat::{DateRange, Endpoint, Parsed};

/// Something that answers datacube requests: the real client, or a fake in unit tests.
pub trait Fetch: Send + Sync {
    /// Asks `endpoint` for `range` (split by span and merged by the client).
    fn fetch(&self, endpoint: Endpoint, range: DateRange) -> BoxFuture<'_, Result<Parsed, Error>>;
}

impl Fetch for Client {
    fn fetch(&self, endpoint: Endpoint, range: DateRange) -> BoxFuture<'_, Result<Parsed, Error>> {
        Box::pin(self.fetch_range(endpoint, range))
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

/// One account: its plan, its client, its health.
pub struct AccountPoller {
    /// The `account` label.
    pub name: String,
    plan: AccountPlan,
    fetch: Arc<dyn Fetch>,
    status: AccountStatus,
    /// The AppID the saved state belongs to (empty when nothing is saved).
    app_id: String,
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

    /// The landing page's view of this account.
    pub fn view(&self) -> AccountView {
        AccountView::new(&self.name, &self.plan.reports(), &self.status)
    }

    /// Makes every request due at `clock.now()`, repeating while answers make more due (the probe
    /// succeeding unlocks the day). `limit` bounds requests in flight across all accounts.
    pub async fn poll(
        &mut self,
        clock: &SharedClock,
        limit: &Semaphore,
        width: usize,
    ) -> PollRound {
        let started = Instant::now();
        let mut round = PollRound::default();
        loop {
            let now = clock.now();
            let jobs = self.plan.due(now);
            if jobs.is_empty() {
                break;
            }
            let fetch = &self.fetch;
            let answers: Vec<(Job, Result<Parsed, Error>)> = stream::iter(jobs)
                .map(|job| async move {
                    // The semaphore is never closed, so acquire cannot fail.
                    let _permit = limit.acquire().await.expect("semaphore open");
                    (job, fetch.fetch(job.endpoint, job.range).await)
                })
                .buffer_unordered(width.max(1))
                .collect()
                .await;
            let now = clock.now();
            for (job, answer) in answers {
                round.requests += 1;
                if let Err(err) = &answer {
                    tracing::warn!(account = %self.name, api = job.endpoint.name(), range = %job.range, error = %err, "datacube request failed");
                }
                if self.plan.apply(job, answer, now) == Outcome::Failed {
                    round.failures += 1;
                }
            }
        }
        if round.requests > 0 {
            self.status.up = round.failures == 0;
            self.status.last_poll_seconds = Some(started.elapsed().as_secs_f64());
            self.status.last_poll_end = Some(clock.now().as_second());
        }
        self.plan.fill_status(&mut self.status, clock.now());
        round
    }
}

/// All accounts, polled on the T+1 plan, publishing into the metric store.
/// A change of the configured accounts (a config reload), applied between poll rounds.
pub struct AccountsUpdate {
    /// Accounts kept as they are, with their plan and token cache.
    pub keep: Vec<String>,
    /// New or changed accounts.
    pub add: Vec<AccountPoller>,
    /// How many requests may be in flight at once.
    pub concurrency: usize,
    /// `max_articles_per_account`.
    pub max_articles: usize,
}

/// Polls every account when its plan has something due; swaps accounts on reload.
pub struct Scheduler {
    accounts: Vec<AccountPoller>,
    updates: mpsc::UnboundedReceiver<AccountsUpdate>,
    updates_tx: mpsc::UnboundedSender<AccountsUpdate>,
    store: Arc<Store>,
    board: Arc<StatusBoard>,
    clock: SharedClock,
    limit: Arc<Semaphore>,
    width: usize,
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
        concurrency: usize,
        max_articles: usize,
    ) -> Self {
        // Publish every account at once, so /metrics shows wechat_mp_up 0 before the first answer.
        for a in &accounts {
            store.update_account(&a.name, &a.plan.reports(), &a.status, max_articles);
        }
        board.publish(accounts.iter().map(AccountPoller::view).collect());
        let (updates_tx, updates) = mpsc::unbounded_channel();
        Self {
            accounts,
            updates,
            updates_tx,
            store,
            board,
            clock,
            limit: Arc::new(Semaphore::new(concurrency.max(1))),
            width: concurrency.max(1),
            max_articles,
            state: None,
        }
    }

    /// Saves every account's state through `writer` after each poll round that did something,
    /// and drops the state of accounts that are no longer configured.
    pub fn with_state(mut self, writer: Arc<StateWriter>) -> Self {
        writer.retain(self.accounts.iter().map(|a| a.name.clone()).collect());
        self.state = Some(writer);
        self
    }

    /// The accounts being polled.
    pub fn accounts(&self) -> &[AccountPoller] {
        &self.accounts
    }

    /// Where config reloads send their changes; `run` applies them between rounds.
    pub fn updates(&self) -> mpsc::UnboundedSender<AccountsUpdate> {
        self.updates_tx.clone()
    }

    /// Replaces the accounts: the kept ones keep their state, the others start afresh, and the
    /// series of accounts that left disappear.
    pub fn apply(&mut self, update: AccountsUpdate) {
        self.accounts.retain(|a| update.keep.contains(&a.name));
        for a in &update.add {
            self.store
                .update_account(&a.name, &a.plan.reports(), &a.status, update.max_articles);
        }
        self.accounts.extend(update.add);
        if update.concurrency.max(1) != self.width {
            self.width = update.concurrency.max(1);
            self.limit = Arc::new(Semaphore::new(self.width));
        }
        self.max_articles = update.max_articles;
        let names: Vec<String> = self.accounts.iter().map(|a| a.name.clone()).collect();
        self.store.retain_accounts(&names);
        if let Some(state) = &self.state {
            state.retain(names);
        }
        self.board
            .publish(self.accounts.iter().map(AccountPoller::view).collect());
    }

    /// Polls every account once (concurrently) and publishes each one's data as it finishes.
    pub async fn tick(&mut self) -> PollRound {
        let (clock, limit, store, max) =
            (&self.clock, &*self.limit, &self.store, self.max_articles);
        let (width, state) = (self.width, self.state.as_deref());
        let rounds = futures::future::join_all(self.accounts.iter_mut().map(|a| async move {
            let round = a.poll(clock, limit, width).await;
            if round.requests > 0 {
                store.update_account(&a.name, &a.plan.reports(), &a.status, max);
                if let Some(state) = state {
                    state.save(&a.name, &a.app_id, a.saved());
                }
            }
            round
        }))
        .await;
        self.board
            .publish(self.accounts.iter().map(AccountPoller::view).collect());
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

    /// Polls until `shutdown` is cancelled, sleeping until the next wakeup between rounds.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let round = self.tick().await;
            if round.requests > 0 {
                tracing::info!(
                    requests = round.requests,
                    failures = round.failures,
                    "poll round finished"
                );
            }
            let wait = self.next_wakeup().duration_since(self.clock.now());
            // Never sleep more than an hour at once, so a wall-clock jump is noticed.
            let wait = wait.clamp(
                jiff::SignedDuration::from_secs(1),
                jiff::SignedDuration::from_hours(1),
            );
            let wait =
                std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(1));
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                Some(update) = self.updates.recv() => self.apply(update),
            }
        }
    }
}
