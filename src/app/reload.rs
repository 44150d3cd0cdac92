//! The [`Reloader`]: re-reads the config file (SIGHUP, `POST /-/reload`) and sends the scheduler
//! the settings and the accounts that changed, over the same runtime.

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::http::Reload;
use crate::probe::ProbeSet;
use crate::schedule::Update;

use super::discovery::SharedRoster;
use super::runtime::{Runtime, of_shard};

/// Re-reads the config file and hands the changed accounts to the scheduler. A bad file changes
/// nothing: the exporter keeps polling with the last good config.
pub struct Reloader {
    pub(super) path: PathBuf,
    pub(super) current: tokio::sync::Mutex<Config>,
    pub(super) probes: Arc<ProbeSet>,
    pub(super) updates: mpsc::UnboundedSender<Update>,
    pub(super) runtime: Arc<Runtime>,
    pub(super) roster: SharedRoster,
}

impl Reloader {
    /// Loads the file; on success returns what changed, on failure every problem with its key.
    pub async fn reload(&self) -> Result<String, String> {
        let runtime = &self.runtime;
        let mut current = self.current.lock().await;
        let new = match Config::load(&self.path) {
            Ok(config) => of_shard(config, runtime.shard),
            Err(errors) => {
                runtime.store.config_loaded(false);
                runtime.board.config_loaded(runtime.clock.now(), false);
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
        if let Some(state) = &runtime.storage {
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
            match runtime.poller(&new, account) {
                Ok(poller) => add.push(poller),
                Err(e) => {
                    runtime.store.config_loaded(false);
                    runtime.board.config_loaded(runtime.clock.now(), false);
                    return Err(format!("{e:#}"));
                }
            }
        }
        // The rate limit is the shared client's (every account keeps the new one at once).
        runtime
            .pace
            .set(new.wechat.rate_limit, new.wechat.concurrency);
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
        let settings = Update::Settings {
            max_articles: new.metrics.max_articles_per_account,
        };
        let accounts = Update::Accounts { keep, add };
        if self.updates.send(settings).is_err() || self.updates.send(accounts).is_err() {
            return Err("the scheduler has stopped".into());
        }
        // Probes follow the new file too: changed ones restart, removed ones lose their series.
        self.probes.apply(&new.accounts);
        roster.set_config(&new);
        runtime.store.set_exclusions(new.metrics.exclude.clone());
        runtime.store.config_loaded(true);
        runtime.board.config_loaded(runtime.clock.now(), true);
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
