//! The [`Exporter`] that `serve` runs: the runtime, every account's poller in one scheduler, the
//! callback probes, the HTTP routes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use rayon::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::http::{self, AppState, Reload};
use crate::metrics::Store;
use crate::probe::ProbeSet;
use crate::schedule::Scheduler;
use crate::shard::Shard;
use crate::status_page::StatusBoard;
use crate::storage::StateWriter;

use super::discovery::{Discoverer, Roster, SharedRoster};
use super::reload::Reloader;
use super::runtime::{Runtime, of_shard};

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
    runtime: Arc<Runtime>,
    /// The accounts polled, shared by reloads and the platforms' listings.
    roster: SharedRoster,
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
        let runtime = Runtime::new(config, clock, storage, shard)?;
        // Each account's state is read, inflated and parsed on its own: on every core.
        let pollers = config
            .accounts
            .par_iter()
            .map(|account| runtime.poller(config, account))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut scheduler = Scheduler::new(
            pollers,
            runtime.store.clone(),
            runtime.board.clone(),
            runtime.clock.clone(),
            runtime.pace.clone(),
            config.metrics.max_articles_per_account,
        );
        if let Some(state) = &runtime.storage {
            scheduler = scheduler.with_state(state.writer.clone());
        }
        runtime.board.config_loaded(runtime.clock.now(), true);
        Ok(Self {
            store: runtime.store.clone(),
            board: runtime.board.clone(),
            scheduler,
            // The metrics store and the status page both show the probe's results.
            probes: ProbeSet::new(Arc::new(crate::status_page::Tee(vec![
                runtime.store.clone(),
                runtime.board.clone(),
            ]))),
            config: config.clone(),
            runtime,
            roster: Roster::new(config),
        })
    }

    /// The accounts this exporter polls (those of its shard).
    pub fn accounts(&self) -> usize {
        self.config.accounts.len()
    }

    /// The writer of the state directory, when there is one (to flush it before exiting).
    pub fn state_writer(&self) -> Option<Arc<StateWriter>> {
        self.runtime.storage.as_ref().map(|s| s.writer.clone())
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
        Discoverer {
            runtime: self.runtime.clone(),
            roster: self.roster.clone(),
            updates: self.scheduler.updates(),
        }
    }

    /// Reloads `path` on demand (SIGHUP, `POST /-/reload`) into this exporter's scheduler.
    pub fn reloader(&self, path: PathBuf) -> Arc<Reloader> {
        Arc::new(Reloader {
            path,
            current: tokio::sync::Mutex::new(self.config.clone()),
            probes: self.probes.clone(),
            updates: self.scheduler.updates(),
            runtime: self.runtime.clone(),
            roster: self.roster.clone(),
        })
    }
}
