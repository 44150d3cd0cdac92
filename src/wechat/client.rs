//! The datacube HTTP client: refuses requests WeChat would reject, retries what is worth retrying
//! (one token refetch, jittered backoff for transient errors) and merges split date ranges.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use url::Url;

use super::date::{self, format_date};
use super::error::{Error, ErrorClass};
use super::token::{AccessToken, TokenCache};
use super::transport::{self, CallObserver, Http, api_url};
use super::{DateRange, Endpoint, Parsed, Report};
use crate::clock::SharedClock;

#[derive(Debug, Clone)]
/// Where and how persistently to ask.
pub struct ClientSettings {
    /// The API base URL (WeChat, a proxy or the simulator).
    pub base_url: Url,
    /// Retries of a transient error within one call.
    pub max_retries: u32,
    /// The first backoff; later ones grow (jittered, capped).
    pub retry_backoff: Duration,
}

/// Longest wait between two transient retries, however many there were.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The datacube client of one account.
pub struct Client {
    http: Http,
    settings: ClientSettings,
    tokens: Arc<TokenCache>,
    clock: SharedClock,
    observer: Arc<dyn CallObserver>,
}

impl Client {
    /// A client of one account over `http`, with its token cache.
    pub fn new(
        http: Http,
        settings: ClientSettings,
        tokens: Arc<TokenCache>,
        clock: SharedClock,
        observer: Arc<dyn CallObserver>,
    ) -> Self {
        Self {
            http,
            settings,
            tokens,
            clock,
            observer,
        }
    }

    /// One request; `range` must fit the endpoint's span and end before today (UTC+8).
    pub async fn fetch(&self, endpoint: Endpoint, range: DateRange) -> Result<Parsed, Error> {
        self.check_dates(endpoint, range)?;
        let span = endpoint.max_span_days();
        if range.len_days() > i64::from(span) {
            return Err(refused(
                endpoint,
                format!(
                    "{range} is {} days, more than the {span} days one request may span",
                    range.len_days()
                ),
            ));
        }

        let mut token_retried = false;
        let mut transient_retries = 0u32;
        loop {
            let token = match self.tokens.get().await {
                Ok(token) => token,
                // A token endpoint's own errcodes (40001 there means a wrong secret) are not a
                // rejected token: only transient failures are retried.
                Err(e) => {
                    if self
                        .may_retry(&e, &mut transient_retries, endpoint, range)
                        .await
                    {
                        continue;
                    }
                    return Err(e);
                }
            };
            let err = match self.attempt(endpoint, range, &token).await {
                Ok(parsed) => return Ok(parsed),
                Err(e) => e,
            };
            if err.class() == ErrorClass::Token && !token_retried {
                // The token was replaced or revoked: drop it so `get` asks the source again.
                token_retried = true;
                self.tokens.invalidate(&token);
                tracing::debug!(
                    account = self.tokens.account(),
                    api = endpoint.name(),
                    %range,
                    errcode = err.errcode(),
                    "access token rejected; fetching it again and retrying once"
                );
                continue;
            }
            if !self
                .may_retry(&err, &mut transient_retries, endpoint, range)
                .await
            {
                return Err(err);
            }
        }
    }

    /// For a transient error with retries left, waits the backoff and says to retry.
    async fn may_retry(
        &self,
        err: &Error,
        retries: &mut u32,
        endpoint: Endpoint,
        range: DateRange,
    ) -> bool {
        // 45011 (per-minute limit): retrying within the minute only burns calls; the scheduler
        // comes back later.
        if err.class() != ErrorClass::Transient
            || err.errcode() == Some(45011)
            || *retries >= self.settings.max_retries
        {
            return false;
        }
        let delay = backoff(self.settings.retry_backoff, *retries);
        *retries += 1;
        tracing::debug!(
            account = self.tokens.account(),
            api = endpoint.name(),
            %range,
            error = %err,
            retry = *retries,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "transient error; retrying"
        );
        tokio::time::sleep(delay).await;
        true
    }

    /// Any range: split into the endpoint's span, the rows merged in date order.
    pub async fn fetch_range(&self, endpoint: Endpoint, range: DateRange) -> Result<Parsed, Error> {
        // Refuse the whole range before fetching any part of it.
        self.check_dates(endpoint, range)?;
        let mut parts = range.split(endpoint.max_span_days()).into_iter();
        let Some(first) = parts.next() else {
            return Ok(Parsed {
                report: Report::empty(endpoint),
                is_delay: None,
            });
        };
        let mut merged = self.fetch(endpoint, first).await?;
        for part in parts {
            let next = self.fetch(endpoint, part).await?;
            merged.merge(next).map_err(|_| Error::InvalidJson {
                api: endpoint.name().into(),
                message: "a part of the range parsed as another endpoint's report".into(),
            })?;
        }
        Ok(merged)
    }

    /// Refuses ranges WeChat rejects: reversed, ending today or later (UTC+8), or starting before
    /// the endpoint keeps data.
    fn check_dates(&self, endpoint: Endpoint, range: DateRange) -> Result<(), Error> {
        if range.begin > range.end {
            return Err(refused(
                endpoint,
                format!("begin {} is after end {}", range.begin, range.end),
            ));
        }
        let today = date::china_today(self.clock.now());
        if range.end >= today {
            return Err(refused(
                endpoint,
                format!(
                    "{range} does not end before today ({today}, UTC+8); WeChat only serves past days"
                ),
            ));
        }
        let earliest = endpoint.earliest_date();
        if range.begin < earliest {
            return Err(refused(
                endpoint,
                format!("{range} begins before {earliest}, the first day WeChat keeps"),
            ));
        }
        Ok(())
    }

    /// One HTTP request, reported to the observer.
    async fn attempt(
        &self,
        endpoint: Endpoint,
        range: DateRange,
        token: &AccessToken,
    ) -> Result<Parsed, Error> {
        let result = self.send(endpoint, range, token).await;
        let label = match &result {
            Ok(_) => "0".to_string(),
            Err(e) => e.label(),
        };
        self.observer.api_call(endpoint.name(), &label);
        tracing::trace!(account = self.tokens.account(), api = endpoint.name(), %range, result = %label, "datacube call");
        result
    }

    async fn send(
        &self,
        endpoint: Endpoint,
        range: DateRange,
        token: &AccessToken,
    ) -> Result<Parsed, Error> {
        let api = endpoint.name();
        let mut url = api_url(&self.settings.base_url, &endpoint.path(), api)?;
        url.query_pairs_mut()
            .append_pair("access_token", token.value.expose_secret());
        let body = serde_json::json!({
            "begin_date": format_date(range.begin),
            "end_date": format_date(range.end),
        });
        let bytes = self
            .http
            .wechat_body(api, self.http.post(url).json(&body))
            .await?;
        Report::parse(endpoint, &bytes).map_err(|e| transport::invalid_json(api, e.to_string()))
    }
}

fn refused(endpoint: Endpoint, message: String) -> Error {
    Error::Request {
        api: endpoint.name().into(),
        message,
    }
}

/// Full jitter: uniform in `[0, min(cap, base * 2^retry)]`, so a crowd of retries spreads out.
fn backoff(base: Duration, retry: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << retry.min(20))
        .min(MAX_BACKOFF.max(base));
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::random_range(0..=nanos))
}

mod quota;
pub use quota::{ApiQuota, QUOTA_API, QUOTA_PATH};

#[cfg(test)]
mod tests;
