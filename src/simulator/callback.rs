//! A simulated callback server (the account owner's, not WeChat's): checks signatures as a real
//! one should, and answers right, wrong, with an error status or slowly, per account, as the
//! tests and the demo set it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::probe::crypto::AesKey;
use crate::probe::signature::{msg_signature, signature};

/// The Token of the simulated callback server (not a secret: the demo's and the tests').
pub const SIM_CALLBACK_TOKEN: &str = "simcallbacktoken";
/// Its EncodingAESKey (43 characters; made up).
pub const SIM_ENCODING_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// How the server answers an account's callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// As WeChat expects: the echostr, `success`, or an encrypted reply.
    Right,
    /// HTTP 200 with the wrong body.
    WrongEcho,
    /// HTTP 500.
    Status,
    /// Right, after this delay.
    Slow(Duration),
}

impl Behaviour {
    /// `right`, `wrong_echo`, `status` or `slow` (with `delay_ms`, default 6000).
    pub fn parse(name: &str, delay_ms: Option<u64>) -> Option<Behaviour> {
        Some(match name {
            "right" => Behaviour::Right,
            "wrong_echo" => Behaviour::WrongEcho,
            "status" => Behaviour::Status,
            "slow" => Behaviour::Slow(Duration::from_millis(delay_ms.unwrap_or(6000))),
            _ => return None,
        })
    }
}

/// The callback server of every simulated account, at `/callback/{account}`.
#[derive(Clone)]
pub struct CallbackServer {
    inner: Arc<Inner>,
}

struct Inner {
    token: String,
    key: Option<AesKey>,
    behaviour: Mutex<BTreeMap<String, Behaviour>>,
    requests: AtomicU64,
    rejected: AtomicU64,
}

impl CallbackServer {
    /// A server whose Token is `token`; with `encoding_aes_key` it also takes safe-mode messages.
    pub fn new(token: &str, encoding_aes_key: Option<&str>) -> CallbackServer {
        CallbackServer {
            inner: Arc::new(Inner {
                token: token.to_string(),
                key: encoding_aes_key.and_then(AesKey::parse),
                behaviour: Mutex::new(BTreeMap::new()),
                requests: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
            }),
        }
    }

    /// Sets how `account`'s callbacks are answered (default: right).
    pub fn set(&self, account: &str, behaviour: Behaviour) {
        let mut map = self
            .inner
            .behaviour
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.insert(account.to_string(), behaviour);
    }

    fn behaviour(&self, account: &str) -> Behaviour {
        let map = self
            .inner
            .behaviour
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.get(account).copied().unwrap_or(Behaviour::Right)
    }

    /// Requests seen, and how many of them had a bad signature.
    pub fn requests(&self) -> (u64, u64) {
        (
            self.inner.requests.load(Ordering::Relaxed),
            self.inner.rejected.load(Ordering::Relaxed),
        )
    }

    /// `GET`/`POST /callback/{account}` and `POST /_sim/callback/{account}?behaviour=...`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/callback/{account}", get(verify).post(message))
            .route("/_sim/callback/{account}", post(control))
            .with_state(self.clone())
    }

    /// Serves only the callback routes on `addr`; returns the bound address.
    pub async fn spawn(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(bound)
    }

    /// Counts the request and applies the account's behaviour; `None` means answer right.
    async fn misbehave(&self, account: &str) -> Option<Response> {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        match self.behaviour(account) {
            Behaviour::Right => None,
            Behaviour::WrongEcho => Some("not the echostr".into_response()),
            Behaviour::Status => Some((StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()),
            Behaviour::Slow(delay) => {
                tokio::time::sleep(delay).await;
                None
            }
        }
    }

    fn signed(&self, q: &BTreeMap<String, String>) -> bool {
        let get = |k: &str| q.get(k).map_or("", String::as_str);
        let ok = signature(&self.inner.token, get("timestamp"), get("nonce")) == get("signature");
        if !ok {
            self.inner.rejected.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }
}

fn rejected() -> Response {
    (StatusCode::FORBIDDEN, "invalid signature").into_response()
}

async fn verify(
    State(server): State<CallbackServer>,
    Path(account): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(wrong) = server.misbehave(&account).await {
        return wrong;
    }
    if !server.signed(&q) {
        return rejected();
    }
    q.get("echostr")
        .cloned()
        .unwrap_or_default()
        .into_response()
}

async fn message(
    State(server): State<CallbackServer>,
    Path(account): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    body: String,
) -> Response {
    if let Some(wrong) = server.misbehave(&account).await {
        return wrong;
    }
    if !server.signed(&q) {
        return rejected();
    }
    if q.get("encrypt_type").map(String::as_str) != Some("aes") {
        return "success".into_response();
    }
    let token = &server.inner.token;
    let (Some(key), Some(encrypt)) = (
        server.inner.key.as_ref(),
        crate::probe::message_field(&body, "Encrypt"),
    ) else {
        return (StatusCode::BAD_REQUEST, "no Encrypt").into_response();
    };
    let get = |k: &str| q.get(k).map_or("", String::as_str);
    if msg_signature(token, get("timestamp"), get("nonce"), encrypt) != get("msg_signature") {
        server.inner.rejected.fetch_add(1, Ordering::Relaxed);
        return rejected();
    }
    let Ok((_, app_id)) = key.decrypt(encrypt) else {
        return (StatusCode::BAD_REQUEST, "does not decrypt").into_response();
    };
    // An encrypted passive reply, as a server in safe mode sends it.
    let reply = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ok]]></Content></xml>";
    let encrypted = key.encrypt(rand::random(), reply.as_bytes(), &app_id);
    let (ts, nonce) = (get("timestamp"), "1");
    format!(
        "<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{}]]></MsgSignature>\
         <TimeStamp>{ts}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>",
        msg_signature(token, ts, nonce, &encrypted)
    )
    .into_response()
}

async fn control(
    State(server): State<CallbackServer>,
    Path(account): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let delay = q.get("delay_ms").and_then(|d| d.parse().ok());
    match q.get("behaviour").and_then(|b| Behaviour::parse(b, delay)) {
        Some(b) => {
            server.set(&account, b);
            StatusCode::NO_CONTENT.into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            "behaviour must be right, wrong_echo, status or slow (delay_ms)",
        )
            .into_response(),
    }
}
