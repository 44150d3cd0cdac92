//! The signed probe of an account's callback server: what WeChat sends, what counts as an answer,
//! and the reasons a probe fails. Results go to a [`ProbeSink`] (the metrics store); this module
//! knows nothing of Prometheus.
//!
//! The datacube callback report describes yesterday; this probe finds a broken callback server in
//! minutes. The URL check (`GET ?signature&timestamp&nonce&echostr`, answered by echoing `echostr`)
//! has no side effect on the account, so it is the default; the message probe POSTs a text
//! message as a follower would send it and is opt-in because the server handles it as one.

pub mod crypto;
mod message;
mod runner;
pub mod signature;

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use message::field as message_field;
pub use runner::ProbeSet;

use crate::config::{CallbackProbeConfig, MessageMode};
use crypto::AesKey;

/// Why a probe failed; a fixed set, so every reason can be counted from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureReason {
    /// No complete answer within the timeout (WeChat gives up after 5 s).
    Timeout,
    /// An HTTP status other than 200 (and other than 401/403).
    Status,
    /// HTTP 200, but not the answer WeChat expects (the echostr, or a valid message reply).
    WrongEcho,
    /// The TLS handshake failed (untrusted or expired certificate, wrong host name...).
    Tls,
    /// The host name did not resolve.
    Dns,
    /// The TCP connection was refused or reset.
    Connect,
    /// HTTP 401 or 403: the server checked the signature and rejected it (a Token mismatch).
    SignatureRejected,
}

impl FailureReason {
    /// Every reason, in label order.
    pub const ALL: [FailureReason; 7] = [
        FailureReason::Timeout,
        FailureReason::Status,
        FailureReason::WrongEcho,
        FailureReason::Tls,
        FailureReason::Dns,
        FailureReason::Connect,
        FailureReason::SignatureRejected,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Timeout => "timeout",
            FailureReason::Status => "status",
            FailureReason::WrongEcho => "wrong_echo",
            FailureReason::Tls => "tls",
            FailureReason::Dns => "dns",
            FailureReason::Connect => "connect",
            FailureReason::SignatureRejected => "signature_rejected",
        }
    }
}

/// The result of one probe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// How long the slowest request of the probe took (WeChat's 5 s apply to each request).
    pub duration: Duration,
    /// `None` when the server answered as WeChat expects.
    pub failure: Option<FailureReason>,
}

impl Outcome {
    /// Whether the probe succeeded.
    pub fn success(&self) -> bool {
        self.failure.is_none()
    }
}

/// Where probe results go (the metrics store implements it).
pub trait ProbeSink: Send + Sync {
    /// The account is probed from now on: its series start (failure counters at 0).
    fn probe_added(&self, account: &str);
    /// One probe finished.
    fn probe_result(&self, account: &str, outcome: &Outcome);
    /// The account is no longer probed: its probe series go.
    fn probe_removed(&self, account: &str);
}

/// One account's probe: its settings and HTTP client.
pub struct Prober {
    url: Url,
    token: SecretString,
    timeout: Duration,
    message: Option<(MessageMode, Option<AesKey>)>,
    app_id: String,
    http: reqwest::Client,
}

/// The HTTP client of every probe: one connection pool and one TLS configuration for all
/// accounts (a client each cost 1000 accounts about 160 MB and seconds of CPU building them;
/// docs/benchmarks.md, "Callback probes"). Each request carries its probe's timeout.
fn shared_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                // WeChat does not follow redirects: a redirect is a wrong status.
                .redirect(reqwest::redirect::Policy::none())
                // A probe a minute gains nothing from keep-alive, and no idle connection can
                // outlive the runtime that opened it (tests run one runtime each).
                .pool_max_idle_per_host(0)
                .user_agent(concat!(
                    "wechat-mp-exporter/",
                    env!("CARGO_PKG_VERSION"),
                    " probe"
                ))
                .build()
                .expect("the probe's HTTP client builds")
        })
        .clone()
}

/// A body longer than this is not an echo or a message reply; reading stops there.
const MAX_BODY: usize = 64 * 1024;

impl Prober {
    /// The probe of `app_id`'s callback server as configured.
    pub fn new(config: &CallbackProbeConfig, app_id: &str) -> Prober {
        let key = config.encoding_aes_key.clone();
        Prober {
            url: config.url.clone(),
            token: config.token.clone(),
            timeout: config.timeout,
            message: config.message_probe.then_some((config.message_mode, key)),
            app_id: app_id.to_string(),
            http: shared_client(),
        }
    }

    /// Runs the URL check and, if enabled, the message probe; the first failure ends the probe.
    pub async fn probe(&self) -> Outcome {
        let timestamp = unix_now().to_string();
        let nonce = rand::random::<u32>().to_string();
        let echostr = rand::random::<u64>().to_string();
        let sig = signature::signature(self.token.expose_secret(), &timestamp, &nonce);
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("signature", &sig)
            .append_pair("timestamp", &timestamp)
            .append_pair("nonce", &nonce)
            .append_pair("echostr", &echostr);
        let (duration, answer) = self.send(self.http.get(url)).await;
        let failure = match answer {
            Ok(body) if body == echostr.as_bytes() => None,
            Ok(_) => Some(FailureReason::WrongEcho),
            Err(reason) => Some(reason),
        };
        let Some((mode, key)) = &self.message else {
            return Outcome { duration, failure };
        };
        if failure.is_some() {
            return Outcome { duration, failure };
        }
        let msg = message::Message::new(*mode, key.as_ref(), &self.app_id);
        let (request, check) = msg.request(&self.http, &self.url, self.token.expose_secret());
        let (message_duration, answer) = self.send(request).await;
        Outcome {
            duration: duration.max(message_duration),
            failure: match answer {
                Ok(body) if check.accepts(&body) => None,
                Ok(_) => Some(FailureReason::WrongEcho),
                Err(reason) => Some(reason),
            },
        }
    }

    /// Sends one request; a 200 answer's body (at most `MAX_BODY`), or why it failed.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (Duration, Result<Vec<u8>, FailureReason>) {
        let start = Instant::now();
        // One timer for the whole exchange (connect, answer, body), as WeChat's 5 s: reqwest's
        // own timeout on top would only arm a second one per probe.
        let answer = tokio::time::timeout(self.timeout, async {
            let mut response = request.send().await.map_err(|e| classify(&e))?;
            match response.status().as_u16() {
                200 => {}
                401 | 403 => return Err(FailureReason::SignatureRejected),
                _ => return Err(FailureReason::Status),
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    return Err(FailureReason::WrongEcho);
                }
            }
            Ok(body)
        })
        .await
        .unwrap_or(Err(FailureReason::Timeout));
        (start.elapsed(), answer)
    }
}

/// The reason of a failed request, from reqwest's error and its causes.
fn classify(error: &reqwest::Error) -> FailureReason {
    if error.is_timeout() {
        return FailureReason::Timeout;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if is_tls(e) {
            return FailureReason::Tls;
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return FailureReason::Dns;
        }
        if text.contains("certificate") || text.contains("handshake") {
            return FailureReason::Tls;
        }
        cause = e.source();
    }
    if error.is_connect() || error.is_request() {
        FailureReason::Connect
    } else {
        FailureReason::Status
    }
}

/// A rustls error, directly or inside an `io::Error` (whose `source` skips its inner error).
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<rustls::Error>().is_some()
        || e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
