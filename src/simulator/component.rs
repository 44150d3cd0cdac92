//! The simulated third-party platform (开放平台 "component"): the `component_verify_ticket` it pushes
//! (valid 12 h), `api_component_token`, `api_authorizer_token` with a refresh token per authorised
//! account (rotated on demand: the old one stops working at once, stricter than WeChat's 5-minute
//! overlap), and its control routes. Thousands of authorisers cost a map entry each.
//!
//! Routes:
//! - `POST /cgi-bin/component/api_component_token` (JSON `{component_appid, component_appsecret,
//!   component_verify_ticket}`)
//! - `POST /cgi-bin/component/api_authorizer_token?component_access_token=..` (or `access_token`;
//!   JSON `{component_appid, authorizer_appid, authorizer_refresh_token}`)
//! - `GET /_sim/component/{component_appid}/ticket`: the current ticket, as a platform's ticket
//!   receiver would serve it (for `component_verify_ticket = "url:..."`).
//! - `POST /cgi-bin/component/api_get_authorizer_list?component_access_token=..` (JSON
//!   `{component_appid, offset, count}`, count at most 500), in the order of authorisation.
//! - `POST /_sim/component` with `{"push_ticket": ["wx.."], "rotate_refresh_token": ["wx.."]}`:
//!   issue a new ticket for those platforms; give those authorisers a new refresh token on their
//!   next token call.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};

use super::tokens::new_token;
use super::*;

/// A ticket is accepted this long after it was pushed.
const TICKET_LIFETIME: SignedDuration = SignedDuration::from_hours(12);

/// One simulated third-party platform and the accounts authorised to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimComponent {
    /// The platform's `component_appid`.
    pub appid: String,
    /// Its `component_appsecret`.
    pub secret: String,
    /// The AppIDs of the authorised accounts (their data comes from the same generators as any
    /// account's).
    pub authorizers: Vec<String>,
}

impl SimComponent {
    /// Platform `appid` with `n` authorised accounts `wxauth<index>`, ids derived from the index
    /// (like the bench accounts), so a test and the simulator agree without talking.
    pub fn generated(appid: &str, n: usize) -> Self {
        Self {
            appid: appid.to_string(),
            secret: format!(
                "{:032x}",
                data::seed(appid, "component-secret", jiff::civil::date(2025, 1, 1))
            ),
            authorizers: (0..n).map(|i| format!("wxauth{i:012}")).collect(),
        }
    }
}

struct PlatformState {
    secret: String,
    /// Every ticket pushed, newest last, with when.
    tickets: Vec<(String, Timestamp)>,
    /// Component tokens issued and when each expires.
    tokens: HashMap<String, Timestamp>,
    /// The valid refresh token of every authorised account.
    refresh: HashMap<String, String>,
    /// Authorisers whose next token call gets a new refresh token.
    rotate: HashSet<String>,
    /// The authorised accounts in the order they authorised, with when (unix seconds).
    order: Vec<(String, i64)>,
}

/// Every simulated platform.
#[derive(Default)]
pub(crate) struct Platforms {
    by_appid: HashMap<String, PlatformState>,
    component_token_requests: u64,
    authorizer_token_requests: u64,
}

fn ticket() -> String {
    format!("ticket@@@{}", new_token())
}

impl Simulator {
    fn platforms(&self) -> MutexGuard<'_, Platforms> {
        lock(&self.inner.platforms)
    }

    /// Adds a platform; its first ticket is pushed now (by the injected clock).
    pub fn add_component(&self, component: SimComponent) {
        let now = self.inner.clock.now();
        let state = PlatformState {
            secret: component.secret,
            tickets: vec![(ticket(), now)],
            tokens: HashMap::new(),
            order: component
                .authorizers
                .iter()
                .map(|a| (a.clone(), now.as_second()))
                .collect(),
            refresh: component
                .authorizers
                .into_iter()
                .map(|a| (a, format!("refreshtoken@@@{}", new_token())))
                .collect(),
            rotate: HashSet::new(),
        };
        self.platforms().by_appid.insert(component.appid, state);
    }

    /// Account `authorizer` authorises platform `appid` now; returns its refresh token (None for
    /// an unknown platform).
    pub fn authorize(&self, appid: &str, authorizer: &str) -> Option<String> {
        let now = self.inner.clock.now();
        let mut p = self.platforms();
        let state = p.by_appid.get_mut(appid)?;
        let refresh = format!("refreshtoken@@@{}", new_token());
        if state
            .refresh
            .insert(authorizer.to_string(), refresh.clone())
            .is_none()
        {
            state.order.push((authorizer.to_string(), now.as_second()));
        }
        Some(refresh)
    }

    /// Requests to `api_get_authorizer_list` (any outcome).
    pub fn authorizer_list_requests(&self) -> u64 {
        self.calls()
            .iter()
            .filter(|((_, api), _)| api == "api_get_authorizer_list")
            .map(|(_, n)| n)
            .sum()
    }

    /// The platform's current ticket (what WeChat last pushed to it).
    pub fn component_ticket(&self, appid: &str) -> Option<String> {
        let p = self.platforms();
        Some(p.by_appid.get(appid)?.tickets.last()?.0.clone())
    }

    /// WeChat pushes a new ticket now; earlier ones stay valid for 12 h after their push.
    pub fn push_component_ticket(&self, appid: &str) -> Option<String> {
        let now = self.inner.clock.now();
        let mut p = self.platforms();
        let state = p.by_appid.get_mut(appid)?;
        let t = ticket();
        state.tickets.push((t.clone(), now));
        Some(t)
    }

    /// The refresh token `authorizer` must present now.
    pub fn authorizer_refresh_token(&self, authorizer: &str) -> Option<String> {
        let p = self.platforms();
        p.by_appid
            .values()
            .find_map(|s| s.refresh.get(authorizer).cloned())
    }

    /// The next token call of `authorizer` gets a new refresh token (and the old one dies);
    /// false if no platform has that account.
    pub fn rotate_refresh_token(&self, authorizer: &str) -> bool {
        let mut p = self.platforms();
        match p
            .by_appid
            .values_mut()
            .find(|s| s.refresh.contains_key(authorizer))
        {
            Some(s) => {
                s.rotate.insert(authorizer.to_string());
                true
            }
            None => false,
        }
    }

    /// Requests to `api_component_token` (any outcome).
    pub fn component_token_requests(&self) -> u64 {
        self.platforms().component_token_requests
    }

    /// Requests to `api_authorizer_token` (any outcome).
    pub fn authorizer_token_requests(&self) -> u64 {
        self.platforms().authorizer_token_requests
    }

    /// Every platform secret the simulator knows: AppSecrets, tickets, component tokens and
    /// refresh tokens, for tests proving none leaks.
    pub fn component_secrets(&self) -> Vec<String> {
        let p = self.platforms();
        p.by_appid
            .values()
            .flat_map(|s| {
                std::iter::once(s.secret.clone())
                    .chain(s.tickets.iter().map(|(t, _)| t.clone()))
                    .chain(s.tokens.keys().cloned())
                    .chain(s.refresh.values().cloned())
            })
            .collect()
    }

    fn component_token_answer(&self, body: &[u8]) -> Result<(String, u64), i64> {
        let json: serde_json::Value = serde_json::from_slice(body).map_err(|_| 47001)?;
        let field = |k: &str| {
            json.get(k)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let appid = field("component_appid").ok_or(41002)?;
        let secret = field("component_appsecret").ok_or(41004)?;
        let now = self.inner.clock.now();
        let ttl = self.inner.config.token_ttl;
        let mut p = self.platforms();
        let state = p.by_appid.get_mut(appid).ok_or(61011)?;
        if state.secret != secret {
            return Err(40125);
        }
        let ticket = field("component_verify_ticket").ok_or(61006)?;
        let pushed = state
            .tickets
            .iter()
            .find(|(t, _)| t == ticket)
            .map(|(_, at)| *at)
            .ok_or(61006)?;
        if now.duration_since(pushed) >= TICKET_LIFETIME {
            return Err(61005);
        }
        let token = new_token();
        let expires = now
            .saturating_add(SignedDuration::try_from(ttl).unwrap_or(SignedDuration::from_hours(2)))
            .unwrap_or(now);
        state.tokens.retain(|_, e| *e > now);
        state.tokens.insert(token.clone(), expires);
        Ok((token, ttl.as_secs()))
    }

    fn authorizer_token_answer(
        &self,
        component_token: Option<&str>,
        body: &[u8],
    ) -> Result<serde_json::Value, i64> {
        let (component_token, json) = platform_request(component_token, body)?;
        let field = |k: &str| {
            json.get(k)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let now = self.inner.clock.now();
        let ttl = self.inner.config.token_ttl;
        let refresh = {
            let mut p = self.platforms();
            let appid = field("component_appid").ok_or(41002)?;
            let state = p.by_appid.get_mut(appid).ok_or(61011)?;
            match state.tokens.get(component_token) {
                None => return Err(40001),
                Some(expires) if *expires <= now => return Err(42001),
                Some(_) => {}
            }
            let authorizer = field("authorizer_appid").ok_or(41002)?;
            let presented = field("authorizer_refresh_token").ok_or(61023)?;
            let current = state.refresh.get(authorizer).ok_or(61003)?;
            if current != presented {
                return Err(61023);
            }
            let refresh = if state.rotate.remove(authorizer) {
                let new = format!("refreshtoken@@@{}", new_token());
                state.refresh.insert(authorizer.to_string(), new.clone());
                new
            } else {
                current.clone()
            };
            (authorizer.to_string(), refresh)
        };
        let (token, expires_in) = self.tokens().tokens.authorizer(&refresh.0, now, ttl);
        Ok(serde_json::json!({
            "authorizer_access_token": token,
            "expires_in": expires_in,
            "authorizer_refresh_token": refresh.1,
        }))
    }
}

/// The component token and JSON body of a call a platform makes with its token: 41001 without a
/// token, 47001 for a body that is not JSON.
fn platform_request<'t>(
    component_token: Option<&'t str>,
    body: &[u8],
) -> Result<(&'t str, serde_json::Value), i64> {
    let component_token = component_token.filter(|t| !t.is_empty()).ok_or(41001)?;
    let json = serde_json::from_slice(body).map_err(|_| 47001)?;
    Ok((component_token, json))
}

impl Simulator {
    fn authorizer_list_answer(
        &self,
        component_token: Option<&str>,
        body: &[u8],
    ) -> Result<serde_json::Value, i64> {
        let (component_token, json) = platform_request(component_token, body)?;
        let appid = json
            .get("component_appid")
            .and_then(|v| v.as_str())
            .ok_or(41002)?;
        let offset = json.get("offset").and_then(|v| v.as_u64()).unwrap_or(0) as usize;
        let count = json
            .get("count")
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
            .min(500) as usize;
        let now = self.inner.clock.now();
        let p = self.platforms();
        let state = p.by_appid.get(appid).ok_or(61011)?;
        match state.tokens.get(component_token) {
            None => return Err(40001),
            Some(expires) if *expires <= now => return Err(42001),
            Some(_) => {}
        }
        let list: Vec<serde_json::Value> = state
            .order
            .iter()
            .skip(offset)
            .take(count)
            .map(|(a, at)| {
                serde_json::json!({
                    "authorizer_appid": a,
                    "refresh_token": state.refresh.get(a).cloned().unwrap_or_default(),
                    "auth_time": at,
                })
            })
            .collect();
        Ok(serde_json::json!({"total_count": state.order.len(), "list": list}))
    }
}

async fn authorizer_list(
    State(sim): State<Simulator>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let token = platform_token(query.as_deref());
    answer(
        &sim,
        &body,
        "component_appid",
        "api_get_authorizer_list",
        |sim| sim.authorizer_list_answer(token.as_deref(), &body),
    )
    .await
}

/// The platform token of a request's query. Newer documentation names the parameter access_token.
fn platform_token(query: Option<&str>) -> Option<String> {
    query_param(query, "component_access_token").or_else(|| query_param(query, "access_token"))
}

/// One platform endpoint's answer: the call counted under the app id in `id_field`, the faults
/// decided and applied as on every other endpoint, then `answer`'s JSON or its errcode.
async fn answer(
    sim: &Simulator,
    body: &[u8],
    id_field: &str,
    api: &str,
    answer: impl FnOnce(&Simulator) -> Result<serde_json::Value, i64>,
) -> Response {
    let appid = body_field(body, id_field).unwrap_or_else(|| "?".into());
    sim.count(&appid, api);
    let decision = sim.inner.faults.decide(&appid, api, false);
    if let Some(r) = sim.before(&decision).await {
        return r;
    }
    let result = match decision.errcode {
        Some(code) => Err(code),
        None => answer(sim),
    };
    let body = match result {
        Ok(json) => serde_json::to_vec(&json).unwrap_or_default(),
        Err(code) => error_body(code),
    };
    Simulator::finish(body, &decision, None)
}

/// The platform's routes (merged into the simulator's router).
pub(super) fn routes() -> Router<Simulator> {
    Router::new()
        .route(
            "/cgi-bin/component/api_component_token",
            post(component_token),
        )
        .route(
            "/cgi-bin/component/api_authorizer_token",
            post(authorizer_token),
        )
        .route(
            "/cgi-bin/component/api_get_authorizer_list",
            post(authorizer_list),
        )
        .route("/_sim/component/{appid}/ticket", get(control_ticket))
        .route("/_sim/component", post(control_component))
}

fn body_field(body: &[u8], key: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(json.get(key)?.as_str()?.to_string())
}

async fn component_token(State(sim): State<Simulator>, body: Bytes) -> Response {
    sim.platforms().component_token_requests += 1;
    answer(
        &sim,
        &body,
        "component_appid",
        "api_component_token",
        |sim| {
            let (token, expires_in) = sim.component_token_answer(&body)?;
            Ok(serde_json::json!({"component_access_token": token, "expires_in": expires_in}))
        },
    )
    .await
}

async fn authorizer_token(
    State(sim): State<Simulator>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    sim.platforms().authorizer_token_requests += 1;
    let token = platform_token(query.as_deref());
    answer(
        &sim,
        &body,
        "authorizer_appid",
        "api_authorizer_token",
        |sim| sim.authorizer_token_answer(token.as_deref(), &body),
    )
    .await
}

async fn control_ticket(State(sim): State<Simulator>, Path(appid): Path<String>) -> Response {
    match sim.component_ticket(&appid) {
        Some(t) => t.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ComponentSpec {
    #[serde(default)]
    push_ticket: Vec<String>,
    #[serde(default)]
    rotate_refresh_token: Vec<String>,
}

async fn control_component(State(sim): State<Simulator>, body: Bytes) -> Response {
    let spec: ComponentSpec = match super::control::control_spec(&body) {
        Ok(s) => s,
        Err(e) => return super::control::bad_request(e),
    };
    let unknown: Vec<&String> = spec
        .push_ticket
        .iter()
        .filter(|a| sim.push_component_ticket(a).is_none())
        .chain(
            spec.rotate_refresh_token
                .iter()
                .filter(|a| !sim.rotate_refresh_token(a)),
        )
        .collect();
    if !unknown.is_empty() {
        return super::control::bad_request(format!("unknown app ids: {unknown:?}"));
    }
    axum::Json(serde_json::json!({"ok": true})).into_response()
}

#[cfg(test)]
mod tests;
