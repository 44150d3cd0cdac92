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
use crate::config::{AccountConfig, ComponentConfig, Config, TokenSourceConfig};
use crate::http::{self, AppState, Reload};
use crate::metrics::Store;
use crate::probe::ProbeSet;
use crate::schedule::{AccountPlan, AccountPoller, AccountsUpdate, Fetch, PlanSettings, Scheduler};
use crate::shard::Shard;
use crate::state::{StateDir, StateWriter};
use crate::status::{InFlight, StatusBoard};
use crate::wechat::Endpoint;
use crate::wechat::client::{Client, ClientSettings};
use crate::wechat::token::component::{Authorizer, Platform, RefreshToken};
use crate::wechat::token::{TokenCache, TokenSource};
use crate::wechat::transport::{CallObserver, http_client};

mod discovery;
pub use discovery::Discoverer;

/// The version and git revision reported by `wechat_mp_exporter_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision, from `build.rs`: `WECHAT_MP_EXPORTER_REVISION` when the build sets it (the
/// container build does), else the git checkout's HEAD, else "unknown".
pub const REVISION: &str = env!("WECHAT_MP_EXPORTER_REVISION");

/// What `--version` prints after the name, in the Prometheus style.
pub const VERSION_LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision: ",
    env!("WECHAT_MP_EXPORTER_REVISION"),
    ")\n  build date: ",
    env!("WECHAT_MP_EXPORTER_BUILD_DATE"),
    "\n  toolchain:  ",
    env!("WECHAT_MP_EXPORTER_TOOLCHAIN"),
    "\n  platform:   ",
    env!("WECHAT_MP_EXPORTER_PLATFORM"),
);

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
    platforms: Platforms,
    roster: discovery::SharedRoster,
    shard: Option<Shard>,
}

/// The component token cache of every third-party platform, shared by its accounts and kept over
/// reloads while the platform's settings stay the same.
#[derive(Clone, Default)]
pub(crate) struct Platforms(Arc<std::sync::Mutex<Vec<PlatformCache>>>);

/// A platform's settings with the API base and failure hold its cache was built with, and the
/// cache of its component token.
type PlatformCache = (
    (ComponentConfig, url::Url, std::time::Duration),
    Arc<TokenCache>,
);

impl Platforms {
    /// The cache of `component`'s token: the existing one, or a new one (one fetch for all its
    /// accounts; a failure is held for `error_retry_interval` so they do not each ask again).
    fn cache(
        &self,
        component: &ComponentConfig,
        config: &Config,
        http: &reqwest::Client,
        clock: &SharedClock,
    ) -> Arc<TokenCache> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = (
            component.clone(),
            config.wechat.api_base_url.clone(),
            config.schedule.error_retry_interval,
        );
        if let Some((_, cache)) = all.iter().find(|(k, _)| *k == key) {
            return cache.clone();
        }
        let platform = Platform::new(
            component.appid.clone(),
            component.secret.clone(),
            component.ticket.clone(),
            clock.clone(),
        );
        // Fetches are counted under the account that needed them (TokenCache::get_for).
        let cache = Arc::new(
            TokenCache::new(
                TokenSource::ComponentToken(Arc::new(platform)),
                http.clone(),
                config.wechat.api_base_url.clone(),
                clock.clone(),
                Arc::new(crate::wechat::transport::NoopObserver),
            )
            .with_failure_hold(config.schedule.error_retry_interval),
        );
        all.retain(|((c, _, _), _)| c.name != component.name);
        all.push((key, cache.clone()));
        cache
    }
}

/// The state directory and its writer.
#[derive(Clone)]
pub(crate) struct Storage {
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
        Self::build(config, clock, storage, None)
    }

    /// [`Exporter::with_storage`] keeping only the accounts of `shard` (`--shard`; `None`: all
    /// of them), now and on every reload.
    pub fn build(
        config: &Config,
        clock: SharedClock,
        storage: Option<&Path>,
        shard: Option<Shard>,
    ) -> anyhow::Result<Self> {
        let config = &of_shard(config.clone(), shard);
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
        board.config_loaded(jiff::Timestamp::now(), true);
        let http = http_client(config.wechat.timeout);
        let platforms = Platforms::default();
        let pollers = config
            .accounts
            .iter()
            .map(|account| {
                let w = Wiring {
                    http: &http,
                    store: &store,
                    board: &board,
                    clock: &clock,
                    platforms: &platforms,
                };
                build_poller(config, account, w, state.as_ref())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut scheduler = Scheduler::new(
            pollers,
            store.clone(),
            board.clone(),
            clock.clone(),
            config.wechat.concurrency,
            config.metrics.max_articles_per_account,
        )
        .with_rate_limit(config.wechat.rate_limit);
        // The metrics store and the status page both show the probe's results.
        let probes = ProbeSet::new(Arc::new(crate::status::Tee(vec![
            store.clone(),
            board.clone(),
        ])));
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
            platforms,
            roster: discovery::Roster::new(config),
            shard,
        })
    }

    /// The accounts this exporter polls (those of its shard).
    pub fn accounts(&self) -> usize {
        self.config.accounts.len()
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

    /// Lists the accounts of every platform with `discover_accounts = true` now and then every
    /// `discover_interval`, polling new authorisations and dropping withdrawn ones, until
    /// `shutdown` is cancelled.
    pub fn start_discovery(&self, shutdown: CancellationToken) {
        self.discoverer().start(shutdown);
    }

    /// What lists the platforms' accounts, to run one round by hand (`Discoverer::round`);
    /// usable after the scheduler has been moved into its task.
    pub fn discoverer(&self) -> Discoverer {
        discovery::Discoverer {
            roster: self.roster.clone(),
            platforms: self.platforms.clone(),
            store: self.store.clone(),
            board: self.board.clone(),
            clock: self.clock.clone(),
            state: self.state.clone(),
            updates: self.scheduler.updates(),
            shard: self.shard,
        }
    }

    /// Reloads `path` on demand (SIGHUP, `POST /-/reload`) into this exporter's scheduler.
    pub fn reloader(&self, path: PathBuf) -> Arc<Reloader> {
        Arc::new(Reloader {
            path,
            current: tokio::sync::Mutex::new(self.config.clone()),
            store: self.store.clone(),
            board: self.board.clone(),
            probes: self.probes.clone(),
            clock: self.clock.clone(),
            updates: self.scheduler.updates(),
            state: self.state.clone(),
            platforms: self.platforms.clone(),
            roster: self.roster.clone(),
            shard: self.shard,
        })
    }
}

/// What every account's poller is wired to.
#[derive(Clone, Copy)]
struct Wiring<'a> {
    http: &'a reqwest::Client,
    store: &'a Arc<Store>,
    board: &'a StatusBoard,
    clock: &'a SharedClock,
    platforms: &'a Platforms,
}

/// A client whose calls in flight the status board sees (the landing page's "stuck" line).
struct Tracked {
    client: Client,
    in_flight: Arc<InFlight>,
}

impl Fetch for Tracked {
    fn fetch(
        &self,
        endpoint: Endpoint,
        range: crate::wechat::DateRange,
    ) -> BoxFuture<'_, Result<crate::wechat::Parsed, crate::wechat::error::Error>> {
        Box::pin(async move {
            let _in_flight = self.in_flight.start(endpoint);
            self.client.fetch_range(endpoint, range).await
        })
    }

    fn quota(
        &self,
        endpoint: Endpoint,
    ) -> BoxFuture<'_, Result<crate::wechat::client::ApiQuota, crate::wechat::error::Error>> {
        Box::pin(self.client.quota(endpoint))
    }
}

/// `config` with only the accounts of `shard`.
pub fn of_shard(mut config: Config, shard: Option<Shard>) -> Config {
    if let Some(shard) = shard {
        config.accounts.retain(|a| shard.keeps(&a.app_id));
    }
    config
}

/// One account's poller: its client and plan.
fn build_poller(
    config: &Config,
    account: &AccountConfig,
    w: Wiring<'_>,
    state: Option<&Storage>,
) -> anyhow::Result<AccountPoller> {
    let (http, store, clock) = (w.http, w.store, w.clock);
    let observer = store.self_metrics().observer(&account.name);
    let deps = TokenDeps {
        platforms: w.platforms,
        state_dir: state.map(|s| &s.dir),
    };
    let (_, client) = account_client_with(config, account, http, clock, observer, &deps)?;
    let in_flight = InFlight::new(config.wechat.timeout, clock.clone());
    w.board.track(&account.name, in_flight.clone());
    let client = Tracked { client, in_flight };
    let endpoints = crate::schedule::endpoints_to_call(&account.reports, &config.metrics.exclude);
    let settings = PlanSettings::from(&config.schedule).for_account(&account.app_id);
    let plan = AccountPlan::new(settings, endpoints);
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
    let platforms = Platforms::default();
    let deps = TokenDeps {
        platforms: &platforms,
        state_dir: None,
    };
    account_client_with(config, account, http, clock, observer, &deps)
}

/// What accounts' token sources share beyond `[wechat]`: the platforms' token caches, the state
/// directory.
struct TokenDeps<'a> {
    platforms: &'a Platforms,
    state_dir: Option<&'a StateDir>,
}

fn account_client_with(
    config: &Config,
    account: &AccountConfig,
    http: &reqwest::Client,
    clock: &SharedClock,
    observer: Arc<dyn CallObserver>,
    deps: &TokenDeps<'_>,
) -> anyhow::Result<(Arc<TokenCache>, Client)> {
    let settings = ClientSettings {
        base_url: config.wechat.api_base_url.clone(),
        max_retries: config.wechat.max_retries,
        retry_backoff: config.wechat.retry_backoff,
    };
    let source = match &account.token {
        TokenSourceConfig::Component(c) => {
            let component = deps.platforms.cache(&c.component, config, http, clock);
            // The state directory when there is one, else the operator's file, else memory.
            let persist_to = match deps.state_dir {
                Some(dir) => Some(dir.refresh_token_path(&account.app_id)),
                None => c.refresh_token_file.clone(),
            };
            if persist_to.is_none() {
                tracing::warn!(account = %account.name, "a rotated authorizer_refresh_token will be lost on a restart: set --storage.path or authorizer_refresh_token_file");
            }
            let refresh = RefreshToken::load(c.refresh_token.clone(), persist_to);
            let authorizer = Authorizer::new(account.app_id.clone(), component, refresh)
                .map_err(anyhow::Error::msg)?;
            TokenSource::Authorizer(Arc::new(authorizer))
        }
        _ => token_source(account).with_context(|| format!("account {:?}", account.name))?,
    };
    let tokens = Arc::new(
        TokenCache::new(
            source,
            http.clone(),
            settings.base_url.clone(),
            clock.clone(),
            observer.clone(),
        )
        .for_account(&account.name),
    );
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
    board: Arc<StatusBoard>,
    probes: Arc<ProbeSet>,
    clock: SharedClock,
    updates: mpsc::UnboundedSender<AccountsUpdate>,
    state: Option<Storage>,
    platforms: Platforms,
    roster: discovery::SharedRoster,
    shard: Option<Shard>,
}

impl Reloader {
    /// Loads the file; on success returns what changed, on failure every problem with its key.
    pub async fn reload(&self) -> Result<String, String> {
        let mut current = self.current.lock().await;
        let new = match Config::load(&self.path) {
            Ok(config) => of_shard(config, self.shard),
            Err(errors) => {
                self.store.config_loaded(false);
                self.board.config_loaded(jiff::Timestamp::now(), false);
                let text = format!(
                    "{}: {} problem(s), keeping the last good config:\n{errors}",
                    self.path.display(),
                    errors.0.len()
                );
                tracing::error!(problems = errors.0.len(), "config reload failed:\n{errors}");
                return Err(text);
            }
        };
        // Client, schedule or exclusion settings apply to every account: rebuild them all then.
        // `[metrics] exclude` decides which endpoints are called at all.
        let same_settings = new.wechat == current.wechat
            && new.schedule == current.schedule
            && new.metrics.exclude == current.metrics.exclude;
        let http = http_client(new.wechat.timeout);
        if let Some(state) = &self.state {
            // A rebuilt account starts from its saved state: make that the newest one.
            state.writer.sync();
        }
        // Listed accounts of platforms that still list them are kept (a listing changes them).
        let mut roster = self.roster.lock().await;
        let mut keep = roster.kept_by(&new);
        let mut add = Vec::new();
        for account in &new.accounts {
            if same_settings && current.accounts.iter().any(|a| a.same_as(account)) {
                keep.push(account.name.clone());
                continue;
            }
            let w = Wiring {
                http: &http,
                store: &self.store,
                board: &self.board,
                clock: &self.clock,
                platforms: &self.platforms,
            };
            match build_poller(&new, account, w, self.state.as_ref()) {
                Ok(poller) => add.push(poller),
                Err(e) => {
                    self.store.config_loaded(false);
                    self.board.config_loaded(jiff::Timestamp::now(), false);
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
            rate_limit: new.wechat.rate_limit,
        };
        if self.updates.send(update).is_err() {
            return Err("the scheduler has stopped".into());
        }
        // Probes follow the new file too: changed ones restart, removed ones lose their series.
        self.probes.apply(&new.accounts);
        roster.set_config(&new);
        self.store.set_exclusions(new.metrics.exclude.clone());
        self.store.config_loaded(true);
        self.board.config_loaded(jiff::Timestamp::now(), true);
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
        TokenSourceConfig::Component(_) => {
            anyhow::bail!("component accounts are wired by account_client_with")
        }
    })
}
