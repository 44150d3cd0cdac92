//! The datacube HTTP client (CONTRACT STUB: the client branch replaces the bodies).

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::error::Error;
use super::token::TokenCache;
use super::{DateRange, Endpoint, Parsed};
use crate::clock::SharedClock;

/// Told about every upstream call, so the metrics can count them without the client knowing
/// Prometheus.
pub trait CallObserver: Send + Sync {
    /// A datacube call finished; `errcode_label` is "0" or `Error::label()`.
    fn api_call(&self, api: &str, errcode_label: &str);
    /// A token fetch finished; `source_kind` is `TokenSource::kind()`.
    fn token_fetch(&self, source_kind: &str, errcode_label: &str);
}

/// An observer that ignores everything.
pub struct NoopObserver;

impl CallObserver for NoopObserver {
    fn api_call(&self, _api: &str, _errcode_label: &str) {}
    fn token_fetch(&self, _source_kind: &str, _errcode_label: &str) {}
}

#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub base_url: Url,
    pub max_retries: u32,
    pub retry_backoff: Duration,
}

/// The shared HTTP client (rustls, no OpenSSL).
pub fn http_client(_timeout: Duration) -> reqwest::Client {
    todo!("client branch")
}

pub struct Client {
    #[allow(dead_code)]
    tokens: Arc<TokenCache>,
}

impl Client {
    pub fn new(
        _http: reqwest::Client,
        _settings: ClientSettings,
        tokens: Arc<TokenCache>,
        _clock: SharedClock,
        _observer: Arc<dyn CallObserver>,
    ) -> Self {
        Self { tokens }
    }

    /// One request; `range` must fit the endpoint's span and end before today (UTC+8).
    pub async fn fetch(&self, _endpoint: Endpoint, _range: DateRange) -> Result<Parsed, Error> {
        todo!("client branch")
    }

    /// Any range: split into the endpoint's span, the rows merged in date order.
    pub async fn fetch_range(
        &self,
        _endpoint: Endpoint,
        _range: DateRange,
    ) -> Result<Parsed, Error> {
        todo!("client branch")
    }
}
