//! The HTTP surface: `/metrics` (pre-encoded bytes in the negotiated format, gzipped when asked), the landing page, `/-/healthy`, `/-/ready`.
//!
//! Handlers only read what the scheduler already published; a scrape never waits on WeChat.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use futures::future::BoxFuture;

use crate::metrics::Store;

mod negotiate;
use crate::status::StatusBoard;

/// Reloads the configuration (`POST /-/reload`); Ok says what changed, Err every problem.
pub trait Reload: Send + Sync {
    fn reload(&self) -> BoxFuture<'_, Result<String, String>>;
}

/// What the handlers read.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub board: Arc<StatusBoard>,
    pub telemetry_path: String,
}

/// The exporter's routes, plus `POST /-/reload` when the exporter runs from a config file.
pub fn router(state: AppState, reloader: Option<Arc<dyn Reload>>) -> Router {
    let mut router = Router::new()
        .route(&state.telemetry_path.clone(), get(metrics_handler))
        .route("/", get(landing))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready));
    if let Some(reloader) = reloader {
        router = router.route("/-/reload", post(move || reload(reloader.clone())));
    }
    router.with_state(state)
}

/// Like Prometheus' `/-/reload`: 200 with what changed, or 400 with every problem (nothing changed).
async fn reload(reloader: Arc<dyn Reload>) -> Response {
    match reloader.reload().await {
        Ok(summary) => (StatusCode::OK, format!("{summary}\n")).into_response(),
        Err(problems) => (StatusCode::BAD_REQUEST, format!("{problems}\n")).into_response(),
    }
}

/// The format `Accept` weighs highest of OpenMetrics (1.0.0, 0.0.1), text (0.0.4, 1.0.0) and
/// protobuf, as Prometheus negotiates it; text 0.0.4 for anything else (`promtool check metrics`,
/// curl, a browser). Gzipped when the client accepts it (Prometheus always does): each block is
/// compressed once per change and sent as its own gzip member.
async fn metrics_handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let exposition = state.store.exposition();
    let choice = negotiate::choose_format(
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let gzip = negotiate::wants_gzip(
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let format = choice.format;
    // Built from fixed strings only (the escaping is one of a known few), never echoed input.
    let Ok(content_type) = HeaderValue::from_str(&choice.content_type) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // The stored bytes plus a few hundred bytes of process metrics, sent as chunks with an exact
    // length: no copy of the (possibly very large) body per scrape. The first scrape of a format
    // after a change encodes (and compresses) it, off the async workers (seconds at 1000 accounts).
    let chunks = if !exposition.is_ready(format, gzip) {
        let e = exposition.clone();
        match tokio::task::spawn_blocking(move || e.response(format, gzip)).await {
            Ok(chunks) => chunks,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    } else {
        exposition.response(format, gzip)
    };
    let length = chunks.iter().map(|c| c.len()).sum::<usize>();
    let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::convert::Infallible>));
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
            (
                header::VARY,
                HeaderValue::from_static("accept, accept-encoding"),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response();
    if gzip {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

async fn healthy() -> &'static str {
    "Healthy.\n"
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.board.is_ready() {
        return (StatusCode::OK, "Ready.\n").into_response();
    }
    let waiting: Vec<String> = state
        .board
        .accounts()
        .iter()
        .filter(|a| !a.is_ready())
        .map(|a| a.name.clone())
        .collect();
    let body = if waiting.is_empty() {
        "Not ready: no accounts yet.\n".to_string()
    } else {
        format!(
            "Not ready: waiting for the first data of {}.\n",
            waiting.join(", ")
        )
    };
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

async fn landing(State(state): State<AppState>) -> Html<String> {
    let mut page = String::with_capacity(4096);
    let path = escape(&state.telemetry_path);
    let _ = write!(
        page,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>WeChat MP Exporter</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}}\
         .down{{color:#b00}}.up{{color:#070}}</style></head><body>\
         <h1>WeChat MP Exporter</h1><p>Version {version}. Values are the latest complete day (UTC+8) \
         of the WeChat datacube reports.</p>\
         <ul><li><a href=\"{path}\">Metrics</a></li><li><a href=\"/-/healthy\">Health</a></li>\
         <li><a href=\"/-/ready\">Readiness</a></li></ul>",
        version = escape(env!("CARGO_PKG_VERSION")),
    );
    for account in state.board.accounts().iter() {
        let (class, word) = match (account.polled, account.up) {
            (false, _) => ("", "not polled yet"),
            (true, true) => ("up", "up"),
            (true, false) => ("down", "down"),
        };
        let _ = write!(
            page,
            "<h2>{}</h2><p class=\"{class}\">{word}</p>",
            escape(&account.name)
        );
        if let Some(stuck) = state.board.stuck(&account.name) {
            let _ = write!(page, "<p class=\"down\">{}</p>", escape(&stuck.describe()));
        }
        page.push_str("<table><tr><th>report</th><th>data date</th><th>last error</th></tr>");
        let mut endpoints: Vec<_> = account
            .data_dates
            .keys()
            .chain(account.last_errors.keys())
            .chain(account.unavailable.keys())
            .copied()
            .collect();
        endpoints.sort();
        endpoints.dedup();
        for e in endpoints {
            let date = account
                .data_dates
                .get(&e)
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into());
            let mut error = account.last_errors.get(&e).cloned().unwrap_or_default();
            if let Some(reason) = account.unavailable.get(&e) {
                error = format!("[stopped: {reason}] {error}");
            }
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.name(),
                escape(&date),
                escape(&error)
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</body></html>");
    Html(page)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
