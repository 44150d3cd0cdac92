//! The exporter-toolkit web configuration file (`--web.config.file`): parsing and validating the
//! YAML, and serving the router with TLS, basic auth, security headers and a rate limit.
//!
//! Format: `docs/web-configuration.md` of prometheus/exporter-toolkit (summary in
//! docs/web-config.md). Unlike the toolkit the file is read once at start; only the certificate,
//! key and client CA files are re-read (every [`CERT_RELOAD_INTERVAL`]) so rotation needs no restart.

mod auth;
mod headers;
mod limits;
mod rate_limit;
mod tls;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::middleware;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use limits::LimitAcceptor;
pub use limits::ServerLimits;

/// How long in-flight requests may run on after shutdown is asked for.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the certificate, key and client CA files are checked for changes.
pub const CERT_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// A parsed, validated web configuration file.
pub struct WebConfig {
    tls: Option<Arc<tls::Tls>>,
    http2: bool,
    headers: Arc<headers::Headers>,
    auth: Option<Arc<auth::BasicAuth>>,
    rate_limit: Option<Arc<rate_limit::RateLimiter>>,
}

// Hand-written so bcrypt hashes and inline keys can never reach a log through `{:?}`.
impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls)
            .field("http2", &self.http2)
            .field("headers", &self.headers)
            .field("basic_auth_users", &self.auth.as_ref().map(|a| a.users()))
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl WebConfig {
    /// Reads and validates the file. Relative file names inside it are taken relative to the
    /// file's own directory (as the toolkit does). TLS material is loaded here, so a bad
    /// certificate or key fails at start.
    pub fn load(path: &Path) -> anyhow::Result<WebConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        WebConfig::parse(&text, base)
    }

    /// Parses YAML text; `base` is the directory relative file names are resolved against.
    pub fn parse(text: &str, base: &Path) -> anyhow::Result<WebConfig> {
        // An empty file (or one with only comments) is valid and means "plain HTTP, no auth".
        let raw: Option<RawConfig> = serde_yaml_ng::from_str(text).context("invalid YAML")?;
        let raw = raw.unwrap_or_default();

        let http = raw.http_server_config.unwrap_or_default();
        let http2 = http.http2.unwrap_or(true);
        let tls = match raw.tls_server_config {
            Some(raw_tls) => tls::Settings::from_raw(raw_tls, base)
                .context("tls_server_config")?
                .map(|settings| tls::Tls::load(settings.with_http2(http2)).map(Arc::new))
                .transpose()
                .context("tls_server_config")?,
            None => None,
        };
        let headers = headers::Headers::from_raw(http.headers.unwrap_or_default())
            .context("http_server_config.headers")?;
        let users = raw.basic_auth_users.unwrap_or_default();
        let auth = if users.is_empty() {
            None
        } else {
            Some(Arc::new(
                auth::BasicAuth::new(users).context("basic_auth_users")?,
            ))
        };
        let rate_limit = match raw.rate_limit {
            Some(r) => rate_limit::RateLimiter::from_raw(r)
                .context("rate_limit")?
                .map(Arc::new),
            None => None,
        };
        Ok(WebConfig {
            tls,
            http2,
            headers: Arc::new(headers),
            auth,
            rate_limit,
        })
    }

    #[cfg(test)]
    /// Whether connections are served over TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    #[cfg(test)]
    /// Whether HTTP/2 is offered (over TLS only, as in the toolkit).
    pub fn http2(&self) -> bool {
        self.http2
    }

    #[cfg(test)]
    /// Whether requests need basic auth.
    pub fn basic_auth_enabled(&self) -> bool {
        self.auth.is_some()
    }

    #[cfg(test)]
    /// Re-reads the certificate, key and client CA files now and switches to them if they
    /// changed. `Ok(true)`: switched; `Ok(false)`: nothing to do (unchanged, inline material, no
    /// TLS, or the same broken files as last time). On error the previous certificate stays.
    pub fn reload_certificates(&self) -> anyhow::Result<bool> {
        match &self.tls {
            Some(tls) => tls.reload_if_changed(),
            None => Ok(false),
        }
    }
}

/// Wraps `router` in basic auth and the configured response headers, if any.
///
/// Order, outermost first: headers (so they are on 401 and 429 answers too), rate limit, basic
/// auth, routes. Unmatched paths are covered as well.
pub fn apply(router: Router, web: Option<&WebConfig>) -> Router {
    let Some(web) = web else {
        return router;
    };
    let mut router = router;
    if let Some(auth) = &web.auth {
        router = router.layer(middleware::from_fn_with_state(
            auth.clone(),
            auth::require_basic_auth,
        ));
    }
    if let Some(limiter) = &web.rate_limit {
        router = router.layer(middleware::from_fn_with_state(
            limiter.clone(),
            rate_limit::limit,
        ));
    }
    if !web.headers.is_empty() {
        router = router.layer(middleware::from_fn_with_state(
            web.headers.clone(),
            headers::add_headers,
        ));
    }
    router
}

/// Serves `router` on `listener` (TLS when configured) until `shutdown` completes, then drains:
/// no new connections, in-flight requests get up to [`DRAIN_TIMEOUT`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    web: Option<Arc<WebConfig>>,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let handle = axum_server::Handle::<SocketAddr>::new();
    // Cancelled on shutdown or when this function returns, whichever is first: it ends the
    // helper tasks below.
    let stop = CancellationToken::new();
    let _stop_on_return = stop.clone().drop_guard();
    tokio::spawn({
        let handle = handle.clone();
        let stop = stop.clone();
        async move {
            tokio::select! {
                () = shutdown => {}
                () = stop.cancelled() => return,
            }
            stop.cancel();
            handle.graceful_shutdown(Some(DRAIN_TIMEOUT));
        }
    });

    let mut server = axum_server::Server::from_listener(listener)
        .handle(handle)
        // Bounds a new connection until its first request, protocol detection included.
        .first_request_timeout(limits.header_read_timeout)
        .accept_error_handler(|peer: Option<&SocketAddr>, e: &io::Error| {
            // Mostly failed TLS handshakes (plain HTTP to the TLS port, untrusted client certs).
            tracing::debug!(peer = ?peer, error = %e, "connection rejected");
        });
    // Bounds the headers of every later request on a kept-alive connection.
    server
        .http_builder()
        .http1()
        .header_read_timeout(limits.header_read_timeout);
    let router = router.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        limits.request_timeout,
    ));
    let app = router.into_make_service();
    let limit = LimitAcceptor::new(
        axum_server::accept::DefaultAcceptor::new(),
        limits.max_connections,
    );
    match web.as_ref().and_then(|w| w.tls.clone()) {
        Some(tls) => {
            tokio::spawn(tls::watch(tls.clone(), stop.clone()));
            let server = server.acceptor(
                axum_server::tls_rustls::RustlsAcceptor::new(tls.rustls_config())
                    .handshake_timeout(limits.header_read_timeout)
                    .acceptor(limit),
            );
            let http2 = web.as_ref().is_some_and(|w| w.http2);
            if http2 {
                server.serve(app).await
            } else {
                server.http1_only().serve(app).await
            }
        }
        // The toolkit offers HTTP/2 only over TLS; plain connections speak HTTP/1.1.
        None => server.acceptor(limit).http1_only().serve(app).await,
    }
}

/// The file as written; validated into [`WebConfig`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: Option<RawHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, SecretString>>,
    #[serde(default)]
    rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    #[serde(default)]
    cert: Option<SecretString>,
    #[serde(default)]
    key: Option<SecretString>,
    #[serde(default)]
    client_ca: Option<SecretString>,
    #[serde(default)]
    cert_file: Option<PathBuf>,
    #[serde(default)]
    key_file: Option<PathBuf>,
    #[serde(default)]
    client_ca_file: Option<PathBuf>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_allowed_sans: Option<Vec<String>>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    // Go-specific tuning: rustls picks safe suites and curves itself. Accepted so toolkit
    // files load unchanged; a warning says they have no effect.
    #[serde(default)]
    cipher_suites: Option<IgnoredAny>,
    #[serde(default)]
    curve_preferences: Option<IgnoredAny>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default)]
    http2: Option<bool>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    #[serde(default, with = "humantime_serde")]
    interval: Option<Duration>,
    #[serde(default)]
    burst: Option<u32>,
}

#[cfg(test)]
mod tests;
