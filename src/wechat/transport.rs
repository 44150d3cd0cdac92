//! The HTTP layer every WeChat call goes through: the shared `reqwest` client, request URLs under
//! the API base, the one reader of WeChat bodies, and the observer told about every call. The
//! datacube client and the token sources both build on this module; neither imports the other's
//! transport.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use url::Url;

use super::error::Error;

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

/// Connecting must not take the whole request budget.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared HTTP client (rustls, no OpenSSL).
///
/// No redirects (a redirect could carry the token elsewhere) and no proxy taken from the
/// environment (an `HTTP_PROXY` would see every token in the query string).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    try_http_client(timeout).expect("the TLS backend of the HTTP client failed to initialise")
}

/// `http_client`, with the (environmental, not input-driven) build failure as a value.
pub fn try_http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .user_agent(concat!("wechat-mp-exporter/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
}

/// `{base}{path}`, keeping any path prefix of the base (a reverse proxy, the simulator).
pub(crate) fn api_url(base: &Url, path: &str, api: &str) -> Result<Url, Error> {
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    Url::parse(&joined).map_err(|e| Error::Request {
        api: api.into(),
        message: format!("cannot build the request URL from the API base URL: {e}"),
    })
}

/// Why a request produced no body.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Sending or reading failed (the error still holds the URL: map it with `Error::transport`).
    Transport(reqwest::Error),
    /// A status other than 2xx.
    Status(u16),
}

/// Sends `request` and reads the whole body of a 2xx answer.
pub(crate) async fn read_body(request: reqwest::RequestBuilder) -> Result<Bytes, Failure> {
    let response = request.send().await.map_err(Failure::Transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(Failure::Status(status.as_u16()));
    }
    response.bytes().await.map_err(Failure::Transport)
}

/// Only the error fields; success bodies have no `errcode` (or 0).
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
}

/// A WeChat answer to `api`: the body of a 2xx answer that is JSON and carries no non-zero
/// `errcode` (WeChat reports errors as HTTP 200 with `{"errcode","errmsg"}`).
pub(crate) async fn wechat_body(
    api: &str,
    request: reqwest::RequestBuilder,
) -> Result<Bytes, Error> {
    let bytes = read_body(request).await.map_err(|f| match f {
        Failure::Transport(e) => Error::transport(api, e),
        Failure::Status(status) => Error::Http {
            api: api.into(),
            status,
        },
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

/// The error for a body that is not what `api` answers.
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
}
