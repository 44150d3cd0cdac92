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
