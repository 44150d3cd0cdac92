//! The HTTP surface: `/metrics` (pre-encoded bytes in the negotiated format, gzipped when asked),
//! the status page (`/`, `/account/NAME`, `/api/v1/status`), `/-/healthy`, `/-/ready`.
//!
//! Handlers only read what the scheduler already published; a scrape never waits on WeChat.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use futures::future::BoxFuture;
use jiff::Timestamp;

use crate::metrics::Store;

mod negotiate;
use crate::status_page::{self, AccountQuery, StatusBoard, StatusJson};

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
        .route("/account/{name}", get(account))
        .route("/api/v1/status", get(status_json))
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
    // A small answer is one chunk, joined once per change (`metrics::JOIN_PLAIN_BELOW`, 1 MiB,
    // and `JOIN_GZIP_BELOW`, 4 MiB).
    let body = if let [one] = &chunks[..] {
        Body::from(one.clone())
    } else {
        Body::from_stream(futures::stream::iter(
            chunks.into_iter().map(Ok::<_, std::convert::Infallible>),
        ))
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
            (
                header::VARY,
                HeaderValue::from_static("accept, accept-encoding"),
            ),
        ],
        body,
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

/// `/`: the status page (see `status_page::page`).
async fn landing(State(state): State<AppState>, Query(query): Query<AccountQuery>) -> Html<String> {
    Html(status_page::index_page(
        &state.board,
        &state.telemetry_path,
        &query,
        Timestamp::now(),
    ))
}

/// `/account/NAME`: one account's page; 404 for an account the exporter does not poll.
async fn account(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match status_page::account_page(&state.board, &state.telemetry_path, &name, Timestamp::now()) {
        Some(page) => Html(page).into_response(),
        None => (StatusCode::NOT_FOUND, "No such account.\n").into_response(),
    }
}

/// `/api/v1/status`: the status page's facts as JSON.
async fn status_json(State(state): State<AppState>) -> Json<StatusJson> {
    Json(StatusJson::new(&state.board, Timestamp::now()))
}
