//! Wires a validated `Config` into a running exporter: one WeChat client and plan per account,
//! the metric store, the status board, the HTTP router.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::config::{AccountConfig, Config, TokenSourceConfig};
use crate::http::{self, AppState, Reload};
use crate::metrics::Store;
use crate::probe::ProbeSet;
use crate::schedule::{AccountPlan, AccountPoller, AccountsUpdate, PlanSettings, Scheduler};
use crate::state::{StateDir, StateWriter};
use crate::status::StatusBoard;
use crate::wechat::Endpoint;
use crate::wechat::client::{Client, ClientSettings};
use crate::wechat::token::{TokenCache, TokenSource};
use crate::wechat::transport::{CallObserver, http_client};

/// The version and git revision reported by `wechat_mp_exporter_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision, from `WECHAT_MP_EXPORTER_REVISION` at build time.
pub const REVISION: &str = match option_env!("WECHAT_MP_EXPORTER_REVISION") {
    Some(r) => r,
    None => "unknown",
};

/// Everything a running exporter is made of.
pub struct Exporter {
    /// The latest snapshot of every account and the encoded bodies.
    pub store: Arc<Store>,
    /// What the landing page and `/-/ready` show.
    pub board: Arc<StatusBoard>,
    /// The poll loop of every account.
    pub scheduler: Scheduler,
    /// The callback probes (started by [`Exporter::start_probes`]).
    pub probes: Arc<ProbeSet>,
    config: Config,
    clock: SharedClock,
    state: Option<Storage>,
}

/// The state directory and its writer.
#[derive(Clone)]
struct Storage {
    dir: StateDir,
    writer: Arc<StateWriter>,
}

impl Exporter {
    /// Builds the exporter without a state directory; nothing is fetched until the scheduler runs.
    pub fn new(config: &Config, clock: SharedClock) -> anyhow::Result<Self> {
        Self::with_storage(config, clock, None)
    }

    /// Builds the exporter over the state directory `storage` (`--storage.path`; `None` keeps no
    /// state): every account starts from what it saved there, so /metrics has the last values
    /// before any upstream call. A directory that cannot be written is an error.
    pub fn with_storage(
        config: &Config,
        clock: SharedClock,
        storage: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let state = match storage {
            Some(path) => {
                let dir = StateDir::open(path)?;
                Some(Storage {
                    writer: Arc::new(StateWriter::start(dir.clone())),
                    dir,
                })
            }
            None => None,
        };
        let store = Store::new(VERSION, REVISION);
        store.set_exclusions(config.metrics.exclude.clone());
        let board = StatusBoard::new();
        let http = http_client(config.wechat.timeout);
        let pollers = config
            .accounts
            .iter()
            .map(|account| build_poller(config, account, &http, &store, &clock, state.as_ref()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut scheduler = Scheduler::new(
            pollers,
            store.clone(),
            board.clone(),
            clock.clone(),
            config.wechat.concurrency,
            config.metrics.max_articles_per_account,
        );
        let probes = ProbeSet::new(store.clone());
        if let Some(state) = &state {
            scheduler = scheduler.with_state(state.writer.clone());
        }
        Ok(Self {
            store,
            board,
            scheduler,
            probes,
            config: config.clone(),
            clock,
            state,
        })
    }

    /// The writer of the state directory, when there is one (to flush it before exiting).
    pub fn state_writer(&self) -> Option<Arc<StateWriter>> {
        self.state.as_ref().map(|s| s.writer.clone())
    }

    /// The HTTP routes over this exporter's store and status.
    pub fn router(&self, telemetry_path: &str) -> Router {
        self.router_with_reload(telemetry_path, None)
    }

    /// The routes plus `POST /-/reload` when `reload` is given.
    pub fn router_with_reload(
        &self,
        telemetry_path: &str,
        reload: Option<Arc<Reloader>>,
    ) -> Router {
        let state = AppState {
            store: self.store.clone(),
            board: self.board.clone(),
            telemetry_path: telemetry_path.to_string(),
        };
        http::router(state, reload.map(|r| r as Arc<dyn Reload>))
    }

    /// Starts the callback probe of every account that has one, each on its own task and
    /// schedule (never in the poll loop); they stop when `shutdown` is cancelled.
    pub fn start_probes(&self, shutdown: CancellationToken) {
        self.probes.apply(&self.config.accounts);
        let probes = self.probes.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            probes.stop();
        });
    }

    /// Reloads `path` on demand (SIGHUP, `POST /-/reload`) into this exporter's scheduler.
    pub fn reloader(&self, path: PathBuf) -> Arc<Reloader> {
        Arc::new(Reloader {
            path,
            current: tokio::sync::Mutex::new(self.config.clone()),
            store: self.store.clone(),
            probes: self.probes.clone(),
            clock: self.clock.clone(),
            updates: self.scheduler.updates(),
            state: self.state.clone(),
        })
    }
}

/// One account's poller: its client and plan.
fn build_poller(
    config: &Config,
    account: &AccountConfig,
    http: &reqwest::Client,
    store: &Arc<Store>,
    clock: &SharedClock,
    state: Option<&Storage>,
) -> anyhow::Result<AccountPoller> {
    let observer = store.self_metrics().observer(&account.name);
    let (_, client) = account_client(config, account, http, clock, observer)?;
    let endpoints = Endpoint::ALL
        .into_iter()
        .filter(|e| account.reports.contains(&e.group()));
    let plan = AccountPlan::new(PlanSettings::from(&config.schedule), endpoints);
    let poller = AccountPoller::new(account.name.clone(), plan, Arc::new(client));
    let Some(state) = state else {
        return Ok(poller);
    };
    let saved = state.dir.load(&account.name, &account.app_id);
    Ok(poller.with_saved(&account.app_id, saved.as_ref(), clock.now()))
}

/// One account's token cache and datacube client, as `[wechat]` and the account configure them.
pub(crate) fn account_client(
    config: &Config,
    account: &AccountConfig,
    http: &reqwest::Client,
    clock: &SharedClock,
    observer: Arc<dyn CallObserver>,
) -> anyhow::Result<(Arc<TokenCache>, Client)> {
    let settings = ClientSettings {
        base_url: config.wechat.api_base_url.clone(),
        max_retries: config.wechat.max_retries,
        retry_backoff: config.wechat.retry_backoff,
    };
    let source = token_source(account).with_context(|| format!("account {:?}", account.name))?;
    let tokens = Arc::new(TokenCache::new(
        source,
        http.clone(),
        settings.base_url.clone(),
        clock.clone(),
        observer.clone(),
    ));
    let client = Client::new(
        http.clone(),
        settings,
        tokens.clone(),
        clock.clone(),
        observer,
    );
    Ok((tokens, client))
}

/// Re-reads the config file and hands the changed accounts to the scheduler. A bad file changes
/// nothing: the exporter keeps polling with the last good config.
pub struct Reloader {
    path: PathBuf,
    current: tokio::sync::Mutex<Config>,
    store: Arc<Store>,
    probes: Arc<ProbeSet>,
    clock: SharedClock,
    updates: mpsc::UnboundedSender<AccountsUpdate>,
    state: Option<Storage>,
}

impl Reloader {
    /// Loads the file; on success returns what changed, on failure every problem with its key.
    pub async fn reload(&self) -> Result<String, String> {
        let mut current = self.current.lock().await;
        let new = match Config::load(&self.path) {
            Ok(config) => config,
            Err(errors) => {
                self.store.config_loaded(false);
                let text = format!(
                    "{}: {} problem(s), keeping the last good config:\n{errors}",
                    self.path.display(),
                    errors.0.len()
                );
                tracing::error!(problems = errors.0.len(), "config reload failed:\n{errors}");
                return Err(text);
            }
        };
        // Client or schedule settings apply to every account: rebuild them all then.
        let same_settings = new.wechat == current.wechat && new.schedule == current.schedule;
        let http = http_client(new.wechat.timeout);
        if let Some(state) = &self.state {
            // A rebuilt account starts from its saved state: make that the newest one.
            state.writer.sync();
        }
        let mut keep = Vec::new();
        let mut add = Vec::new();
        for account in &new.accounts {
            if same_settings && current.accounts.iter().any(|a| a.same_as(account)) {
                keep.push(account.name.clone());
                continue;
            }
            match build_poller(
                &new,
                account,
                &http,
                &self.store,
                &self.clock,
                self.state.as_ref(),
            ) {
                Ok(poller) => add.push(poller),
                Err(e) => {
                    self.store.config_loaded(false);
                    return Err(format!("{e:#}"));
                }
            }
        }
        let removed = current
            .accounts
            .iter()
            .filter(|a| !new.accounts.iter().any(|n| n.name == a.name))
            .count();
        let summary = format!(
            "config reloaded: {} account(s), {} kept, {} new or changed, {} removed",
            new.accounts.len(),
            keep.len(),
            add.len(),
            removed
        );
        let update = AccountsUpdate {
            keep,
            add,
            concurrency: new.wechat.concurrency,
            max_articles: new.metrics.max_articles_per_account,
        };
        if self.updates.send(update).is_err() {
            return Err("the scheduler has stopped".into());
        }
        // Probes follow the new file too: changed ones restart, removed ones lose their series.
        self.probes.apply(&new.accounts);
        self.store.set_exclusions(new.metrics.exclude.clone());
        self.store.config_loaded(true);
        tracing::info!("{summary}");
        *current = new;
        Ok(summary)
    }
}

impl Reload for Reloader {
    fn reload(&self) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(Reloader::reload(self))
    }
}

fn token_source(account: &AccountConfig) -> anyhow::Result<TokenSource> {
    let secret = || {
        account
            .app_secret
            .clone()
            .context("app_secret is required for the stable and classic token sources")
    };
    Ok(match &account.token {
        TokenSourceConfig::Stable => TokenSource::Stable {
            app_id: account.app_id.clone(),
            secret: secret()?,
        },
        TokenSourceConfig::Classic => TokenSource::Classic {
            app_id: account.app_id.clone(),
            secret: secret()?,
        },
        TokenSourceConfig::File(path) => TokenSource::File(path.clone()),
        TokenSourceConfig::Url(url) => TokenSource::Url(url.clone()),
    })
}
