//! Token safety against the simulator: one stable_token fetch for 50 concurrent requests; a
//! rejected token is fetched again once (normal mode, never force_refresh) and the call retried once.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use jiff::civil::Time;
use secrecy::SecretString;
use wechat_mp_exporter::clock::{self, SharedClock};
use wechat_mp_exporter::simulator::{SimConfig, Simulator};
use wechat_mp_exporter::wechat::client::{Client, ClientSettings};
use wechat_mp_exporter::wechat::date::china_yesterday;
use wechat_mp_exporter::wechat::error::ErrorClass;
use wechat_mp_exporter::wechat::token::{TokenCache, TokenSource};
use wechat_mp_exporter::wechat::transport::{CallObserver, http_client};
use wechat_mp_exporter::wechat::{DateRange, Endpoint};

/// Records what the client reports, as the metrics would count it.
#[derive(Default)]
struct Recorder {
    api: Mutex<Vec<(String, String)>>,
    tokens: Mutex<Vec<(String, String)>>,
}

impl CallObserver for Recorder {
    fn api_call(&self, api: &str, errcode: &str) {
        self.api.lock().unwrap().push((api.into(), errcode.into()));
    }
    fn token_fetch(&self, source: &str, errcode: &str) {
        self.tokens
            .lock()
            .unwrap()
            .push((source.into(), errcode.into()));
    }
}

struct Setup {
    sim: Simulator,
    client: Arc<Client>,
    recorder: Arc<Recorder>,
    app_id: String,
    clock: SharedClock,
}

async fn setup() -> Setup {
    let clock = clock::system();
    let mut config = SimConfig::demo();
    config.publish_at = Time::midnight();
    let sim = Simulator::new(config.clone(), clock.clone());
    let addr = sim
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = url::Url::parse(&format!("http://{addr}")).unwrap();
    let account = &config.accounts[0];
    let recorder = Arc::new(Recorder::default());
    let http = http_client(std::time::Duration::from_secs(10));
    let source = TokenSource::Stable {
        app_id: account.app_id.clone(),
        secret: SecretString::from(account.app_secret.clone()),
    };
    let tokens = Arc::new(TokenCache::new(
        source,
        http.clone(),
        base.clone(),
        clock.clone(),
        recorder.clone(),
    ));
    let settings = ClientSettings {
        base_url: base,
        max_retries: 2,
        retry_backoff: std::time::Duration::from_millis(1),
    };
    let client = Arc::new(Client::new(
        http,
        settings,
        tokens,
        clock.clone(),
        recorder.clone(),
    ));
    Setup {
        sim,
        client,
        recorder,
        app_id: account.app_id.clone(),
        clock,
    }
}

fn yesterday(clock: &SharedClock) -> DateRange {
    DateRange::day(china_yesterday(clock.now()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_cause_one_token_fetch() {
    let s = setup().await;
    let range = yesterday(&s.clock);
    let requests = (0..50).map(|_| {
        let client = s.client.clone();
        tokio::spawn(async move { client.fetch(Endpoint::UserSummary, range).await })
    });
    for r in futures::future::join_all(requests).await {
        r.unwrap().expect("every request succeeds");
    }
    assert_eq!(s.sim.stable_token_requests(), 1);
    assert_eq!(s.sim.calls_to(&s.app_id, "getusersummary"), 50);
    assert_eq!(
        *s.recorder.tokens.lock().unwrap(),
        vec![("stable".to_string(), "0".to_string())]
    );
    assert_eq!(
        s.recorder
            .api
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, code)| code == "0")
            .count(),
        50
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_fetched_again_once_and_the_call_retried_once() {
    let s = setup().await;
    let range = yesterday(&s.clock);
    s.client
        .fetch(Endpoint::UserCumulate, range)
        .await
        .expect("first call");
    assert_eq!(s.sim.stable_token_requests(), 1);

    // Someone invalidated the token: 40001, one normal-mode fetch, one retry, success.
    s.sim.faults().revoke_tokens();
    let parsed = s
        .client
        .fetch(Endpoint::UserCumulate, range)
        .await
        .expect("the retry succeeds");
    assert_eq!(
        parsed.report,
        s.sim.report(&s.app_id, Endpoint::UserCumulate, range)
    );
    assert_eq!(s.sim.calls_to(&s.app_id, "getusercumulate"), 3);
    assert_eq!(s.sim.stable_token_requests(), 2);
    assert_eq!(s.sim.force_refresh_requests(), 0);

    // It keeps failing: exactly one more fetch and one retry, then the error is reported.
    s.sim
        .faults()
        .fail_account(&s.app_id, "getusercumulate", 40001, None);
    let err = s
        .client
        .fetch(Endpoint::UserCumulate, range)
        .await
        .expect_err("40001 persists");
    assert_eq!(err.class(), ErrorClass::Token);
    assert_eq!(err.errcode(), Some(40001));
    assert_eq!(s.sim.calls_to(&s.app_id, "getusercumulate"), 5);
    assert_eq!(s.sim.stable_token_requests(), 3);
    assert_eq!(s.sim.force_refresh_requests(), 0, "never force_refresh");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("access_token="), "{text}");
}

/// What a central token server does: asks WeChat (here the simulator) for the account's stable
/// token, `force_refresh` to rotate it (it owns the token; the exporter never does this).
async fn central_server_token(
    addr: SocketAddr,
    app_id: &str,
    secret: &str,
    rotate: bool,
) -> String {
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/cgi-bin/stable_token"))
        .json(&serde_json::json!({
            "grant_type": "client_credential",
            "appid": app_id,
            "secret": secret,
            "force_refresh": rotate,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().expect("a token").to_string()
}

/// A `file:PATH` source uses the token a central server rewrote from the very next datacube call,
/// whether the server renames a new file into place or truncates and rewrites the same file, and
/// an empty or half-written file in between does not replace the last good token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_rewritten_by_a_central_server_is_used_on_the_next_call() {
    let clock = clock::system();
    let mut config = SimConfig::demo();
    config.publish_at = Time::midnight();
    let sim = Simulator::new(config.clone(), clock.clone());
    let addr = sim
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let account = &config.accounts[0];
    let (app_id, secret) = (account.app_id.as_str(), account.app_secret.as_str());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access_token");
    let base = url::Url::parse(&format!("http://{addr}")).unwrap();
    let recorder = Arc::new(Recorder::default());
    let http = http_client(std::time::Duration::from_secs(10));
    let tokens = Arc::new(TokenCache::new(
        TokenSource::File(path.clone()),
        http.clone(),
        base.clone(),
        clock.clone(),
        recorder.clone(),
    ));
    let settings = ClientSettings {
        base_url: base,
        max_retries: 0,
        retry_backoff: std::time::Duration::from_millis(1),
    };
    let client = Client::new(http, settings, tokens, clock.clone(), recorder.clone());
    let range = yesterday(&clock);
    let mut calls = 0;
    let mut call_with = |expected: String| {
        calls += 1;
        let (client, sim, recorder) = (&client, &sim, &recorder);
        async move {
            client
                .fetch(Endpoint::UserSummary, range)
                .await
                .expect("the call succeeds");
            assert_eq!(sim.last_token_seen(app_id), Some(expected));
            // One request each: no 40001 and retry with a re-read token.
            assert_eq!(sim.calls_to(app_id, "getusersummary"), calls);
            assert!(
                recorder.api.lock().unwrap().iter().all(|(_, c)| c == "0"),
                "{:?}",
                recorder.api.lock().unwrap()
            );
        }
    };

    let first = central_server_token(addr, app_id, secret, false).await;
    std::fs::write(&path, &first).unwrap();
    call_with(first.clone()).await;

    // Atomically: a temporary file renamed over the old one. The old token is dead at once
    // (force_refresh), so only the new one can succeed.
    let second = central_server_token(addr, app_id, secret, true).await;
    assert_ne!(second, first);
    let temp = dir.path().join(".access_token.tmp");
    std::fs::write(
        &temp,
        format!("{{\"access_token\":\"{second}\",\"expires_in\":7200}}"),
    )
    .unwrap();
    std::fs::rename(&temp, &path).unwrap();
    call_with(second.clone()).await;

    // In place: the same file truncated and written again (same inode; the token has the same
    // length, so the file's size does not change either).
    let third = central_server_token(addr, app_id, secret, true).await;
    assert_eq!(third.len(), second.len());
    let write_in_place = |content: &str| {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.write_all(content.as_bytes()).unwrap();
    };
    write_in_place(&format!(
        "{{\"access_token\":\"{third}\",\"expires_in\":7200}}"
    ));
    call_with(third.clone()).await;

    // Caught between the truncate and the write, or half written: the last good token is used.
    write_in_place("");
    call_with(third.clone()).await;
    write_in_place(&format!("{{\"access_token\":\"{}", &third[..8]));
    call_with(third.clone()).await;
    write_in_place(&format!("{third}\n"));
    call_with(third).await;
    assert_eq!(sim.stable_token_requests(), 3, "only the central server's");
}
