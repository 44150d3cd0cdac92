//! The one runtime: the pieces every command shares, built once (the paced HTTP client, the
//! metric store, the status board, the clock, the platforms' token caches, the state directory,
//! the shard) and used by `serve`, a reload, discovery and `backfill` alike.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::metrics::Store;
use crate::shard::Shard;
use crate::state::{StateDir, StateWriter};
use crate::status::StatusBoard;
use crate::version::{REVISION, VERSION};
use crate::wechat::transport::{Http, Pace, try_http_client};

use super::accounts::Platforms;
use super::discovery::{Roster, SharedRoster};

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
    pub(crate) roster: SharedRoster,
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
        let pace = Pace::new(config.wechat.rate_limit);
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
            roster: Roster::new(config),
        }))
    }

    /// The shared HTTP client for `config`'s `[wechat]` settings: the same client while the
    /// timeout stays the same, and the rate limit applied to every client built from this runtime.
    pub(crate) fn http(&self, config: &Config) -> Http {
        self.pace.set(config.wechat.rate_limit);
        let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        if http.0 != config.wechat.timeout {
            if let Ok(client) = try_http_client(config.wechat.timeout) {
                *http = (config.wechat.timeout, client.paced_by(self.pace.clone()));
            }
        }
        http.1.clone()
    }
}
