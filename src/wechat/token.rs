//! Access-token sources and the per-account token cache (CONTRACT STUB: the client branch
//! replaces the bodies; the signatures are what the rest of the crate relies on).

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use secrecy::SecretString;
use url::Url;

use super::client::CallObserver;
use super::error::Error;
use crate::clock::SharedClock;

/// A token and when the cache stops using it.
#[derive(Clone)]
pub struct AccessToken {
    pub value: SecretString,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where an account's access token comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// `POST /cgi-bin/stable_token`, normal mode: never `force_refresh`.
    Stable {
        app_id: String,
        secret: SecretString,
    },
    /// `GET /cgi-bin/token`: only when this exporter owns the account's token.
    Classic {
        app_id: String,
        secret: SecretString,
    },
    /// A file kept up to date by a central token server.
    File(PathBuf),
    /// A central token service.
    Url(Url),
}

impl TokenSource {
    /// The `source` label of `wechat_mp_token_fetches_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenSource::Stable { .. } => "stable",
            TokenSource::Classic { .. } => "classic",
            TokenSource::File(_) => "file",
            TokenSource::Url(_) => "url",
        }
    }
}

/// Caches one account's token; concurrent callers share one fetch.
pub struct TokenCache {
    #[allow(dead_code)]
    source: TokenSource,
}

impl TokenCache {
    pub fn new(
        source: TokenSource,
        _http: reqwest::Client,
        _base_url: Url,
        _clock: SharedClock,
        _observer: Arc<dyn CallObserver>,
    ) -> Self {
        Self { source }
    }

    /// The cached token, fetching one if there is none or it is about to expire.
    pub async fn get(&self) -> Result<AccessToken, Error> {
        todo!("client branch")
    }

    /// Drops the cached token if it is still `failed` (another caller may have replaced it).
    pub fn invalidate(&self, _failed: &AccessToken) {
        todo!("client branch")
    }
}
