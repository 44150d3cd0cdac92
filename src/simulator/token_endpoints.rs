//! The two token endpoints of an Official Account's own credentials: `POST /cgi-bin/stable_token`
//! and `GET /cgi-bin/token` (classic). Issuing, rotation and expiry are `tokens.rs`.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{Simulator, error_body, query_param};

#[derive(Deserialize)]
struct StableTokenRequest {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: Option<bool>,
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

/// `{"access_token","expires_in"}`, or WeChat's error body for the errcode.
fn token_body(result: Result<(String, u64), i64>) -> Vec<u8> {
    match result {
        Ok((access_token, expires_in)) => serde_json::to_vec(&TokenResponse {
            access_token,
            expires_in,
        })
        .unwrap_or_default(),
        Err(code) => error_body(code),
    }
}

pub(super) async fn stable_token(State(sim): State<Simulator>, body: Bytes) -> Response {
    sim.inner.stable_requests.fetch_add(1, Ordering::SeqCst);
    let request: Option<StableTokenRequest> = serde_json::from_slice(&body).ok();
    let app_id = sim.app_label(request.as_ref().and_then(|r| r.appid.as_deref()));
    let force = request
        .as_ref()
        .and_then(|r| r.force_refresh)
        .unwrap_or(false);
    if force {
        sim.inner
            .force_refresh_requests
            .fetch_add(1, Ordering::SeqCst);
    }
    sim.count(&app_id, "stable_token");
    let decision = sim.inner.faults.decide(&app_id, "stable_token", false);
    if let Some(r) = sim.before(&decision).await {
        return r;
    }
    let result = (|| {
        if let Some(code) = decision.errcode {
            return Err(code);
        }
        let request = request.ok_or(47001)?;
        if request.grant_type.as_deref() != Some("client_credential") {
            return Err(40002);
        }
        let app_id = sim.credentials(request.appid.as_deref(), request.secret.as_deref())?;
        let now = sim.inner.clock.now();
        let ttl = sim.inner.config.token_ttl;
        Ok(sim.tokens().tokens.stable(&app_id, force, now, ttl))
    })();
    Simulator::finish(token_body(result), &decision, None)
}

pub(super) async fn classic_token(
    State(sim): State<Simulator>,
    RawQuery(query): RawQuery,
) -> Response {
    sim.inner.classic_requests.fetch_add(1, Ordering::SeqCst);
    let q = query.as_deref();
    let (grant, appid, secret) = (
        query_param(q, "grant_type"),
        query_param(q, "appid"),
        query_param(q, "secret"),
    );
    let app_id = sim.app_label(appid.as_deref());
    sim.count(&app_id, "token");
    let decision = sim.inner.faults.decide(&app_id, "token", false);
    if let Some(r) = sim.before(&decision).await {
        return r;
    }
    let result = (|| {
        if let Some(code) = decision.errcode {
            return Err(code);
        }
        if grant.as_deref() != Some("client_credential") {
            return Err(40002);
        }
        let app_id = sim.credentials(appid.as_deref(), secret.as_deref())?;
        let now = sim.inner.clock.now();
        let ttl = sim.inner.config.token_ttl;
        Ok(sim.tokens().tokens.classic(&app_id, now, ttl))
    })();
    Simulator::finish(token_body(result), &decision, None)
}
