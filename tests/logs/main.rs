//! Secrets never reach the logs. Both runs log at trace level through the production logging
//! set-up into one capture (the global subscriber is installed once per process, which is why this
//! is a binary of its own): `faults` (in this file) goes through every fault the simulator injects
//! (bad secret, rejected tokens, every errcode class, 5xx, broken JSON, a read timeout) and finds
//! neither an app secret nor any access token the simulator issued, nor a callback probe's Token or
//! EncodingAESKey; `component` does the same for a third-party platform's secrets. Neither do
//! /metrics, the landing page and the saved state.

mod component;
#[path = "../support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use jiff::civil::{Time, date, time};
use tracing_subscriber::fmt::MakeWriter;
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::logging::{self, LogFormat, LogLevel};
use wechat_mp_exporter::wechat::date::{add_days, china_at};

use support::{get, serve, sim_config, stack};

/// A callback Token the simulated server does not know.
const WRONG_PROBE_TOKEN: &str = "notthesimtoken42";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// The one capture of this binary's global subscriber (installed by the first test that asks).
fn capture() -> Capture {
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            logging::install(LogLevel::Trace, LogFormat::Logfmt, capture.clone())
                .expect("the only subscriber in this test binary");
            capture
        })
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_of_a_failing_run_hold_no_secret_and_no_token() {
    let capture = capture();

    let day = date(2026, 11, 3);
    let clock = Arc::new(ManualClock::new(china_at(day, time(10, 0, 0, 0))));
    // Probes every 200 ms: demo-1's server answers wrong, demo-2 sends safe-mode messages,
    // demo-3 has the wrong Token (the server rejects its signature).
    let mut stack = stack(sim_config(Time::constant(9, 0, 0, 0)), clock.clone(), |c| {
        c.wechat.timeout = std::time::Duration::from_millis(300);
        for a in &mut c.accounts {
            let p = a.callback_probe.as_mut().expect("the demo config probes");
            p.interval = std::time::Duration::from_millis(200);
        }
        c.accounts[2].callback_probe.as_mut().unwrap().token =
            secrecy::SecretString::from(WRONG_PROBE_TOKEN);
    })
    .await;
    let state = tempfile::tempdir().unwrap();
    stack.exporter = wechat_mp_exporter::app::Exporter::with_storage(
        &stack.config,
        clock.clone(),
        Some(state.path()),
    )
    .unwrap();
    stack.simulator.callback().set(
        "demo-1",
        wechat_mp_exporter::simulator::callback::Behaviour::WrongEcho,
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    stack.exporter.start_probes(shutdown.clone());
    let sim = stack.simulator.clone();
    let accounts = stack.config.accounts.clone();
    sim.faults()
        .fail_account(&accounts[0].app_id, "stable_token", 40125, Some(1));
    sim.faults().http_status("getusersummary", 502, Some(2));
    sim.faults().malformed("getuserread", Some(1));
    sim.faults().fail("getupstreammsg", 40164, Some(1));
    sim.faults().fail("getuserreadhour", -1, Some(4));
    sim.faults().fail("getusershare", 45009, Some(1));
    sim.faults().fail("getusersharehour", 45011, Some(1));
    sim.faults().fail("getarticlesummary", 48001, Some(1));
    sim.faults().fail("getarticletotal", 47009, Some(1));
    sim.faults().fail("getupstreammsghour", 61503, Some(1));
    sim.faults()
        .http_status("getinterfacesummaryhour", 500, Some(4));
    sim.faults()
        .delay("getbizsummary", std::time::Duration::from_secs(1));

    stack.exporter.scheduler.tick().await;
    let base = serve(&stack.exporter).await;
    let (_, _, first_landing) = get(&format!("{base}/"), None).await;
    assert!(
        first_landing.contains("40125"),
        "the landing page shows the last error in words:\n{first_landing}"
    );
    sim.faults().revoke_tokens();
    sim.faults().fail("getinterfacesummary", 40001, Some(3));
    clock.set(china_at(add_days(day, 1), time(10, 0, 0, 0)));
    stack.exporter.scheduler.tick().await;

    // Enough for a few probes of each account, with failures and the safe-mode message.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, _, metrics) = get(&format!("{base}/metrics"), None).await;
    let (_, _, landing) = get(&format!("{base}/"), None).await;
    shutdown.cancel();
    assert!(
        metrics.contains(r#"wechat_mp_callback_probe_failures_total{account="demo-3",reason="signature_rejected"}"#)
            && metrics.contains(r#"wechat_mp_callback_probe_success{account="demo-2"} 1"#)
            && metrics.contains(r#"wechat_mp_callback_probe_success{account="demo-1"} 0"#),
        "the probes ran:\n{metrics}"
    );

    stack.exporter.state_writer().unwrap().sync();
    let saved = support::state_text(state.path());
    assert!(saved.contains("\"version\""), "the state was saved");

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("level=trace") || logs.contains("level=debug"),
        "trace-level logs were captured"
    );
    assert!(
        logs.contains("40125"),
        "the bad-secret error was logged:\n{logs}"
    );
    assert!(
        logs.contains("40001"),
        "the rejected-token error was logged"
    );
    // Every per-account line names its account (the account's own token cache logs it); a
    // platform's component token is shared by its accounts, not one account's.
    let fetched: Vec<&str> = logs
        .lines()
        .filter(|l| {
            l.contains("access token fetched")
                || l.contains("datacube request failed")
                || (l.contains(" api=") && !l.contains("source=wechat_mp_exporter::simulator"))
        })
        .filter(|l| !l.contains("token_source=component_token"))
        .collect();
    assert!(!fetched.is_empty(), "tokens were fetched:\n{logs}");
    for line in fetched {
        assert!(line.contains(" account="), "no account in: {line}");
    }
    for fired in [
        "errcode -1",
        "errcode 45009",
        "errcode 45011",
        "errcode 48001",
        "errcode 47009",
        "errcode 61503",
        "HTTP status 500",
        "HTTP status 502",
        "invalid JSON",
        "network error",
    ] {
        assert!(logs.contains(fired), "the run went through {fired:?}");
    }
    let tokens = sim.issued_tokens();
    assert!(
        tokens.len() >= 3,
        "tokens were issued and replaced: {}",
        tokens.len()
    );
    let secrets = sim_config(Time::midnight())
        .accounts
        .into_iter()
        .map(|a| a.app_secret);
    assert!(
        logs.contains("callback probe fails"),
        "the probe failures were logged"
    );
    let probe_secrets = [
        wechat_mp_exporter::simulator::callback::SIM_CALLBACK_TOKEN.to_string(),
        wechat_mp_exporter::simulator::callback::SIM_ENCODING_AES_KEY.to_string(),
        WRONG_PROBE_TOKEN.to_string(),
    ];
    for secret in secrets.chain(tokens).chain(probe_secrets) {
        assert!(
            !logs.contains(&secret),
            "a secret or token reached the logs"
        );
        assert!(
            !metrics.contains(&secret),
            "a secret or token reached /metrics"
        );
        assert!(
            !landing.contains(&secret) && !first_landing.contains(&secret),
            "a secret or token reached the landing page"
        );
        assert!(
            !saved.contains(&secret),
            "a secret or token reached the state"
        );
    }
    assert!(
        !logs.contains("access_token="),
        "a URL with its token reached the logs"
    );
}
