//! The one runtime: the pieces every command shares, built once (the paced HTTP client, the
//! metric store, the status board, the clock, the platforms' token caches, the state directory,
//! the shard) and used by `serve`, a reload, discovery and `backfill` alike.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::SharedClock;
use crate::config::{ComponentConfig, Config};
use crate::metrics::Store;
use crate::shard::Shard;
use crate::status_page::StatusBoard;
use crate::storage::{StateDir, StateWriter};
use crate::version::{REVISION, VERSION};
use crate::wechat::pace::Pace;
use crate::wechat::token::component::Platform;
use crate::wechat::token::{TokenCache, TokenSource};
use crate::wechat::transport::{Http, NoopObserver, try_http_client};

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
    pub(crate) fn cache(
        &self,
        component: &ComponentConfig,
        config: &Config,
        runtime: &Runtime,
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
            runtime.clock.clone(),
        );
        // Fetches are counted under the account that needed them (TokenCache::get_for).
        let cache = Arc::new(
            TokenCache::new(
                TokenSource::ComponentToken(Arc::new(platform)),
                runtime.http(config),
                config.wechat.api_base_url.clone(),
                runtime.clock.clone(),
                Arc::new(NoopObserver),
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
    pub(crate) dir: StateDir,
    pub(crate) writer: Arc<StateWriter>,
}

/// What every account, reload, listing and backfill shares. Built once per process.
pub struct Runtime {
    /// The latest snapshot of every account and the encoded bodies.
    pub store: Arc<Store>,
    /// What the landing page and `/-/ready` show.
    pub board: Arc<StatusBoard>,
    pub(crate) clock: SharedClock,
    /// `[wechat] rate_limit`, kept by every upstream call (the HTTP client carries it).
    pub(crate) pace: Pace,
    /// The HTTP client and the `[wechat] timeout` it was built with (rebuilt only when a reload
    /// changes the timeout).
    http: Mutex<(Duration, Http)>,
    pub(crate) platforms: Platforms,
    pub(crate) storage: Option<Storage>,
    pub(crate) shard: Option<Shard>,
}

impl Runtime {
    /// The runtime of `config` (already cut to `shard`), over the state directory `storage`
    /// (`None` keeps no state). A directory that cannot be written is an error.
    pub fn new(
        config: &Config,
        clock: SharedClock,
        storage: Option<&Path>,
        shard: Option<Shard>,
    ) -> anyhow::Result<Arc<Self>> {
        let storage = match storage {
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
        let pace = Pace::new(config.wechat.rate_limit, config.wechat.concurrency);
        let http = try_http_client(config.wechat.timeout)
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?
            .paced_by(pace.clone());
        Ok(Arc::new(Self {
            store,
            board: StatusBoard::new(),
            clock,
            pace,
            http: Mutex::new((config.wechat.timeout, http)),
            platforms: Platforms::default(),
            storage,
            shard,
        }))
    }

    /// The shared HTTP client for `config`'s `[wechat] timeout`: the same client while the timeout
    /// stays the same. Every client keeps the runtime's one pace (a reload sets its rate once the
    /// new file is accepted).
    pub(crate) fn http(&self, config: &Config) -> Http {
        let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        if http.0 != config.wechat.timeout
            && let Ok(client) = try_http_client(config.wechat.timeout)
        {
            *http = (config.wechat.timeout, client.paced_by(self.pace.clone()));
        }
        http.1.clone()
    }
}

/// `config` with only the accounts of `shard`.
pub fn of_shard(mut config: Config, shard: Option<Shard>) -> Config {
    if let Some(shard) = shard {
        config.accounts.retain(|a| shard.keeps(&a.app_id));
    }
    config
}
