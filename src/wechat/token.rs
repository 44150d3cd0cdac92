//! Access-token sources (stable, classic, file, URL, third-party platform) and the per-account
//! token cache.
//!
//! The cache fetches at most once at a time (single flight), keeps a token until shortly before it
//! expires, and never force-refreshes: a forced refresh would log out every other server that uses
//! the account (docs/datacube-api.md, "Tokens"). Token values and secrets never reach logs or errors.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::error::Error;
use super::transport::{self, CallObserver, Failure, Http, api_url};
use crate::clock::SharedClock;

/// WeChat rotates a token 5 minutes before it expires; stop using it then.
const EXPIRY_MARGIN_SECS: i64 = 300;
/// Shortest time a token is cached, whatever `expires_in` says.
const MIN_CACHE_SECS: i64 = 60;
/// Longest `expires_in` believed: WeChat's tokens live 2 h; a bigger value is a broken source.
const MAX_EXPIRES_IN_SECS: i64 = 86_400;
/// WeChat's documented lifetime, assumed when a WeChat token endpoint omits `expires_in`.
const WECHAT_EXPIRES_IN_SECS: i64 = 7_200;
/// How long a token read from a file is used while the file has no usable token (it is read on
/// every call; see `get_from_file`).
const FILE_REREAD_SECS: i64 = 60;

/// A token and when the cache stops using it.
#[derive(Clone)]
pub struct AccessToken {
    /// The token (never logged).
    pub value: SecretString,
    /// When the cache stops using it.
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
        /// The account's app id.
        app_id: String,
        /// The account's app secret.
        secret: SecretString,
    },
    /// `GET /cgi-bin/token`: only when this exporter owns the account's token.
    Classic {
        /// The account's app id.
        app_id: String,
        /// The account's app secret.
        secret: SecretString,
    },
    /// A file kept up to date by a central token server.
    File(PathBuf),
    /// A central token service.
    Url(Url),
    /// A third-party platform's own `component_access_token` (shared by its accounts).
    ComponentToken(Arc<component::Platform>),
    /// An account authorised to a third-party platform: `api_authorizer_token`.
    Authorizer(Arc<component::Authorizer>),
}

impl TokenSource {
    /// The `source` label of `wechat_mp_token_fetches_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenSource::Stable { .. } => "stable",
            TokenSource::Classic { .. } => "classic",
            TokenSource::File(_) => "file",
            TokenSource::Url(_) => "url",
            TokenSource::ComponentToken(_) => "component_token",
            TokenSource::Authorizer(_) => "component",
        }
    }
}

/// Caches one account's token; concurrent callers share one fetch.
pub struct TokenCache {
    source: TokenSource,
    http: Http,
    base_url: Url,
    clock: SharedClock,
    observer: Arc<dyn CallObserver>,
    /// The current token; a plain mutex, never held across an await.
    cached: Mutex<Option<AccessToken>>,
    /// Held across a fetch so that concurrent callers wait for it instead of fetching too.
    fetching: tokio::sync::Mutex<()>,
    /// How long a failed fetch is answered from memory (`with_failure_hold`); `None`: never.
    failure_hold: Option<Duration>,
    /// The last failure and until when it is handed out instead of fetching again.
    failed: Mutex<Option<(Error, Timestamp)>>,
    /// The account whose token this is, for the log lines (`None`: a platform's shared token).
    account: Option<String>,
}

/// The longest a transient failure (network, 5xx, -1) is held: the next try should come soon.
const TRANSIENT_HOLD: Duration = Duration::from_secs(10);

/// What a source answered: the token and how long it says it lives (if it says).
struct Fetched {
    value: String,
    expires_in: Option<i64>,
}

impl TokenCache {
    /// A cache of `source`'s tokens for one account.
    pub fn new(
        source: TokenSource,
        http: Http,
        base_url: Url,
        clock: SharedClock,
        observer: Arc<dyn CallObserver>,
    ) -> Self {
        Self {
            source,
            http,
            base_url,
            clock,
            observer,
            cached: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            failure_hold: None,
            failed: Mutex::new(None),
            account: None,
        }
    }

    /// Names the account in this cache's log lines.
    pub fn for_account(mut self, name: &str) -> Self {
        self.account = Some(name.to_string());
        self
    }

    /// The account this cache belongs to (`None`: a platform's shared token), for log lines.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// Hands a failed fetch's error to every caller for `hold` (transient failures for at most
    /// 10 s) instead of asking again: a token shared by many accounts (a platform's component
    /// token) must not be asked for once per account when it fails.
    pub fn with_failure_hold(mut self, hold: Duration) -> Self {
        self.failure_hold = Some(hold);
        self
    }

    /// The source this cache asks.
    pub fn source(&self) -> &TokenSource {
        &self.source
    }

    /// The cached token, fetching one if there is none or it is about to expire.
    pub async fn get(&self) -> Result<AccessToken, Error> {
        self.get_for(self.observer.as_ref()).await
    }

    /// `get`, with a fetch it makes reported to `observer` (the account that needed it, when
    /// the cache is shared by several).
    pub(crate) async fn get_for(&self, observer: &dyn CallObserver) -> Result<AccessToken, Error> {
        if let TokenSource::File(path) = &self.source {
            return self.get_from_file(path, observer).await;
        }
        self.get_with(observer, self.fetch(observer)).await
    }

    /// `get_for` of a source that needs no other cache (the platform's own token, which an
    /// authorizer's fetch asks for: this keeps that call from being recursive).
    pub(crate) async fn get_direct_for(
        &self,
        observer: &dyn CallObserver,
    ) -> Result<AccessToken, Error> {
        self.get_with(observer, self.fetch_direct()).await
    }

    async fn get_with(
        &self,
        observer: &dyn CallObserver,
        fetch: impl Future<Output = Result<Fetched, Error>>,
    ) -> Result<AccessToken, Error> {
        if let Some(answer) = self.answer_from_memory() {
            return answer;
        }
        let _flight = self.fetching.lock().await;
        // Whoever held the lock before us may have fetched (or failed) already.
        if let Some(answer) = self.answer_from_memory() {
            return answer;
        }
        let kind = self.source.kind();
        let result = fetch.await;
        match &result {
            Ok(_) => observer.token_fetch(kind, "0"),
            Err(e) => {
                observer.token_fetch(kind, &e.label());
                tracing::warn!(account = self.account.as_deref(),
                token_source = kind, error = %e, "access token fetch failed");
                self.hold(e);
            }
        }
        let fetched = result?;
        *self.lock_failed() = None;
        let token = self.remember(fetched);
        Ok(token)
    }

    fn answer_from_memory(&self) -> Option<Result<AccessToken, Error>> {
        if let Some(token) = self.valid_cached() {
            return Some(Ok(token));
        }
        let now = self.clock.now();
        let failed = self.lock_failed();
        failed
            .as_ref()
            .filter(|(_, until)| *until > now)
            .map(|(e, _)| Err(e.clone()))
    }

    fn hold(&self, e: &Error) {
        let Some(hold) = self.failure_hold else {
            return;
        };
        let hold = if e.class() == super::error::ErrorClass::Transient {
            hold.min(TRANSIENT_HOLD)
        } else {
            hold
        };
        let now = self.clock.now();
        let until = SignedDuration::try_from(hold)
            .ok()
            .and_then(|d| now.checked_add(d).ok())
            .unwrap_or(now);
        *self.lock_failed() = Some((e.clone(), until));
    }

    fn lock_failed(&self) -> MutexGuard<'_, Option<(Error, Timestamp)>> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A token file is read on every call (a few bytes on a local disk), so a token the central
    /// server rewrote, by rename or in place, is used from the next call on; no modification time
    /// is trusted (in-place rewrites can keep it). A read that finds no usable token (the file
    /// caught between truncate and write, half-written JSON) keeps the last good token while its
    /// 60 s last; after that the error is the caller's.
    async fn get_from_file(
        &self,
        path: &std::path::Path,
        observer: &dyn CallObserver,
    ) -> Result<AccessToken, Error> {
        let kind = self.source.kind();
        let read = read_token_file(path).await;
        let cached = self.valid_cached();
        match (read, cached) {
            (Ok(fetched), Some(token)) if fetched.value == token.value.expose_secret() => Ok(token),
            (Ok(fetched), _) => {
                observer.token_fetch(kind, "0");
                Ok(self.remember(fetched))
            }
            (Err(e), Some(token)) => {
                tracing::debug!(account = self.account.as_deref(),
                token_source = kind, error = %e, "token file has no usable token now; keeping the last one read");
                Ok(token)
            }
            (Err(e), None) => {
                observer.token_fetch(kind, &e.label());
                tracing::warn!(account = self.account.as_deref(),
                token_source = kind, error = %e, "access token fetch failed");
                Err(e)
            }
        }
    }

    /// Drops the cached token if it is still `failed` (another caller may have replaced it).
    pub fn invalidate(&self, failed: &AccessToken) {
        let mut cached = self.lock_cached();
        let same = cached
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == failed.value.expose_secret());
        if same {
            *cached = None;
            tracing::debug!(
                token_source = self.source.kind(),
                "access token rejected; dropped from the cache"
            );
        }
    }

    fn lock_cached(&self) -> MutexGuard<'_, Option<AccessToken>> {
        // A panic elsewhere cannot leave an Option half-written, so a poisoned lock is still usable.
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn valid_cached(&self) -> Option<AccessToken> {
        let now = self.clock.now();
        self.lock_cached()
            .as_ref()
            .filter(|t| t.expires_at > now)
            .cloned()
    }

    /// Caches a fetched token for `expires_in - 300 s` (at least 60 s); a file for at most 60 s.
    fn remember(&self, fetched: Fetched) -> AccessToken {
        let kind = self.source.kind();
        let expires_in = fetched.expires_in.map(|s| s.clamp(0, MAX_EXPIRES_IN_SECS));
        let default = match self.source {
            TokenSource::Stable { .. }
            | TokenSource::Classic { .. }
            | TokenSource::ComponentToken(_)
            | TokenSource::Authorizer(_) => WECHAT_EXPIRES_IN_SECS,
            // A central service that does not say how long: ask it again soon.
            TokenSource::File(_) | TokenSource::Url(_) => MIN_CACHE_SECS + EXPIRY_MARGIN_SECS,
        };
        let mut keep = (expires_in.unwrap_or(default) - EXPIRY_MARGIN_SECS).max(MIN_CACHE_SECS);
        if let TokenSource::File(_) = self.source {
            keep = keep.min(FILE_REREAD_SECS);
        }
        let now = self.clock.now();
        let expires_at = now
            .checked_add(SignedDuration::from_secs(keep))
            .unwrap_or(now);
        let token = AccessToken {
            value: SecretString::from(fetched.value),
            expires_at,
        };
        *self.lock_cached() = Some(token.clone());
        // One event, at debug for a file source (read again on every change and every minute).
        macro_rules! token_event {
            ($level:ident, $what:literal) => {
                tracing::$level!(
                    account = self.account.as_deref(),
                    token_source = kind,
                    expires_in,
                    cached_secs = keep,
                    $what
                )
            };
        }
        if let TokenSource::File(_) = self.source {
            token_event!(debug, "access token read");
        } else {
            token_event!(info, "access token fetched");
        }
        token
    }

    async fn fetch(&self, observer: &dyn CallObserver) -> Result<Fetched, Error> {
        match &self.source {
            TokenSource::Authorizer(authorizer) => {
                authorizer.fetch(&self.http, &self.base_url, observer).await
            }
            _ => self.fetch_direct().await,
        }
    }

    async fn fetch_direct(&self) -> Result<Fetched, Error> {
        match &self.source {
            TokenSource::Stable { app_id, secret } => {
                const API: &str = "stable_token";
                let url = api_url(&self.base_url, "/cgi-bin/stable_token", API)?;
                // Normal mode only: force_refresh would invalidate the token of every other server.
                let body = serde_json::json!({
                    "grant_type": "client_credential",
                    "appid": app_id,
                    "secret": secret.expose_secret(),
                    "force_refresh": false,
                });
                let request = self.http.post(url).json(&body);
                wechat_token(&self.http, API, request).await
            }
            TokenSource::Classic { app_id, secret } => {
                const API: &str = "token";
                let mut url = api_url(&self.base_url, "/cgi-bin/token", API)?;
                url.query_pairs_mut()
                    .append_pair("grant_type", "client_credential")
                    .append_pair("appid", app_id)
                    .append_pair("secret", secret.expose_secret());
                wechat_token(&self.http, API, self.http.get(url)).await
            }
            TokenSource::File(path) => read_token_file(path).await,
            TokenSource::Url(url) => self.fetch_url(url).await,
            TokenSource::ComponentToken(platform) => {
                platform.fetch(&self.http, &self.base_url).await
            }
            TokenSource::Authorizer(_) => Err(Error::TokenSource {
                source_kind: "component".into(),
                message: "an authorised account's token cannot stand in for a platform's".into(),
            }),
        }
    }

    async fn fetch_url(&self, url: &Url) -> Result<Fetched, Error> {
        let shown = redact_url(url);
        let fail = |message: String| Error::TokenSource {
            source_kind: "url".into(),
            message: format!("{shown}: {message}"),
        };
        let body = self
            .http
            .read_body(self.http.get(url.clone()))
            .await
            .map_err(|f| match f {
                Failure::Transport(e) => fail(transport_message(e)),
                Failure::Status(status) => fail(format!("HTTP status {status}")),
                Failure::TooLarge => fail(transport::too_large()),
            })?;
        let json: Value =
            serde_json::from_slice(&body).map_err(|e| fail(format!("invalid JSON: {e}")))?;
        if let Some((errcode, errmsg)) = errcode_of(&json) {
            return Err(fail(format!("errcode {errcode} ({errmsg})")));
        }
        token_from_json(&json).map_err(fail)
    }
}

/// Sends a request to a WeChat token endpoint and reads `{"access_token","expires_in"}` or
/// `{"errcode","errmsg"}` (HTTP 200 either way).
async fn wechat_token(
    http: &Http,
    api: &str,
    request: reqwest::RequestBuilder,
) -> Result<Fetched, Error> {
    let body = http.wechat_body(api, request).await?;
    let json: Value =
        serde_json::from_slice(&body).map_err(|e| transport::invalid_json(api, e.to_string()))?;
    token_from_json(&json).map_err(|message| transport::invalid_json(api, message))
}

/// A file holds the bare token or `{"access_token":..,"expires_in":N}`.
async fn read_token_file(path: &std::path::Path) -> Result<Fetched, Error> {
    let fail = |message: String| Error::TokenSource {
        source_kind: "file".into(),
        message: format!("{}: {message}", path.display()),
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let text = text.trim();
    if text.starts_with('{') {
        // Syntax errors from serde_json name a position, never the content.
        let json: Value =
            serde_json::from_str(text).map_err(|e| fail(format!("invalid JSON: {e}")))?;
        return token_from_json(&json).map_err(fail);
    }
    if text.is_empty() {
        return Err(fail("the file is empty".into()));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(fail(
            "expected the bare token or a JSON object, found several words or lines".into(),
        ));
    }
    Ok(Fetched {
        value: text.to_string(),
        expires_in: None,
    })
}

/// A non-zero `errcode` in a JSON body, with its `errmsg`.
fn errcode_of(json: &Value) -> Option<(i64, String)> {
    let errcode = json.get("errcode")?.as_i64()?;
    (errcode != 0).then(|| {
        let errmsg = json
            .get("errmsg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        (errcode, errmsg)
    })
}

/// `{"access_token": "...", "expires_in": N}`; errors never quote the body (it holds the token).
fn token_from_json(json: &Value) -> Result<Fetched, String> {
    token_field_from_json(json, "access_token")
}

/// `{"<key>": "...", "expires_in": N}` (the platform's tokens have their own key names).
fn token_field_from_json(json: &Value, key: &str) -> Result<Fetched, String> {
    let value = json
        .get(key)
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| format!("no non-empty \"{key}\" string in the answer"))?;
    // Some central services send the number as a string.
    let expires_in = match json.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    if json.get("expires_in").is_some_and(|v| !v.is_null()) && expires_in.is_none() {
        return Err("\"expires_in\" is not a number of seconds".into());
    }
    Ok(Fetched {
        value: value.trim().to_string(),
        expires_in,
    })
}

/// A URL fit for an error message: no user info, no query, no fragment (any may hold a key).
fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    // Fails only for URLs that cannot have credentials, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// The text of a reqwest error with the URL removed (via `Error::transport`).
fn transport_message(e: reqwest::Error) -> String {
    match Error::transport("token", e) {
        Error::Transport { message, .. } => message,
        other => other.to_string(),
    }
}

pub mod component;

#[cfg(test)]
mod tests;
