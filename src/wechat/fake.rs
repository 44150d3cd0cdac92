//! A tiny scriptable fake of WeChat's token and datacube endpoints for the client's unit tests
//! (the full simulator lives in `crate::simulator`). It records every request it sees.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use url::Url;

use crate::wechat::Endpoint;
use crate::wechat::date::{DateRange, format_date};
use crate::wechat::transport::CallObserver;

/// The token every token endpoint hands out.
pub const FAKE_TOKEN: &str = "TOKEN-SECRET-123";

/// How the fake answers a datacube call.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `{"list":[{"ref_date": d}, ...]}`, one row per requested day (plus `is_delay: false` on the
    /// published-content endpoints).
    Rows,
    /// As `Rows`, with `is_delay: true`.
    Delayed,
    /// HTTP 200 `{"errcode": N, "errmsg": ...}`.
    Errcode(i64),
    /// That HTTP status, empty body.
    Status(u16),
    /// This body verbatim.
    Raw(&'static str),
}

/// One datacube request as the fake saw it.
#[derive(Debug, Clone)]
pub struct DataCall {
    pub api: String,
    pub path: String,
    pub begin: String,
    pub end: String,
    pub token: Option<String>,
    pub user_agent: String,
}

#[derive(Default)]
struct Inner {
    stable_bodies: Vec<Value>,
    classic_queries: Vec<HashMap<String, String>>,
    central_keys: Vec<String>,
    token_reply: Option<Value>,
    token_status: Option<u16>,
    token_delay: Option<Duration>,
    expires_in: Option<i64>,
    data_calls: Vec<DataCall>,
    script: VecDeque<Reply>,
    default_reply: Option<Reply>,
}

type Shared = Arc<Mutex<Inner>>;

pub struct Fake {
    addr: SocketAddr,
    inner: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Fake {
    /// Serves on 127.0.0.1, a port chosen by the OS.
    pub async fn start() -> Fake {
        let inner: Shared = Arc::default();
        let router = Router::new()
            .route("/cgi-bin/stable_token", post(stable_token))
            .route("/cgi-bin/token", get(classic_token))
            .route("/central/token", get(central_token))
            .route("/datacube/{name}", post(datacube))
            .route("/{prefix}/datacube/{name}", post(prefixed_datacube))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Fake {
            addr,
            inner,
            server,
        }
    }

    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr)).unwrap()
    }

    /// The URL of a port that was just free: connecting to it is refused.
    pub fn closed_port_url(&self) -> Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        Url::parse(&format!("http://{addr}/")).unwrap()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    pub fn set_token_delay(&self, delay: Duration) {
        self.lock().token_delay = Some(delay);
    }
    pub fn set_expires_in(&self, secs: i64) {
        self.lock().expires_in = Some(secs);
    }
    /// Every token endpoint answers this body instead of a token (`None`: tokens again).
    pub fn set_token_reply(&self, reply: Option<Value>) {
        self.lock().token_reply = reply;
    }
    /// Every token endpoint answers this HTTP status with an empty body.
    pub fn set_token_status(&self, status: u16) {
        self.lock().token_status = Some(status);
    }
    /// Datacube answers used in order, before the default.
    pub fn push_data_replies(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }
    /// The datacube answer once the script is used up (initially `Rows`).
    pub fn set_default_reply(&self, reply: Reply) {
        self.lock().default_reply = Some(reply);
    }

    pub fn stable_token_calls(&self) -> usize {
        self.lock().stable_bodies.len()
    }
    pub fn stable_bodies(&self) -> Vec<Value> {
        self.lock().stable_bodies.clone()
    }
    pub fn classic_queries(&self) -> Vec<HashMap<String, String>> {
        self.lock().classic_queries.clone()
    }
    pub fn central_keys(&self) -> Vec<String> {
        self.lock().central_keys.clone()
    }
    pub fn data_calls(&self) -> Vec<DataCall> {
        self.lock().data_calls.clone()
    }
}

/// The configured token answer, after the configured delay.
async fn token_answer(inner: &Shared) -> Response {
    let (delay, status, reply, expires_in) = {
        let g = inner.lock().unwrap();
        (
            g.token_delay,
            g.token_status,
            g.token_reply.clone(),
            g.expires_in,
        )
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = status {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    let body = reply.unwrap_or_else(
        || json!({"access_token": FAKE_TOKEN, "expires_in": expires_in.unwrap_or(7200)}),
    );
    axum::Json(body).into_response()
}

async fn stable_token(State(inner): State<Shared>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inner.lock().unwrap().stable_bodies.push(body);
    token_answer(&inner).await
}

async fn classic_token(
    State(inner): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    inner.lock().unwrap().classic_queries.push(query);
    token_answer(&inner).await
}

async fn central_token(
    State(inner): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let key = query.get("key").cloned().unwrap_or_default();
    inner.lock().unwrap().central_keys.push(key);
    token_answer(&inner).await
}

async fn prefixed_datacube(
    state: State<Shared>,
    Path((_prefix, name)): Path<(String, String)>,
    query: Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    datacube(state, Path(name), query, uri, headers, body).await
}

async fn datacube(
    State(inner): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |key: &str| body[key].as_str().unwrap_or_default().to_string();
    let call = DataCall {
        api: name.clone(),
        path: uri.path().to_string(),
        begin: text("begin_date"),
        end: text("end_date"),
        token: query.get("access_token").cloned(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    };
    let reply = {
        let mut g = inner.lock().unwrap();
        g.data_calls.push(call.clone());
        g.script
            .pop_front()
            .or_else(|| g.default_reply.clone())
            .unwrap_or(Reply::Rows)
    };
    let rows = |is_delay: bool| {
        let range = call
            .begin
            .parse()
            .ok()
            .zip(call.end.parse().ok())
            .and_then(|(b, e)| DateRange::new(b, e));
        let Some(range) = range else {
            return axum::Json(json!({"errcode": 61500, "errmsg": "date format error"}))
                .into_response();
        };
        let list: Vec<Value> = range
            .days()
            .map(|d| json!({"ref_date": format_date(d)}))
            .collect();
        let published = name
            .parse::<Endpoint>()
            .is_ok_and(|e| e.is_published_content());
        let body = if published {
            json!({"list": list, "is_delay": is_delay})
        } else {
            json!({"list": list})
        };
        axum::Json(body).into_response()
    };
    match reply {
        Reply::Rows => rows(false),
        Reply::Delayed => rows(true),
        Reply::Errcode(code) => {
            axum::Json(json!({"errcode": code, "errmsg": format!("fake error {code} rid: 0-0-0")}))
                .into_response()
        }
        Reply::Status(status) => StatusCode::from_u16(status).unwrap().into_response(),
        Reply::Raw(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
    }
}

/// Records what the client reports to its observer.
#[derive(Default)]
pub struct Recorder {
    api: Mutex<Vec<(String, String)>>,
    token: Mutex<Vec<(String, String)>>,
}

impl Recorder {
    pub fn api_calls(&self) -> Vec<(String, String)> {
        self.api.lock().unwrap().clone()
    }
    pub fn token_fetches(&self) -> Vec<(String, String)> {
        self.token.lock().unwrap().clone()
    }
}

impl CallObserver for Recorder {
    fn api_call(&self, api: &str, errcode_label: &str) {
        self.api
            .lock()
            .unwrap()
            .push((api.into(), errcode_label.into()));
    }
    fn token_fetch(&self, source_kind: &str, errcode_label: &str) {
        self.token
            .lock()
            .unwrap()
            .push((source_kind.into(), errcode_label.into()));
    }
}
