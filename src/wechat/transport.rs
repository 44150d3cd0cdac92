//! The HTTP layer every WeChat call goes through: the shared `reqwest` client, request URLs under
//! the API base, the one reader of WeChat bodies, and the observer told about every call. The
//! datacube client and the token sources both build on this module; neither imports the other's
//! transport.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use url::Url;

use super::error::Error;
use super::pace::Pace;

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

/// The shared `reqwest` client with the pace its requests keep. It dereferences to the client to
/// build requests; [`Http::read_body`] and [`Http::wechat_body`] send them in turn.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    pace: Pace,
}

impl std::ops::Deref for Http {
    type Target = reqwest::Client;
    fn deref(&self) -> &reqwest::Client {
        &self.client
    }
}

impl Http {
    /// This client with its requests paced by `pace`.
    pub fn paced_by(self, pace: Pace) -> Self {
        Self { pace, ..self }
    }
}

/// Connecting must not take the whole request budget: it gets half of it, at most this. (An
/// unanswered connect then fails as a connect timeout, which the error says, not as a timeout
/// of the whole request.)
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared HTTP client (rustls, no OpenSSL).
///
/// No redirects (a redirect could carry the token elsewhere) and no proxy taken from the
/// environment (an `HTTP_PROXY` would see every token in the query string).
pub fn http_client(timeout: Duration) -> Http {
    try_http_client(timeout).expect("the TLS backend of the HTTP client failed to initialise")
}

/// `http_client`, with the (environmental, not input-driven) build failure as a value.
/// Unpaced until [`Http::paced_by`].
pub fn try_http_client(timeout: Duration) -> Result<Http, reqwest::Error> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout((timeout / 2).min(MAX_CONNECT_TIMEOUT))
        .user_agent(concat!("wechat-mp-exporter/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()?;
    Ok(Http {
        client,
        pace: Pace::default(),
    })
}

/// `{base}{path}`, keeping any path prefix of the base (a reverse proxy, the simulator).
pub(crate) fn api_url(base: &Url, path: &str, api: &str) -> Result<Url, Error> {
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    Url::parse(&joined).map_err(|e| Error::Request {
        api: api.into(),
        message: format!("cannot build the request URL from the API base URL: {e}"),
    })
}

/// Only the error fields; success bodies have no `errcode` (or 0).
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
}

/// Why a request produced no body.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Sending or reading failed (the error still holds the URL: map it with `Error::transport`).
    Transport(reqwest::Error),
    /// A status other than 2xx.
    Status(u16),
    /// The body went on past [`MAX_BODY_BYTES`]; reading stopped there.
    TooLarge,
}

/// The most of one answer that is read. Datacube and token answers are kilobytes (the largest,
/// a month of per-article rows, well under a MiB); a broken or hostile upstream sending more must
/// not grow the process's memory with it.
pub const MAX_BODY_BYTES: usize = 16 << 20;

impl Http {
    /// Sends `request` in its turn and reads the whole body of a 2xx answer.
    pub(crate) async fn read_body(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Bytes, Failure> {
        let turn = self.pace.turn().await;
        let response = request.send().await.map_err(Failure::Transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(Failure::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(Failure::TooLarge);
        }
        // Chunk by chunk, so the cap holds whatever Content-Length says (or without one). The chunks
        // are kept as they come and joined once at the end: a growing buffer would hold its old and
        // new copy at each doubling (about twice the cap at the peak for an answer over it).
        let mut response = response;
        let mut chunks = Vec::new();
        let mut len = 0;
        while let Some(chunk) = response.chunk().await.map_err(Failure::Transport)? {
            len += chunk.len();
            if len > MAX_BODY_BYTES {
                return Err(Failure::TooLarge);
            }
            chunks.push(chunk);
        }
        turn.answered();
        if chunks.len() == 1 {
            return Ok(chunks.swap_remove(0));
        }
        let mut body = bytes::BytesMut::with_capacity(len);
        for chunk in chunks {
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// A WeChat answer to `api`: the body of a 2xx answer that is JSON and carries no non-zero
    /// `errcode` (WeChat reports errors as HTTP 200 with `{"errcode","errmsg"}`).
    pub(crate) async fn wechat_body(
        &self,
        api: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Bytes, Error> {
        let bytes = self.read_body(request).await.map_err(|f| match f {
            Failure::Transport(e) => Error::transport(api, e),
            Failure::Status(status) => Error::Http {
                api: api.into(),
                status,
            },
            Failure::TooLarge => invalid_json(api, too_large()),
        })?;
        let head: ErrorBody =
            serde_json::from_slice(&bytes).map_err(|e| invalid_json(api, e.to_string()))?;
        if let Some(errcode) = head.errcode.filter(|&c| c != 0) {
            return Err(Error::Api {
                api: api.into(),
                errcode,
                errmsg: head.errmsg.unwrap_or_default(),
            });
        }
        Ok(bytes)
    }
}

/// The error for a body that is not what `api` answers.
/// Why an answer over [`MAX_BODY_BYTES`] was dropped, in words.
pub(crate) fn too_large() -> String {
    format!(
        "the answer is larger than {} MiB; stopped reading it",
        MAX_BODY_BYTES >> 20
    )
}

pub(crate) fn invalid_json(api: &str, message: String) -> Error {
    Error::InvalidJson {
        api: api.into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_keep_the_base_path() {
        let base = Url::parse("http://127.0.0.1:1/").unwrap();
        assert_eq!(
            api_url(&base, "/datacube/getusersummary", "x")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:1/datacube/getusersummary"
        );
        let base = Url::parse("https://proxy.example/wx/").unwrap();
        assert_eq!(
            api_url(&base, "/cgi-bin/stable_token", "x")
                .unwrap()
                .as_str(),
            "https://proxy.example/wx/cgi-bin/stable_token"
        );
    }

    /// A 100 MiB answer, streamed without a length: reading stops at the cap, so the server is
    /// never asked for much more than the cap (bounded memory, whatever the upstream sends).
    #[tokio::test]
    async fn a_huge_body_is_cut_at_the_cap() {
        use futures::StreamExt as _;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        const MIB: usize = 1 << 20;
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = sent.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || {
                let counter = counter.clone();
                async move {
                    let chunks = futures::stream::iter(0..100).map(move |_| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, std::io::Error>(Bytes::from(vec![b' '; MIB]))
                    });
                    axum::body::Body::from_stream(chunks)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = http_client(Duration::from_secs(30));
        let err = http
            .wechat_body("getusersummary", http.get(format!("http://{addr}/")))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            Error::InvalidJson {
                api: "getusersummary".into(),
                message: too_large()
            }
            .to_string()
        );
        // The server gets ahead of the reader by what the kernel's socket buffers and hyper's
        // hold (several MiB on loopback), but nowhere near the whole body.
        let chunks = sent.load(Ordering::SeqCst);
        assert!(
            chunks < 64,
            "{chunks} MiB produced: reading should have stopped at {} MiB",
            MAX_BODY_BYTES / MIB
        );
    }
}
