//! Third-party platform secrets never reach the logs: a trace-level run through a wrong ticket
//! (61006), a wrong refresh token (61023), a refresh-token rotation and a wrong component secret
//! (40125) logs no component secret, ticket, component token, authorizer token or refresh token,
//! and neither do /metrics, the landing page or the state directory.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use jiff::SignedDuration;
use jiff::civil::{Time, date, time};
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::config::Config;
use wechat_mp_exporter::simulator::{SimComponent, Simulator};
use wechat_mp_exporter::wechat::date::china_at;

use crate::support::{get, serve, sim_config};

const PLATFORM: &str = "wxcomponent0001";
const WRONG_REFRESH: &str = "refreshtoken@@@never-issued-42";
const WRONG_SECRET: &str = "not-the-component-secret-42";

fn config(dir: &Path, sim: &Simulator, addr: SocketAddr, secret: &str) -> Config {
    let mut text = format!(
        "[wechat]\napi_base_url = \"http://{addr}\"\nretry_backoff = \"1ms\"\n\
         [schedule]\npublish_after = \"00:00\"\nempty_is_zero_after = \"00:00\"\nerror_retry_interval = \"1m\"\n\
         [[component]]\nname = \"agency\"\ncomponent_appid = \"{PLATFORM}\"\ncomponent_appsecret = \"{secret}\"\n\
         component_verify_ticket = \"file:ticket\"\n"
    );
    for (i, appid) in SimComponent::generated(PLATFORM, 3)
        .authorizers
        .iter()
        .enumerate()
    {
        // The third account carries a refresh token the platform never issued.
        let refresh = match i {
            2 => WRONG_REFRESH.to_string(),
            _ => sim.authorizer_refresh_token(appid).unwrap(),
        };
        text.push_str(&format!(
            "[[account]]\nname = \"client-{i}\"\napp_id = \"{appid}\"\ntoken = \"component\"\n\
             authorizer_refresh_token = \"{refresh}\"\nreports = [\"users\"]\n"
        ));
    }
    std::fs::write(dir.join("config.toml"), text).unwrap();
    Config::load(&dir.join("config.toml")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_of_a_failing_platform_hold_no_platform_secret() {
    let capture = super::capture();
    let clock = Arc::new(ManualClock::new(china_at(
        date(2026, 11, 3),
        time(10, 0, 0, 0),
    )));
    let sim = Simulator::new(sim_config(Time::midnight()), clock.clone());
    sim.add_component(SimComponent::generated(PLATFORM, 3));
    let addr = sim
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    let secret = SimComponent::generated(PLATFORM, 0).secret;
    let rotated = SimComponent::generated(PLATFORM, 1).authorizers[0].clone();

    // A wrong ticket, then the right one; a rotation; the wrong refresh token throughout.
    std::fs::write(dir.path().join("ticket"), "ticket@@@wrong-one-42").unwrap();
    let config = config(dir.path(), &sim, addr, &secret);
    let mut exporter = Exporter::with_storage(&config, clock.clone(), Some(&storage)).unwrap();
    let base = serve(&exporter).await;
    exporter.scheduler.tick().await;
    let (_, _, landing_first) = get(&format!("{base}/"), None).await;
    assert!(landing_first.contains("61006"), "{landing_first}");
    std::fs::write(
        dir.path().join("ticket"),
        sim.component_ticket(PLATFORM).unwrap(),
    )
    .unwrap();
    sim.rotate_refresh_token(&rotated);
    clock.advance(SignedDuration::from_secs(60));
    exporter.scheduler.tick().await;
    let (_, _, metrics) = get(&format!("{base}/metrics"), None).await;
    let (_, _, landing) = get(&format!("{base}/"), None).await;
    assert!(landing.contains("61023"), "{landing}");
    exporter.state_writer().unwrap().sync();
    drop(exporter);

    // A wrong AppSecret.
    let config_bad = self::config(dir.path(), &sim, addr, WRONG_SECRET);
    let mut exporter = Exporter::new(&config_bad, clock.clone()).unwrap();
    clock.advance(SignedDuration::from_hours(3));
    exporter.scheduler.tick().await;
    let (_, _, landing_bad) = get(&format!("{}/", serve(&exporter).await), None).await;
    assert!(landing_bad.contains("40125"), "{landing_bad}");

    let saved = crate::support::state_text(&storage);
    assert!(saved.contains("\"version\""), "the state was saved");
    let persisted = std::fs::read_to_string(
        storage
            .join("tokens")
            .join(format!("{rotated}.refresh_token")),
    )
    .unwrap();
    assert_eq!(
        Some(persisted.clone()),
        sim.authorizer_refresh_token(&rotated),
        "the rotation happened and was persisted"
    );

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    for fired in [
        "61006",
        "61023",
        "40125",
        "rotated the authorizer_refresh_token",
    ] {
        assert!(logs.contains(fired), "the run went through {fired:?}");
    }
    let secrets: Vec<String> = sim
        .component_secrets()
        .into_iter()
        .chain(sim.issued_tokens())
        .chain([
            WRONG_REFRESH.to_string(),
            WRONG_SECRET.to_string(),
            "ticket@@@wrong-one-42".to_string(),
            persisted,
        ])
        .collect();
    assert!(secrets.len() > 10, "{} secrets", secrets.len());
    for secret in &secrets {
        assert!(!logs.contains(secret), "a platform secret reached the logs");
        assert!(
            !metrics.contains(secret),
            "a platform secret reached /metrics"
        );
        assert!(
            !landing.contains(secret)
                && !landing_first.contains(secret)
                && !landing_bad.contains(secret),
            "a platform secret reached the landing page"
        );
        assert!(
            !saved.contains(secret),
            "a platform secret reached the state"
        );
    }
    assert!(
        !logs.contains("access_token="),
        "a URL with its token reached the logs"
    );
}
