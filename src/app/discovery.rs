//! Accounts a third-party platform lists as authorised (`discover_accounts = true`): the list is
//! read every `discover_interval`; new authorisations are polled without a restart, withdrawn ones
//! are dropped. An account also in the config file is polled as configured, not twice.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::runtime::Runtime;
use crate::config::{AccountConfig, ComponentAccount, ComponentConfig, Config, TokenSourceConfig};
use crate::schedule::Update;
use crate::wechat::token::component::list_authorizers;
use crate::wechat::transport::NoopObserver;

/// Which accounts are polled: the config file's and every platform's listed ones. Reloads and
/// listings both change it, one at a time (the lock is held while an update is sent).
pub(crate) struct Roster {
    /// The config in force (its accounts win over listed ones with the same name or AppID).
    config: Config,
    /// Per platform name, the listed accounts being polled.
    discovered: BTreeMap<String, Vec<AccountConfig>>,
}

/// The roster, shared by the reloader and the listing tasks.
pub(crate) type SharedRoster = Arc<tokio::sync::Mutex<Roster>>;

impl Roster {
    pub(crate) fn new(config: &Config) -> SharedRoster {
        Arc::new(tokio::sync::Mutex::new(Self {
            config: config.clone(),
            discovered: BTreeMap::new(),
        }))
    }

    /// After a reload: platforms that no longer list their accounts lose them at the next update.
    pub(crate) fn set_config(&mut self, config: &Config) {
        self.discovered.retain(|name, _| {
            config
                .components
                .iter()
                .any(|c| &c.name == name && c.discover.is_some())
        });
        self.config = config.clone();
    }

    /// Names of the listed accounts a reload to `config` keeps polling.
    pub(crate) fn kept_by(&self, config: &Config) -> Vec<String> {
        self.discovered
            .iter()
            .filter(|(name, _)| {
                config
                    .components
                    .iter()
                    .any(|c| &&c.name == name && c.discover.is_some())
            })
            .flat_map(|(_, accounts)| accounts)
            .filter(|a| !shadowed(&config.accounts, a))
            .map(|a| a.name.clone())
            .collect()
    }
}

/// A listed account the config file has too (by name or AppID).
fn shadowed(configured: &[AccountConfig], listed: &AccountConfig) -> bool {
    configured
        .iter()
        .any(|c| c.name == listed.name || c.app_id == listed.app_id)
}

/// Lists the platforms' authorised accounts and hands the changes to the scheduler.
#[derive(Clone)]
pub struct Discoverer {
    pub(super) runtime: Arc<Runtime>,
    pub(super) roster: SharedRoster,
    pub(super) updates: tokio::sync::mpsc::UnboundedSender<Update>,
}

impl Discoverer {
    /// Lists every discovering platform once and sends what changed to the scheduler (which
    /// applies it in `run`); returns how many accounts were added or removed.
    pub async fn round(&self) -> usize {
        let components: Vec<Arc<ComponentConfig>> = {
            let roster = self.roster.lock().await;
            roster
                .config
                .components
                .iter()
                .filter(|c| c.discover.is_some())
                .cloned()
                .collect()
        };
        let mut changed = 0;
        for component in components {
            changed += self.list(&component).await;
        }
        changed
    }

    async fn list(&self, component: &Arc<ComponentConfig>) -> usize {
        let runtime = &self.runtime;
        let mut roster = self.roster.lock().await;
        let config = roster.config.clone();
        let Some(discover) = &component.discover else {
            return 0;
        };
        // The runtime's client: the listing and the token calls it needs keep the rate limit.
        let http = runtime.http(&config);
        let cache = runtime.platforms.cache(component, &config, runtime);
        let listed = match list_authorizers(
            &cache,
            &http,
            &config.wechat.api_base_url,
            &NoopObserver,
        )
        .await
        {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!(component = %component.name, error = %e, "cannot list the platform's authorised accounts; keeping the last list");
                return 0;
            }
        };
        let accounts: Vec<AccountConfig> = listed
            .into_iter()
            .map(|l| AccountConfig {
                name: l.appid.clone(),
                app_id: l.appid,
                app_secret: None,
                token: TokenSourceConfig::Component(ComponentAccount {
                    component: component.clone(),
                    refresh_token: l.refresh_token,
                    refresh_token_file: None,
                }),
                reports: discover.reports.clone(),
                callback_probe: None,
            })
            .filter(|a| !shadowed(&config.accounts, a))
            // With --shard, the other replicas poll the other accounts of the list.
            .filter(|a| runtime.shard.is_none_or(|s| s.keeps(&a.app_id)))
            .collect();
        let before: HashSet<String> = roster
            .discovered
            .get(&component.name)
            .map(|v| v.iter().map(|a| a.app_id.clone()).collect())
            .unwrap_or_default();
        let now: HashSet<String> = accounts.iter().map(|a| a.app_id.clone()).collect();
        let removed = before.difference(&now).count();
        let mut add = Vec::new();
        let mut polled = Vec::new();
        for account in accounts {
            if before.contains(&account.app_id) {
                polled.push(account);
                continue;
            }
            match runtime.poller(&config, &account) {
                Ok(poller) => {
                    add.push(poller);
                    polled.push(account);
                }
                Err(e) => {
                    tracing::warn!(component = %component.name, account = %account.name, error = %format!("{e:#}"), "cannot poll a listed account")
                }
            }
        }
        if add.is_empty() && removed == 0 {
            return 0;
        }
        let added = add.len();
        roster.discovered.insert(component.name.clone(), polled);
        let mut keep: Vec<String> = config.accounts.iter().map(|a| a.name.clone()).collect();
        keep.extend(roster.kept_by(&config));
        keep.retain(|name| !add.iter().any(|p| &p.name == name));
        // Only the accounts: the settings are the config's, which a reload sends.
        if self.updates.send(Update::Accounts { keep, add }).is_err() {
            return 0;
        }
        tracing::info!(component = %component.name, added, removed, "the platform's list of authorised accounts changed");
        added + removed
    }

    /// Lists every discovering platform at once, then every `discover_interval`, until `shutdown`.
    pub(crate) fn start(self, shutdown: CancellationToken) {
        let intervals: Vec<std::time::Duration> = {
            let Ok(roster) = self.roster.try_lock() else {
                return;
            };
            roster
                .config
                .components
                .iter()
                .filter_map(|c| c.discover.as_ref().map(|d| d.interval))
                .collect()
        };
        // One loop for all platforms, at the shortest interval (listing is one cheap call a page).
        let Some(interval) = intervals.into_iter().min() else {
            return;
        };
        tokio::spawn(async move {
            loop {
                self.round().await;
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(interval) => {}
                }
            }
        });
    }
}
