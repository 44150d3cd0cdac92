//! The simulated WeChat API: the 21 datacube endpoints and both token endpoints, with WeChat's rules
//! (T+1 publication at a UTC+8 hour, spans, errcodes, token expiry), deterministic data per account
//! and day, call counting and faults injected on demand.
//!
//! Routes:
//! - `POST /cgi-bin/stable_token` (JSON `{grant_type, appid, secret, force_refresh}`),
//!   `GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..`
//! - `POST /datacube/<name>?access_token=..` (JSON `{begin_date, end_date}`); unknown names: HTTP 404.
//!   Past the daily quota of an API (`set_daily_limit`, default 5000 calls per account, API and
//!   UTC+8 day): 45009.
//! - `POST /cgi-bin/openapi/quota/get?access_token=..` (JSON `{cgi_path}`): that quota, counted
//!   under api `quota_get`.
//! - Control (compose demos, load tests):
//!   - `GET /_sim/calls`: `{"calls":[{"app_id":..,"api":..,"count":..}],
//!     "stable_token_requests":n,"force_refresh_requests":n,"classic_token_requests":n}`
//!   - `POST /_sim/reset`: zeroes every count and clears every fault.
//!   - `POST /_sim/faults` with any of these keys (applied in this order; unknown keys are refused
//!     with HTTP 400):
//!     ```json
//!     {"clear": true,
//!      "fail": [{"api": "getusersummary", "errcode": -1, "times": 2, "app_id": "wx..."}],
//!      "http_status": [{"api": "*", "status": 502, "times": 1}],
//!      "malformed": [{"api": "getusercumulate", "times": 1}],
//!      "delay": [{"api": "getbizsummary", "ms": 3000}],
//!      "body": [{"api": "getusersummary", "fault": "wrong_shape", "times": 1}],
//!      "connections": "refused",
//!      "revoke_tokens": true,
//!      "legacy_articles_offline": true,
//!      "callback_failure_ratio": 0.05}
//!     ```
//!     `times` absent or null = until cleared; `app_id` absent = every account; api `"*"` = every
//!     datacube endpoint; `"callback_failure_ratio": null` removes the override. Body faults:
//!     `wrong_shape`, `garbage`, `huge`, `drip`, `reset`; connections: `open`, `refused`,
//!     `connect_timeout` (see `faults::BodyFault`, `faults::Connections`).
//! - Third-party platforms (`component.rs`): `POST /cgi-bin/component/api_component_token`,
//!   `POST /cgi-bin/component/api_authorizer_token`, `GET /_sim/component/{appid}/ticket`,
//!   `POST /_sim/component`.

pub mod callback;
mod component;
mod control;
mod data;
mod faults;
mod home;
mod ledger;
mod token_endpoints;
mod tokens;
mod wire;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use serde::{Deserialize, Deserializer, Serialize};

use crate::clock::SharedClock;
use crate::wechat::date::{add_days, china_at, china_today};
use crate::wechat::{DateRange, Endpoint, Report};

pub use component::SimComponent;
use control::{control_calls, control_faults, control_reset};
pub use faults::{BodyFault, Connections, Faults};
pub use ledger::DEFAULT_DAILY_LIMIT;
use tokens::Tokens;

/// One simulated Official Account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAccount {
    /// The account's app id.
    pub app_id: String,
    /// The secret its token requests must carry.
    pub app_secret: String,
}

#[derive(Debug, Clone)]
/// What the simulator serves.
pub struct SimConfig {
    /// The simulated accounts.
    pub accounts: Vec<SimAccount>,
    /// UTC+8 time of day from which yesterday's data is published.
    pub publish_at: Time,
    /// Lifetime of issued access tokens (WeChat: 7200 s).
    pub token_ttl: Duration,
}

impl SimConfig {
    /// Three demo accounts, publishing at 09:00 UTC+8: a small (~5k followers), a medium (~80k)
    /// and a large (~1.2M) one, so dashboards look real.
    pub fn demo() -> Self {
        let epoch = jiff::civil::date(2025, 1, 1);
        let accounts = data::DEMO_APP_IDS
            .iter()
            .map(|app_id| SimAccount {
                app_id: app_id.to_string(),
                app_secret: format!(
                    "{:016x}{:016x}",
                    data::seed(app_id, "secret-a", epoch),
                    data::seed(app_id, "secret-b", epoch)
                ),
            })
            .collect();
        SimConfig {
            accounts,
            publish_at: Time::constant(9, 0, 0, 0),
            token_ttl: Duration::from_secs(7200),
        }
    }

    /// `n` accounts named `{prefix}{index:011}`, each secret derived from the index: two
    /// processes (a simulator and an exporter of a benchmark) agree on them without talking.
    pub fn numbered(prefix: &str, n: usize, publish_at: Time) -> Self {
        SimConfig {
            accounts: (0..n)
                .map(|i| SimAccount {
                    app_id: format!("{prefix}{i:011}"),
                    app_secret: format!(
                        "{:032x}",
                        (i as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    ),
                })
                .collect(),
            publish_at,
            token_ttl: Duration::from_secs(7200),
        }
    }
}

/// The latest published China day at `now`: day D is out from (D+1) at `publish_at` UTC+8.
pub fn last_published(now: Timestamp, publish_at: Time) -> Date {
    let today = china_today(now);
    if now >= china_at(today, publish_at) {
        add_days(today, -1)
    } else {
        add_days(today, -2)
    }
}

struct TokenState {
    tokens: Tokens,
    /// `Faults::revocations()` already applied.
    revocations_seen: u64,
}

struct Inner {
    config: SimConfig,
    clock: SharedClock,
    faults: Faults,
    tokens: Mutex<TokenState>,
    calls: Mutex<BTreeMap<(String, String), u64>>,
    /// The access token of the latest datacube request per account.
    last_token: Mutex<BTreeMap<String, String>>,
    stable_requests: AtomicU64,
    force_refresh_requests: AtomicU64,
    classic_requests: AtomicU64,
    callback: callback::CallbackServer,
    platforms: Mutex<component::Platforms>,
    ledger: ledger::Ledger,
}

/// The simulator; clones share all state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No secrets, no tokens.
        f.debug_struct("Simulator")
            .field("accounts", &self.inner.config.accounts.len())
            .field("publish_at", &self.inner.config.publish_at)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters and token tables stay usable after a panicking test thread.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

const JSON: &str = "application/json; encoding=utf-8";

/// WeChat's errmsg for `errcode`, from the client's own table (one description of each code).
fn errmsg(errcode: i64) -> &'static str {
    match crate::wechat::error::lookup(errcode) {
        Some(e) if !e.errmsg.is_empty() => e.errmsg,
        _ => "simulated error",
    }
}

/// `{"errcode":N,"errmsg":"... rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"}`.
fn error_body(errcode: i64) -> Vec<u8> {
    let rid = format!(
        "{:08x}-{:08x}-{:08x}",
        rand::random::<u32>(),
        rand::random::<u32>(),
        rand::random::<u32>()
    );
    serde_json::to_vec(&serde_json::json!({
        "errcode": errcode,
        "errmsg": format!("{} rid: {rid}", errmsg(errcode)),
    }))
    .unwrap_or_default()
}

fn json_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, JSON)], body).into_response()
}

/// Parses `YYYY-MM-DD` exactly (zero-padded, nothing else).
fn parse_wechat_date(v: Option<&serde_json::Value>) -> Option<Date> {
    let s = v?.as_str()?;
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    s.parse().ok()
}

fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

impl Simulator {
    /// A simulator of `config` on `clock` (not yet listening).
    pub fn new(config: SimConfig, clock: SharedClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                clock,
                faults: Faults::default(),
                tokens: Mutex::new(TokenState {
                    tokens: Tokens::default(),
                    revocations_seen: 0,
                }),
                calls: Mutex::new(BTreeMap::new()),
                last_token: Mutex::new(BTreeMap::new()),
                stable_requests: AtomicU64::new(0),
                force_refresh_requests: AtomicU64::new(0),
                classic_requests: AtomicU64::new(0),
                callback: callback::CallbackServer::new(
                    callback::SIM_CALLBACK_TOKEN,
                    Some(callback::SIM_ENCODING_AES_KEY),
                ),
                platforms: Mutex::default(),
                ledger: ledger::Ledger::default(),
            }),
        }
    }

    /// The routes, to serve on a listener of the caller's.
    pub fn router(&self) -> axum::Router {
        Router::new()
            .route("/", get(home::home))
            .route("/cgi-bin/stable_token", post(token_endpoints::stable_token))
            .route("/cgi-bin/token", get(token_endpoints::classic_token))
            .route("/datacube/{name}", any(datacube))
            .route(crate::wechat::client::QUOTA_PATH, post(ledger::quota_get))
            .route("/_sim/calls", get(control_calls))
            .route("/_sim/reset", post(control_reset))
            .route("/_sim/faults", post(control_faults))
            .merge(component::routes())
            .with_state(self.clone())
            .merge(self.inner.callback.router())
    }

    /// The simulated callback server at `/callback/{account}` (Token [`callback::SIM_CALLBACK_TOKEN`]).
    pub fn callback(&self) -> &callback::CallbackServer {
        &self.inner.callback
    }

    /// Binds `addr` (port 0 = OS-chosen), serves in a tokio task, returns the bound address.
    /// The listener obeys `Faults::set_connections` and can reset a request's connection.
    pub async fn spawn(&self, addr: SocketAddr) -> io::Result<SocketAddr> {
        let listener = wire::SimListener::bind(addr, self.inner.faults.watch_connections())?;
        let bound = axum::serve::Listener::local_addr(&listener)?;
        let app = self
            .router()
            .into_make_service_with_connect_info::<wire::ConnHandle>();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        });
        Ok(bound)
    }

    /// Exactly what the HTTP API would answer now (by the injected clock) for a valid request:
    /// unpublished days and days before the endpoint's earliest date are omitted.
    pub fn report(&self, app_id: &str, endpoint: Endpoint, range: DateRange) -> Report {
        self.answer(app_id, endpoint, range, self.inner.clock.now())
            .0
    }

    fn answer(
        &self,
        app_id: &str,
        endpoint: Endpoint,
        range: DateRange,
        now: Timestamp,
    ) -> (Report, Option<bool>) {
        let ctx = data::Ctx {
            last_published: last_published(now, self.inner.config.publish_at),
            callback_failure_ratio: self.inner.faults.callback_failure_ratio(),
        };
        data::answer(app_id, endpoint, range, ctx)
    }

    /// Requests per (app_id, api); api is the endpoint name, "stable_token" or "token".
    pub fn calls(&self) -> BTreeMap<(String, String), u64> {
        lock(&self.inner.calls).clone()
    }

    /// How many calls `app_id` made to `api` (an endpoint or token path).
    pub fn calls_to(&self, app_id: &str, api: &str) -> u64 {
        lock(&self.inner.calls)
            .get(&(app_id.to_string(), api.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// The access token `app_id`'s latest datacube request carried (valid or not).
    pub fn last_token_seen(&self, app_id: &str) -> Option<String> {
        lock(&self.inner.last_token).get(app_id).cloned()
    }

    /// Zeroes every count (calls and token requests).
    pub fn reset_calls(&self) {
        lock(&self.inner.calls).clear();
        self.inner.stable_requests.store(0, Ordering::SeqCst);
        self.inner.force_refresh_requests.store(0, Ordering::SeqCst);
        self.inner.classic_requests.store(0, Ordering::SeqCst);
        self.inner.ledger.reset();
    }

    /// A mass message was sent on `day` (getarticletotal for that send date has rows once the day
    /// is published). False before the endpoint's earliest date.
    pub fn has_mass_send(&self, app_id: &str, day: Date) -> bool {
        data::has_mass_send(app_id, day)
    }

    /// A piece was published on `day` (getarticletotaldetail for that date has rows once the day is
    /// published). False before 2025-11-01.
    pub fn has_publish(&self, app_id: &str, day: Date) -> bool {
        data::has_publish(app_id, day)
    }

    /// The faults to inject.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The accounts, publication hour and token lifetime it was started with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// The latest China day published now (by the injected clock).
    pub fn last_published_day(&self) -> Date {
        last_published(self.inner.clock.now(), self.inner.config.publish_at)
    }

    /// Every access token issued so far (remembered ones), for tests proving none leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.tokens().tokens.all()
    }

    /// Requests to `/cgi-bin/stable_token` (any mode, any outcome).
    pub fn stable_token_requests(&self) -> u64 {
        self.inner.stable_requests.load(Ordering::SeqCst)
    }

    /// Requests to `/cgi-bin/stable_token` with `force_refresh: true`.
    pub fn force_refresh_requests(&self) -> u64 {
        self.inner.force_refresh_requests.load(Ordering::SeqCst)
    }

    /// Requests to `/cgi-bin/token`.
    pub fn classic_token_requests(&self) -> u64 {
        self.inner.classic_requests.load(Ordering::SeqCst)
    }

    fn count(&self, app_id: &str, api: &str) {
        self.inner.ledger.arrived();
        *lock(&self.inner.calls)
            .entry((app_id.to_string(), api.to_string()))
            .or_insert(0) += 1;
    }

    /// The token table, with any revocation requested through `Faults` applied first.
    fn tokens(&self) -> MutexGuard<'_, TokenState> {
        let mut t = lock(&self.inner.tokens);
        let wanted = self.inner.faults.revocations();
        if t.revocations_seen != wanted {
            t.tokens.revoke_all();
            t.revocations_seen = wanted;
        }
        t
    }

    fn account(&self, app_id: &str) -> Option<&SimAccount> {
        self.inner
            .config
            .accounts
            .iter()
            .find(|a| a.app_id == app_id)
    }

    /// The label under which a token request is counted: the appid if it is a known account.
    fn app_label(&self, app_id: Option<&str>) -> String {
        match app_id {
            Some(a) if self.account(a).is_some() => a.to_string(),
            _ => "?".to_string(),
        }
    }

    /// Checks appid/secret; Err(errcode).
    fn credentials(&self, app_id: Option<&str>, secret: Option<&str>) -> Result<String, i64> {
        let app_id = app_id.filter(|a| !a.is_empty()).ok_or(41002)?;
        let secret = secret.filter(|s| !s.is_empty()).ok_or(41004)?;
        let account = self.account(app_id).ok_or(40013)?;
        if account.app_secret != secret {
            return Err(40125);
        }
        Ok(account.app_id.clone())
    }

    /// Applies the injected faults common to every route; Some(response) ends the request.
    async fn before(&self, decision: &faults::Decision) -> Option<Response> {
        if let Some(d) = decision.delay {
            tokio::time::sleep(d).await;
        }
        let status = decision.status?;
        Some(
            StatusCode::from_u16(status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response(),
        )
    }

    /// The answer, broken as `decision` says (`conn` resets the request's connection).
    fn finish(
        body: Vec<u8>,
        decision: &faults::Decision,
        conn: Option<wire::ConnHandle>,
    ) -> Response {
        match decision.body {
            Some(fault) => wire::broken(fault, body, conn),
            None if decision.malformed => json_response(wire::truncate(body)),
            None => json_response(body),
        }
    }

    fn datacube_body(
        &self,
        endpoint: Endpoint,
        method: &Method,
        token: Option<&str>,
        injected: Option<i64>,
        body: &[u8],
    ) -> Result<Vec<u8>, i64> {
        if method != Method::POST {
            return Err(43002);
        }
        let now = self.inner.clock.now();
        let token = token.filter(|t| !t.is_empty()).ok_or(41001)?;
        let app_id = self
            .tokens()
            .tokens
            .check(token, now)
            .map_err(|e| e.errcode())?;
        if let Some(code) = injected {
            return Err(code);
        }
        if !self.within_quota(&app_id, endpoint) {
            return Err(45009);
        }
        if endpoint.is_legacy_article() && self.inner.faults.legacy_offline() {
            return Err(47009);
        }
        let json: serde_json::Value = serde_json::from_slice(body).map_err(|_| 47001)?;
        let (begin, end) = (json.get("begin_date"), json.get("end_date"));
        if begin.is_none() || end.is_none() {
            return Err(47001);
        }
        let begin = parse_wechat_date(begin).ok_or(61500)?;
        let end = parse_wechat_date(end).ok_or(61500)?;
        let range = DateRange::new(begin, end).ok_or(61501)?;
        if range.len_days() > i64::from(endpoint.max_span_days()) || end >= china_today(now) {
            return Err(61501);
        }
        let (report, is_delay) = self.answer(&app_id, endpoint, range, now);
        Ok(report.to_body_bytes(is_delay))
    }
}

async fn datacube(
    State(sim): State<Simulator>,
    Path(name): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    conn: Option<Extension<ConnectInfo<wire::ConnHandle>>>,
    body: Bytes,
) -> Response {
    let Ok(endpoint) = name.parse::<Endpoint>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let token = query_param(query.as_deref(), "access_token");
    let app_id = token
        .as_deref()
        .and_then(|t| sim.tokens().tokens.owner(t).map(str::to_string))
        .unwrap_or_else(|| "?".to_string());
    sim.count(&app_id, endpoint.name());
    if let Some(t) = &token {
        lock(&sim.inner.last_token).insert(app_id.clone(), t.clone());
    }
    let decision = sim.inner.faults.decide(&app_id, endpoint.name(), true);
    if let Some(r) = sim.before(&decision).await {
        return r;
    }
    let body = sim
        .datacube_body(endpoint, &method, token.as_deref(), decision.errcode, &body)
        .unwrap_or_else(|code| {
            tracing::debug!(
                api = endpoint.name(),
                app_id,
                errcode = code,
                "simulated error"
            );
            error_body(code)
        });
    Simulator::finish(body, &decision, conn.map(|c| c.0.0.clone()))
}

#[cfg(test)]
mod tests;
