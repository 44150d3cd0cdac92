//! The simulator's control routes (`/_sim/calls`, `/_sim/reset`, `/_sim/faults`): call counts
//! for tests and load tests, and faults injected on demand.

use super::*;

#[derive(Serialize)]
struct CallCount {
    app_id: String,
    api: String,
    count: u64,
}

pub(super) async fn control_calls(State(sim): State<Simulator>) -> Response {
    let calls: Vec<CallCount> = sim
        .calls()
        .into_iter()
        .map(|((app_id, api), count)| CallCount { app_id, api, count })
        .collect();
    axum::Json(serde_json::json!({
        "calls": calls,
        "stable_token_requests": sim.stable_token_requests(),
        "force_refresh_requests": sim.force_refresh_requests(),
        "classic_token_requests": sim.classic_token_requests(),
    }))
    .into_response()
}

pub(super) async fn control_reset(State(sim): State<Simulator>) -> Response {
    sim.reset_calls();
    sim.faults().clear();
    axum::Json(serde_json::json!({"ok": true})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailSpec {
    api: String,
    errcode: i64,
    #[serde(default)]
    times: Option<u32>,
    #[serde(default)]
    app_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusSpec {
    api: String,
    status: u16,
    #[serde(default)]
    times: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MalformedSpec {
    api: String,
    #[serde(default)]
    times: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DelaySpec {
    api: String,
    ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodySpec {
    api: String,
    fault: BodyFault,
    #[serde(default)]
    times: Option<u32>,
}

/// `Some(None)` for an explicit null, `None` when the key is absent.
fn explicit_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    #[serde(default)]
    clear: bool,
    #[serde(default)]
    fail: Vec<FailSpec>,
    #[serde(default)]
    http_status: Vec<StatusSpec>,
    #[serde(default)]
    malformed: Vec<MalformedSpec>,
    #[serde(default)]
    delay: Vec<DelaySpec>,
    #[serde(default)]
    body: Vec<BodySpec>,
    #[serde(default)]
    connections: Option<Connections>,
    #[serde(default)]
    revoke_tokens: bool,
    #[serde(default)]
    legacy_articles_offline: Option<bool>,
    #[serde(default, deserialize_with = "explicit_null")]
    callback_failure_ratio: Option<Option<f64>>,
}

/// A control request's JSON body, or why it is not one (for [`bad_request`]).
pub(super) fn control_spec<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// A 400 answer to a control request: `{"error": ..}`.
pub(super) fn bad_request(error: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({ "error": error })),
    )
        .into_response()
}

pub(super) async fn control_faults(State(sim): State<Simulator>, body: Bytes) -> Response {
    let spec: FaultSpec = match control_spec(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(e),
    };
    if let Some(bad) = spec
        .http_status
        .iter()
        .find(|s| StatusCode::from_u16(s.status).is_err())
    {
        return bad_request(format!("invalid HTTP status {}", bad.status));
    }
    let f = sim.faults();
    if spec.clear {
        f.clear();
    }
    for s in spec.fail {
        match s.app_id {
            Some(app) => f.fail_account(&app, &s.api, s.errcode, s.times),
            None => f.fail(&s.api, s.errcode, s.times),
        }
    }
    for s in spec.http_status {
        f.http_status(&s.api, s.status, s.times);
    }
    for s in spec.malformed {
        f.malformed(&s.api, s.times);
    }
    for s in spec.delay {
        f.delay(&s.api, Duration::from_millis(s.ms));
    }
    for s in spec.body {
        f.body(&s.api, s.fault, s.times);
    }
    if let Some(mode) = spec.connections {
        f.set_connections(mode);
    }
    if spec.revoke_tokens {
        f.revoke_tokens();
    }
    if let Some(offline) = spec.legacy_articles_offline {
        f.set_legacy_articles_offline(offline);
    }
    if let Some(ratio) = spec.callback_failure_ratio {
        f.set_callback_failure_ratio(ratio);
    }
    axum::Json(serde_json::json!({"ok": true})).into_response()
}
