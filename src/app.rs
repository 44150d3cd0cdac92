//! Wires a validated `Config` into a running exporter: one WeChat client and plan per account,
//! the metric store, the status board, the HTTP router.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;

use crate::clock::SharedClock;
use crate::config::{AccountConfig, Config, TokenSourceConfig};
use crate::http::{self, AppState};
use crate::metrics::Store;
use crate::schedule::{AccountPlan, AccountPoller, PlanSettings, Scheduler};
use crate::status::StatusBoard;
use crate::wechat::Endpoint;
use crate::wechat::client::{Client, ClientSettings, http_client};
use crate::wechat::token::{TokenCache, TokenSource};

/// The version and git revision reported by `wechat_mp_exporter_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const REVISION: &str = match option_env!("WECHAT_MP_EXPORTER_REVISION") {
    Some(r) => r,
    None => "unknown",
};

/// Everything a running exporter is made of.
pub struct Exporter {
    pub store: Arc<Store>,
    pub board: Arc<StatusBoard>,
    pub scheduler: Scheduler,
}

impl Exporter {
    /// Builds the exporter; nothing is fetched until the scheduler runs.
    pub fn new(config: &Config, clock: SharedClock) -> anyhow::Result<Self> {
        let store = Store::new(VERSION, REVISION);
        let board = StatusBoard::new();
        let http = http_client(config.wechat.timeout);
        let settings = ClientSettings {
            base_url: config.wechat.api_base_url.clone(),
            max_retries: config.wechat.max_retries,
            retry_backoff: config.wechat.retry_backoff,
        };
        let plan_settings = PlanSettings::from(&config.schedule);
        let mut pollers = Vec::with_capacity(config.accounts.len());
        for account in &config.accounts {
            let observer = store.self_metrics().observer(&account.name);
            let source =
                token_source(account).with_context(|| format!("account {:?}", account.name))?;
            let tokens = Arc::new(TokenCache::new(
                source,
                http.clone(),
                settings.base_url.clone(),
                clock.clone(),
                observer.clone(),
            ));
            let client = Client::new(
                http.clone(),
                settings.clone(),
                tokens,
                clock.clone(),
                observer,
            );
            let endpoints = Endpoint::ALL
                .into_iter()
                .filter(|e| account.reports.contains(&e.group()));
            let plan = AccountPlan::new(plan_settings.clone(), endpoints);
            pollers.push(AccountPoller::new(
                account.name.clone(),
                plan,
                Arc::new(client),
            ));
        }
        let scheduler = Scheduler::new(
            pollers,
            store.clone(),
            board.clone(),
            clock,
            config.wechat.concurrency,
            config.metrics.max_articles_per_account,
        );
        Ok(Self {
            store,
            board,
            scheduler,
        })
    }

    /// The HTTP routes over this exporter's store and status.
    pub fn router(&self, telemetry_path: &str) -> Router {
        http::router(AppState {
            store: self.store.clone(),
            board: self.board.clone(),
            telemetry_path: telemetry_path.to_string(),
        })
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
