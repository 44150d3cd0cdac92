//! One account's wiring: its token source (a platform's accounts share the platform's token
//! cache), its datacube client, its plan and poller, all over the runtime's shared pieces.

use std::sync::Arc;

use anyhow::Context as _;
use futures::future::BoxFuture;

use crate::config::{AccountConfig, Config, TokenSourceConfig};
use crate::schedule::{AccountPlan, AccountPoller, Fetch, PlanSettings};
use crate::status_page::InFlight;
use crate::wechat::Endpoint;
use crate::wechat::client::{Client, ClientSettings};
use crate::wechat::token::component::{Authorizer, RefreshToken};
use crate::wechat::token::{TokenCache, TokenSource};
use crate::wechat::transport::{CallObserver, Http};

use super::runtime::Runtime;

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

impl Runtime {
    /// One account's poller: its client and plan, starting from its saved state if any.
    pub(crate) fn poller(
        &self,
        config: &Config,
        account: &AccountConfig,
    ) -> anyhow::Result<AccountPoller> {
        let observer = self.store.self_metrics().observer(&account.name);
        let (_, client) = self.account_client(config, account, observer)?;
        let in_flight = InFlight::new(config.wechat.timeout, self.clock.clone());
        self.board.track(&account.name, in_flight.clone());
        let client = Tracked { client, in_flight };
        let endpoints =
            crate::schedule::endpoints_to_call(&account.reports, &config.metrics.exclude);
        let settings = PlanSettings::from(&config.schedule).for_account(&account.app_id);
        let plan = AccountPlan::new(settings, endpoints);
        let poller = AccountPoller::new(account.name.clone(), plan, Arc::new(client));
        let Some(state) = &self.storage else {
            return Ok(poller);
        };
        let saved = state.dir.load(&account.name, &account.app_id);
        Ok(poller.with_saved(&account.app_id, saved.as_ref(), self.clock.now()))
    }

    /// One account's token cache and datacube client, as `[wechat]` and the account configure
    /// them, over the runtime's HTTP client (and so its rate limit).
    pub fn account_client(
        &self,
        config: &Config,
        account: &AccountConfig,
        observer: Arc<dyn CallObserver>,
    ) -> anyhow::Result<(Arc<TokenCache>, Client)> {
        let http: Http = self.http(config);
        let settings = ClientSettings::from(&config.wechat);
        let source = match &account.token {
            TokenSourceConfig::Component(c) => {
                let component = self.platforms.cache(&c.component, config, self);
                // The state directory when there is one, else the operator's file, else memory.
                let persist_to = match &self.storage {
                    Some(state) => Some(state.dir.refresh_token_path(&account.app_id)),
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
                self.clock.clone(),
                observer.clone(),
            )
            .for_account(&account.name),
        );
        let client = Client::new(http, settings, tokens.clone(), self.clock.clone(), observer);
        Ok((tokens, client))
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
            anyhow::bail!("component accounts are wired by Runtime::account_client")
        }
    })
}
