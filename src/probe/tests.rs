//! Unit tests of the probe against real HTTP servers on 127.0.0.1: the simulated callback server
//! in each behaviour, a closed port, an unresolvable name and a self-signed TLS server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;

use super::*;
use crate::config::{CallbackProbeConfig, MessageMode};
use crate::simulator::callback::{
    Behaviour, CallbackServer, SIM_CALLBACK_TOKEN, SIM_ENCODING_AES_KEY,
};

const APP_ID: &str = "wx0123456789abcdef";

fn config(url: &str, token: &str) -> CallbackProbeConfig {
    CallbackProbeConfig {
        url: Url::parse(url).unwrap(),
        token: SecretString::from(token.to_string()),
        interval: Duration::from_secs(60),
        timeout: Duration::from_secs(5),
        encoding_aes_key: None,
        message_probe: false,
        message_mode: MessageMode::Plain,
    }
}

async fn server() -> (CallbackServer, String) {
    let server = CallbackServer::new(SIM_CALLBACK_TOKEN, Some(SIM_ENCODING_AES_KEY));
    let addr = server
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    (server, format!("http://{addr}/callback/brand"))
}

async fn probe(config: &CallbackProbeConfig) -> Outcome {
    Prober::new(config, APP_ID).probe().await
}

#[tokio::test]
async fn a_correct_server_passes_the_url_check() {
    let (server, url) = server().await;
    let outcome = probe(&config(&url, SIM_CALLBACK_TOKEN)).await;
    assert_eq!(outcome.failure, None);
    assert!(outcome.duration < Duration::from_secs(1));
    // The server checked the signature and found it right.
    assert_eq!(server.requests(), (1, 0));
}

#[tokio::test]
async fn wrong_echo_and_wrong_status_fail_with_their_reason() {
    let (server, url) = server().await;
    let c = config(&url, SIM_CALLBACK_TOKEN);
    server.set("brand", Behaviour::WrongEcho);
    assert_eq!(probe(&c).await.failure, Some(FailureReason::WrongEcho));
    server.set("brand", Behaviour::Status);
    assert_eq!(probe(&c).await.failure, Some(FailureReason::Status));
}

#[tokio::test]
async fn a_server_checking_the_signature_rejects_the_wrong_token() {
    let (server, url) = server().await;
    let outcome = probe(&config(&url, "notthetoken")).await;
    assert_eq!(outcome.failure, Some(FailureReason::SignatureRejected));
    assert_eq!(server.requests(), (1, 1));
}

#[tokio::test]
async fn a_six_second_answer_is_a_timeout() {
    let (server, url) = server().await;
    server.set("brand", Behaviour::Slow(Duration::from_secs(6)));
    let outcome = probe(&config(&url, SIM_CALLBACK_TOKEN)).await;
    assert_eq!(outcome.failure, Some(FailureReason::Timeout));
    // Given up at the 5-second timeout, not after the 6-second answer.
    assert!(
        outcome.duration >= Duration::from_secs(5)
            && outcome.duration < Duration::from_millis(5900),
        "{:?}",
        outcome.duration
    );
}

#[tokio::test]
async fn a_refused_connection_is_connect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let outcome = probe(&config(&format!("http://{addr}/cb"), "token1")).await;
    assert_eq!(outcome.failure, Some(FailureReason::Connect));
}

#[tokio::test]
async fn an_unresolvable_host_is_dns() {
    // .invalid never resolves (RFC 2606).
    let outcome = probe(&config("http://callback.example.invalid/cb", "token1")).await;
    assert_eq!(outcome.failure, Some(FailureReason::Dns));
}

#[tokio::test]
async fn a_self_signed_certificate_is_tls() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der())),
        )
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let server = CallbackServer::new(SIM_CALLBACK_TOKEN, None);
    let router = server.router();
    tokio::spawn(async move {
        let _ = axum_server::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls)),
        )
        .unwrap()
        .serve(router.into_make_service())
        .await;
    });
    let outcome = probe(&config(
        &format!("https://{addr}/callback/brand"),
        SIM_CALLBACK_TOKEN,
    ))
    .await;
    assert_eq!(outcome.failure, Some(FailureReason::Tls));
    assert_eq!(server.requests(), (0, 0), "no request got through");
}

#[tokio::test]
async fn the_message_probe_in_plain_and_safe_mode() {
    let (server, url) = server().await;
    let mut c = config(&url, SIM_CALLBACK_TOKEN);
    c.message_probe = true;
    assert_eq!(probe(&c).await.failure, None);
    assert_eq!(server.requests(), (2, 0), "URL check and message");
    c.message_mode = MessageMode::Safe;
    c.encoding_aes_key = Some(crate::config::AesKey::parse(SIM_ENCODING_AES_KEY).unwrap());
    // The server decrypts the message, checks msg_signature and answers encrypted.
    assert_eq!(probe(&c).await.failure, None);
    assert_eq!(server.requests(), (4, 0));
    // A different key: the server cannot decrypt the message.
    c.encoding_aes_key =
        crate::config::AesKey::parse("ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg")
            .unwrap()
            .into();
    assert!(probe(&c).await.failure.is_some());
}

#[test]
fn the_reply_check_accepts_what_wechat_accepts() {
    let check = message::Check::plain();
    assert!(check.accepts(b""));
    assert!(check.accepts(b"success"));
    assert!(check.accepts(b"<xml><Content>hi</Content></xml>"));
    assert!(!check.accepts(b"error"));
    assert_eq!(
        message::field("<xml><A><![CDATA[x]]></A><B>7</B></xml>", "A"),
        Some("x")
    );
    assert_eq!(
        message::field("<xml><A><![CDATA[x]]></A><B>7</B></xml>", "B"),
        Some("7")
    );
}

/// A sink that keeps what it is told.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl ProbeSink for Recorder {
    fn probe_added(&self, account: &str) {
        self.0.lock().unwrap().push(format!("added {account}"));
    }
    fn probe_result(&self, account: &str, outcome: &Outcome) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{account} {:?}", outcome.failure));
    }
    fn probe_removed(&self, account: &str) {
        self.0.lock().unwrap().push(format!("removed {account}"));
    }
}

#[tokio::test]
async fn the_probe_set_follows_the_config() {
    let (_server, url) = server().await;
    let account = |name: &str, probe: Option<CallbackProbeConfig>| crate::config::AccountConfig {
        name: name.to_string(),
        app_id: APP_ID.to_string(),
        app_secret: None,
        token: crate::config::TokenSourceConfig::Stable,
        reports: Default::default(),
        callback_probe: probe,
    };
    let mut c = config(&url, SIM_CALLBACK_TOKEN);
    c.interval = Duration::from_millis(200);
    let recorder = Arc::new(Recorder::default());
    let set = ProbeSet::new(recorder.clone());
    set.apply(&[account("a", Some(c.clone())), account("b", None)]);
    assert_eq!(set.accounts(), ["a"]);
    tokio::time::sleep(Duration::from_millis(700)).await;
    {
        let seen = recorder.0.lock().unwrap();
        assert_eq!(seen[0], "added a");
        assert!(
            seen.iter().filter(|s| *s == "a None").count() >= 2,
            "{seen:?}"
        );
    }
    // Unchanged: kept running, not re-added.
    set.apply(&[account("a", Some(c.clone()))]);
    assert_eq!(
        recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.starts_with("added"))
            .count(),
        1
    );
    // Removed: stopped, no further results.
    set.apply(&[account("a", None)]);
    assert!(set.accounts().is_empty());
    let len = recorder.0.lock().unwrap().len();
    assert_eq!(recorder.0.lock().unwrap().last().unwrap(), "removed a");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(recorder.0.lock().unwrap().len(), len);
}

#[test]
fn first_probes_start_on_whole_seconds_spread_over_the_interval() {
    let origin = tokio::time::Instant::now();
    let interval = Duration::from_secs(60);
    let mut per_second = [0usize; 60];
    for i in 0..6000 {
        let draw = f64::from(i) / 6000.0;
        let offset = runner::first_tick(origin, interval, draw) - origin;
        assert_eq!(offset.subsec_nanos(), 0, "{draw}: {offset:?}");
        per_second[usize::try_from(offset.as_secs()).unwrap()] += 1;
    }
    // Every second of the interval gets its share, none more.
    assert_eq!(per_second, [100; 60]);
    // The ends: the first instant, and never the next interval's.
    assert_eq!(runner::first_tick(origin, interval, 0.0), origin);
    assert_eq!(
        runner::first_tick(origin, interval, 0.999_999) - origin,
        Duration::from_secs(59)
    );
    // Shorter than a second: every probe starts at once.
    assert_eq!(
        runner::first_tick(origin, Duration::from_millis(200), 0.9),
        origin
    );
}
