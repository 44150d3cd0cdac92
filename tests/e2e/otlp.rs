//! The OTLP push end to end, against in-process receivers that decode the protobuf for real:
//! the series pushed are the `/metrics` series (names as Prometheus' OTLP translation makes
//! them, labels, values), over gRPC and HTTP/protobuf, with the configured headers and resource;
//! a family far past the SDK's default cardinality limit arrives whole; and the real binary,
//! set up by `OTEL_*` variables only, survives a receiver outage without logging header values.

mod prometheus_name;
mod receiver;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::civil::{Time, date, time};
use wechat_mp_exporter::clock::{self, ManualClock};
use wechat_mp_exporter::config::ConfigError;
use wechat_mp_exporter::latest::{AccountReports, AccountStatus};
use wechat_mp_exporter::metrics::Store;
use wechat_mp_exporter::otlp::{OtlpSettings, Pusher, config};
use wechat_mp_exporter::simulator::Simulator;
use wechat_mp_exporter::wechat::date::china_at;

use crate::support::harness::exporter_command;
use crate::support::{get, parse_text, serve, sim_config, stack};
use receiver::{Point, Received, Receiver};

const TOKEN: &str = "tok-3f9a1c0e77d2";

/// Settings from an `[otlp]` table, `${OTLP_TOKEN}` expanded from a fake environment.
fn settings(table: &str) -> OtlpSettings {
    let env = |name: &str| (name == "OTLP_TOKEN").then(|| TOKEN.to_string());
    let mut errors: Vec<ConfigError> = Vec::new();
    let value: toml::Table = table.parse().unwrap();
    let s = config::resolve(value.get("otlp").cloned(), &env, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    s.expect("push is on")
}

/// The callback probe's latency histogram, pushed as a histogram (compared apart, by
/// `the_probe_histogram_and_counter_start_times_hold_across_pushes`).
const NOT_PUSHED: &str = "wechat_mp_callback_probe_latency_seconds_";

/// (name, labels) -> value of the classic text exposition, without `process_*` and the probe's
/// latency histogram.
fn series_of_metrics(body: &str) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    parse_text(body)
        .into_iter()
        .filter(|s| !s.name.starts_with("process_") && !s.name.starts_with(NOT_PUSHED))
        .map(|s| ((s.name, s.labels), s.value))
        .collect()
}

fn series_of_push(points: &[Point]) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let mut out = BTreeMap::new();
    for p in points {
        let old = out.insert((p.name.clone(), p.labels.clone()), p.value);
        assert!(old.is_none(), "{} {:?} pushed twice", p.name, p.labels);
    }
    out
}

/// Polls the demo's three simulated accounts once, pushes once to `receiver`, and checks the
/// push against `/metrics` fetched just before it (nothing changes the store in between).
async fn push_matches_metrics(receiver: &Receiver, protocol: &str) {
    let day = date(2026, 11, 3);
    let clock = Arc::new(ManualClock::new(china_at(day, time(10, 0, 0, 0))));
    let mut stack = stack(sim_config(Time::constant(9, 0, 0, 0)), clock, |_| {}).await;
    stack.exporter.scheduler.tick().await;
    // Probe results as the probe tasks would report them (not started here: the values stay
    // put between /metrics and the push).
    {
        use wechat_mp_exporter::probe::{FailureReason, Outcome, ProbeSink};
        let store = &stack.exporter.store;
        store.probe_added("demo-1");
        store.probe_result(
            "demo-1",
            &Outcome {
                duration: Duration::from_millis(1250),
                failure: Some(FailureReason::Timeout),
            },
        );
        store.probe_added("demo-2");
    }
    let base = serve(&stack.exporter).await;
    let s = settings(&format!(
        r#"
[otlp]
endpoint = "http://{}"
protocol = "{protocol}"
interval = "1h"
timeout = "5s"
headers = {{ authorization = "Bearer ${{OTLP_TOKEN}}" }}
resource_attributes = {{ "deployment.environment" = "test" }}
"#,
        receiver.addr
    ));
    let pusher = Pusher::new(&s, stack.exporter.store.clone()).expect("the exporter builds");

    // A first scrape encodes the business block (and counts it); the second shows that count,
    // and nothing changes it again before the push.
    get(&format!("{base}/metrics"), None).await;
    let (_, _, before) = get(&format!("{base}/metrics"), None).await;
    let report = pusher.push_once().await.expect("the push succeeds");
    let got = receiver.wait_for(2).await;
    assert_eq!(
        got.len(),
        2,
        "one push: a request of gauges, one of counters"
    );
    let want = series_of_metrics(&before);
    let points: Vec<Point> = got.iter().flat_map(Received::points).collect();
    let pushed = series_of_push(&points);
    assert_eq!(report.series, pushed.len());
    let missing: Vec<_> = want.keys().filter(|k| !pushed.contains_key(*k)).collect();
    let extra: Vec<_> = pushed.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(missing.is_empty(), "in /metrics, not pushed: {missing:?}");
    assert!(extra.is_empty(), "pushed, not in /metrics: {extra:?}");
    for (key, value) in &want {
        assert_eq!(pushed[key], *value, "{key:?}");
    }
    // Every account and many families made it (the comparison above is not vacuous).
    let accounts: BTreeSet<_> = points
        .iter()
        .filter_map(|p| p.labels.get("account"))
        .collect();
    assert_eq!(accounts.len(), 3, "{accounts:?}");
    assert!(want.len() > 300, "only {} series", want.len());

    // Types: counters are monotonic cumulative sums, gauges are gauges, integers stay integers.
    let kind = |name: &str| {
        points
            .iter()
            .find(|p| p.name == name)
            .map(|p| (p.kind, p.int))
    };
    assert_eq!(kind("wechat_mp_api_requests_total"), Some(("sum", true)));
    assert_eq!(kind("wechat_mp_followers"), Some(("gauge", true)));
    assert_eq!(
        kind("wechat_mp_last_poll_duration_seconds"),
        Some(("gauge", false))
    );
    for p in &points {
        assert_eq!(p.kind == "sum", p.name.ends_with("_total"), "{}", p.name);
    }
    // The probe's families travel too (its histogram apart, see NOT_PUSHED).
    assert_eq!(
        kind("wechat_mp_callback_probe_failures_total"),
        Some(("sum", true))
    );
    assert_eq!(
        kind("wechat_mp_callback_probe_success"),
        Some(("gauge", true))
    );
    assert_eq!(
        kind("wechat_mp_callback_probe_duration_seconds"),
        Some(("gauge", false))
    );
    assert!(
        before.contains("wechat_mp_callback_probe_latency_seconds_count{account=\"demo-1\"} 1\n")
    );

    // The configured header and the resource arrive.
    assert_eq!(
        got[0].headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let resource = got[0].resource();
    assert_eq!(resource["service.name"], "wechat-mp-exporter");
    assert_eq!(resource["service.version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(resource["deployment.environment"], "test");
    assert_eq!(resource["service.instance.id"].len(), 36, "a UUID");

    // The push is counted on /metrics.
    let (_, _, after) = get(&format!("{base}/metrics"), None).await;
    assert!(before.contains("wechat_mp_exporter_otlp_exports_total{result=\"success\"} 0\n"));
    assert_eq!(exports(&after, "success"), 1.0);
    assert!(after.contains("wechat_mp_exporter_otlp_exports_total{result=\"failure\"} 0\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_push_is_the_metrics_exposition_series_for_series() {
    let receiver = receiver::grpc(SocketAddr::from(([127, 0, 0, 1], 0))).await;
    push_matches_metrics(&receiver, "grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_push_is_the_metrics_exposition_series_for_series() {
    let receiver = receiver::http(SocketAddr::from(([127, 0, 0, 1], 0))).await;
    push_matches_metrics(&receiver, "http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn families_far_past_the_sdk_cardinality_limit_arrive_whole() {
    let receiver = receiver::grpc(SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let store = Store::new("0.0.0", "test");
    let status = AccountStatus {
        up: true,
        ..AccountStatus::default()
    };
    let add = |from: usize, to: usize| {
        for i in from..to {
            store.update_account(
                &format!("acct-{i:05}"),
                &AccountReports::default(),
                &status,
                10,
            );
        }
    };
    add(0, 2500);
    let s = settings(&format!(
        "[otlp]\nendpoint = \"http://{}\"\ninterval = \"1h\"\n",
        receiver.addr
    ));
    let pusher = Pusher::new(&s, store.clone()).unwrap();
    pusher.push_once().await.expect("first push");
    assert_eq!(
        receiver.wait_for(2).await.len(),
        2,
        "2500 series: one request of gauges, one of counters"
    );
    // Grown past the limits the first push sized: the instruments are rebuilt, nothing is cut;
    // and past the series one request carries: two requests.
    add(2500, 12_000);
    pusher.push_once().await.expect("second push");
    let got = receiver.wait_for(5).await;
    assert_eq!(
        got.len(),
        5,
        "12000 series: two parts of gauges, the counters with the last"
    );
    for (requests, accounts) in [(&got[..2], 2500), (&got[2..], 12_000)] {
        let points: Vec<Point> = requests.iter().flat_map(Received::points).collect();
        let up: Vec<&Point> = points.iter().filter(|p| p.name == "wechat_mp_up").collect();
        assert_eq!(up.len(), accounts);
        let names: BTreeSet<&str> = up
            .iter()
            .filter_map(|p| p.labels.get("account").map(String::as_str))
            .collect();
        assert_eq!(names.len(), accounts, "every account once");
        assert!(up.iter().all(|p| p.value == 1.0));
        assert!(
            points
                .iter()
                .all(|p| !p.labels.contains_key("otel.metric.overflow")),
            "no series folded into the overflow series"
        );
        // The exporter's own series travel once per push too.
        let build_info = points
            .iter()
            .filter(|p| p.name == "wechat_mp_exporter_build_info")
            .count();
        assert_eq!(build_info, 1);
    }
}

/// The real binary, configured by `OTEL_*` variables only, at debug level: pushes, keeps
/// serving while the receiver is down (failures counted), pushes again when it is back, and
/// pushes once more on SIGTERM; no header value reaches the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_configured_binary_rides_out_a_receiver_outage_and_keeps_headers_out_of_logs() {
    let sim = sim_config(Time::midnight());
    let simulator = Simulator::new(sim.clone(), clock::system());
    let sim_addr = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let receiver = receiver::http(SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let receiver_addr = receiver.addr;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    let mut text = format!(
        "[wechat]\napi_base_url = \"http://{sim_addr}\"\nretry_backoff = \"1ms\"\n[schedule]\npublish_after = \"00:00\"\nempty_is_zero_after = \"00:00\"\n"
    );
    for (i, a) in sim.accounts.iter().enumerate() {
        text.push_str(&format!(
            "[[account]]\nname = \"demo-{}\"\napp_id = \"{}\"\napp_secret = \"{}\"\n",
            i + 1,
            a.app_id,
            a.app_secret
        ));
    }
    std::fs::write(&path, text).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = exporter_command()
        .arg(format!("--config.file={}", path.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=debug")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{receiver_addr}"),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("authorization=Bearer%20{TOKEN}"),
        )
        .env("OTEL_METRIC_EXPORT_INTERVAL", "1000")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "800")
        .env("OTEL_SERVICE_NAME", "wx-env-test")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .env_remove("WECHAT_MP_EXPORTER_CONFIG_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    let sink = logs.clone();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut logs = sink.lock().unwrap();
            logs.push_str(&line);
            logs.push('\n');
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    crate::support::wait_until_ok(&format!("{base}/-/ready")).await;

    // Pushes arrive with the data, the header and the service name from the environment.
    let with_data = wait_for_push(&receiver, |r| {
        r.points().iter().any(|p| p.name == "wechat_mp_followers")
    })
    .await;
    assert_eq!(
        with_data.headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the header value is percent-decoded"
    );
    assert_eq!(with_data.resource()["service.name"], "wx-env-test");

    // The exporter counts a push once its answer is back, a moment after the receiver has it.
    wait_for_exports(&base, "success", |n| n >= 1.0).await;
    // The receiver goes away for several intervals.
    receiver.stop().await;
    let (status, _, body) = get(&format!("{base}/metrics"), None).await;
    assert_eq!(status, 200);
    let failures_at_stop = exports(&body, "failure");
    let successes_at_stop = exports(&body, "success");
    assert!(successes_at_stop >= 1.0);
    let mut failures = failures_at_stop;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, _, body) = get(&format!("{base}/metrics"), None).await;
        assert_eq!(status, 200, "/metrics is served during the outage");
        assert!(
            body.contains("wechat_mp_up{account=\"demo-1\"} 1"),
            "the polled data stays"
        );
        failures = exports(&body, "failure");
        if failures >= failures_at_stop + 3.0 {
            break;
        }
    }
    assert!(
        failures >= failures_at_stop + 3.0,
        "failures counted: {failures_at_stop} -> {failures}"
    );
    let (status, _, _) = get(&format!("{base}/-/ready"), None).await;
    assert_eq!(status, 200);

    // Back on the same port: pushing resumes, data arrives, successes rise.
    let receiver = receiver::http(receiver_addr).await;
    wait_for_push(&receiver, |r| {
        r.points().iter().any(|p| p.name == "wechat_mp_followers")
    })
    .await;
    // The counters travel in their own request of the same push.
    let resumed = wait_for_push(&receiver, |r| {
        r.points()
            .iter()
            .any(|p| p.name == "wechat_mp_exporter_otlp_exports_total")
    })
    .await;
    let pushed_failures = resumed
        .points()
        .into_iter()
        .find(|p| {
            p.name == "wechat_mp_exporter_otlp_exports_total"
                && p.labels.get("result").map(String::as_str) == Some("failure")
        })
        .map(|p| p.value);
    assert!(
        pushed_failures >= Some(failures_at_stop + 3.0),
        "the outage is in the pushed counter too: {pushed_failures:?}"
    );
    wait_for_exports(&base, "success", |n| n > successes_at_stop).await;

    // SIGTERM: one last push, then a clean exit.
    let before_term = receiver.received().len();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "SIGTERM shuts down cleanly: {exit:?}");
    reader.join().unwrap();
    assert!(
        receiver.received().len() > before_term,
        "the last batch was pushed on SIGTERM"
    );

    let logs = logs.lock().unwrap().clone();
    assert!(logs.contains("level=debug"), "debug logs were captured");
    assert!(
        logs.contains("OTLP push failed"),
        "the outage was logged:\n{logs}"
    );
    assert!(
        logs.contains("OTLP push works again"),
        "the recovery was logged:\n{logs}"
    );
    assert!(
        logs.contains("pushing the last OTLP batch before exit"),
        "{logs}"
    );
    assert!(
        !logs.contains(TOKEN),
        "a header value reached the logs:\n{logs}"
    );
    for a in &sim.accounts {
        assert!(
            !logs.contains(&a.app_secret),
            "an app secret reached the logs"
        );
    }
}

fn exports(body: &str, result: &str) -> f64 {
    parse_text(body)
        .into_iter()
        .find(|s| {
            s.name == "wechat_mp_exporter_otlp_exports_total" && s.label("result") == Some(result)
        })
        .map_or(0.0, |s| s.value)
}

/// Waits (at most 30 s) until `/metrics` shows `wechat_mp_exporter_otlp_exports_total{result}`
/// passing `done`.
async fn wait_for_exports(base: &str, result: &str, done: impl Fn(f64) -> bool) {
    let mut last = 0.0;
    for _ in 0..300 {
        let (_, _, body) = get(&format!("{base}/metrics"), None).await;
        last = exports(&body, result);
        if done(last) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("exports_total{{result={result:?}}} stayed at {last} for 30 s");
}

async fn wait_for_push(receiver: &Receiver, done: impl Fn(&Received) -> bool) -> Received {
    for _ in 0..300 {
        if let Some(r) = receiver.received().into_iter().rev().find(|r| done(r)) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no matching push within 30 s ({} received)",
        receiver.received().len()
    );
}

/// A refused push fails fast, is counted, and its error names no header value, for both
/// transports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_push_is_counted_and_its_error_holds_no_header_value() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for protocol in ["grpc", "http/protobuf"] {
        let store = Store::new("0.0.0", "test");
        let s = settings(&format!(
            "[otlp]\nendpoint = \"http://127.0.0.1:{port}\"\nprotocol = \"{protocol}\"\ntimeout = \"2s\"\nheaders = {{ authorization = \"Bearer ${{OTLP_TOKEN}}\" }}\n"
        ));
        let pusher = Pusher::new(&s, store.clone()).unwrap();
        let error = pusher.push_once().await.expect_err("nothing listens");
        assert!(!error.contains(TOKEN), "{protocol}: {error}");
        let body = String::from_utf8(store.exposition().text.to_vec()).unwrap();
        assert_eq!(exports(&body, "failure"), 1.0, "{protocol}");
        assert_eq!(exports(&body, "success"), 0.0, "{protocol}");
    }
}

/// `check-config` names every bad `[otlp]` key (and a bad variable) with its fix.
#[test]
fn check_config_reports_otlp_problems_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    std::fs::write(
        &path,
        r#"
[otlp]
endpoint = "collector:4317"
interval = "100ms"
headers = { authorization = "Bearer ${OTLP_TOKEN_NOT_SET}" }
compresion = "gzip"
[[account]]
name = "brand"
app_id = "wx0123456789abcdef"
token = "file:/dev/null"
"#,
    )
    .unwrap();
    let out = exporter_command()
        .arg("check-config")
        .arg(format!("--config.file={}", path.display()))
        .env_remove("OTLP_TOKEN_NOT_SET")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for line in [
        "otlp.endpoint: \"collector:4317\" is not an http(s) URL; use e.g. \"http://collector:4317\"",
        "otlp.interval: \"100ms\" is too short; use at least 1s",
        "otlp.headers.authorization: environment variable OTLP_TOKEN_NOT_SET is not set",
        "otlp.compresion: unknown key; remove it or use one of: endpoint,",
        "OTEL_EXPORTER_OTLP_TIMEOUT: \"soon\" is not a whole number of milliseconds",
    ] {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }

    std::fs::write(&path, "[otlp]\nendpoint = \"http://collector:4318\"\nprotocol = \"http/protobuf\"\n[[account]]\nname = \"brand\"\napp_id = \"wx0123456789abcdef\"\ntoken = \"file:/dev/null\"\n").unwrap();
    let out = exporter_command()
        .arg("check-config")
        .arg(format!("--config.file={}", path.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("OTLP push to http://collector:4318/v1/metrics every 1m"),
        "{stdout}"
    );
}

/// A collector that accepts connections and never answers: every push fails at the timeout,
/// while polling and `/metrics` carry on, and shutdown still ends within about one timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_collector_delays_neither_polls_nor_scrapes_nor_shutdown() {
    // Accepts and holds every connection, reading nothing.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole = black_hole.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = black_hole.accept().await {
            held.push(conn);
        }
    });
    // Both protocols at once: each waits out real timeouts.
    let hang = |protocol: &'static str| async move {
        let day = date(2026, 11, 3);
        let clock = Arc::new(ManualClock::new(china_at(day, time(10, 0, 0, 0))));
        let mut stack = stack(
            sim_config(Time::constant(9, 0, 0, 0)),
            clock.clone(),
            |_| {},
        )
        .await;
        stack.exporter.scheduler.tick().await;
        let base = serve(&stack.exporter).await;
        let s = settings(&format!(
            "[otlp]\nendpoint = \"http://{hole}\"\nprotocol = \"{protocol}\"\ninterval = \"1s\"\ntimeout = \"1s\"\n"
        ));
        let pusher = Pusher::new(&s, stack.exporter.store.clone()).unwrap();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let run = tokio::spawn(pusher.run(shutdown.clone()));

        // While pushes hang: a poll round for the next day completes and scrapes are answered.
        let calls_before = stack.simulator.calls().values().sum::<u64>();
        clock.set(china_at(
            wechat_mp_exporter::wechat::date::add_days(day, 1),
            time(10, 0, 0, 0),
        ));
        tokio::time::timeout(Duration::from_secs(30), stack.exporter.scheduler.tick())
            .await
            .expect("the poll round is not held up by the push");
        assert!(
            stack.simulator.calls().values().sum::<u64>() > calls_before,
            "{protocol}: it polled"
        );
        let mut failures = 0.0;
        for _ in 0..60 {
            let (status, _, body) = tokio::time::timeout(
                Duration::from_secs(5),
                get(&format!("{base}/metrics"), None),
            )
            .await
            .expect("a scrape is not held up by the push");
            assert_eq!(status, 200);
            failures = exports(&body, "failure");
            if failures >= 2.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(
            failures >= 2.0,
            "{protocol}: hanging pushes fail at the timeout and are counted: {failures}"
        );

        // Shutdown: the push in flight is dropped, the last one is bounded by the timeout.
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("shutdown ends within about one timeout")
            .unwrap();
    };
    tokio::join!(hang("grpc"), hang("http/protobuf"));
}

/// Ten pushes, a family appearing for the first time before the sixth: the request counter's
/// start time never moves; and the probe latency arrives as a histogram with the bounds and
/// counts `/metrics` shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_histogram_and_counter_start_times_hold_across_pushes() {
    use wechat_mp_exporter::probe::{FailureReason, Outcome, ProbeSink};
    let receiver = receiver::http(SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let store = Store::new("0.0.0", "test");
    let status = AccountStatus {
        up: true,
        ..AccountStatus::default()
    };
    store.update_account("a", &AccountReports::default(), &status, 10);
    store
        .self_metrics()
        .observer("a")
        .api_call("getusercumulate", "0");
    let s = settings(&format!(
        "[otlp]\nendpoint = \"http://{}\"\nprotocol = \"http/protobuf\"\ninterval = \"1h\"\n",
        receiver.addr
    ));
    // Built before the first probe, as the binary does.
    let pusher = Pusher::new(&s, store.clone()).unwrap();
    store.probe_added("a");
    let mut starts = Vec::new();
    for push in 0..10u64 {
        store.probe_result(
            "a",
            &Outcome {
                duration: Duration::from_millis(40 + 700 * push),
                failure: (push % 3 == 0).then_some(FailureReason::Timeout),
            },
        );
        if push == 5 {
            // First token fetch: a counter family the pushes have not seen.
            store
                .self_metrics()
                .observer("a")
                .token_fetch("stable", "0");
        }
        let before = receiver.received().len();
        pusher.push_once().await.expect("the push succeeds");
        let got = receiver.wait_for(before + 1).await;
        let this_push = &got[before..];
        let mut times: Vec<u64> = this_push
            .iter()
            .flat_map(|r| r.sum_start_times("wechat_mp_api_requests"))
            .collect();
        assert_eq!(times.len(), 1, "push {push}: one request series");
        starts.push(times.pop().unwrap());
        if push == 5 {
            assert!(
                this_push
                    .iter()
                    .any(|r| !r.sum_start_times("wechat_mp_token_fetches").is_empty()),
                "the new family is pushed"
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        starts.iter().all(|t| *t == starts[0] && *t > 0),
        "{starts:?}"
    );

    // The last push's histogram against /metrics.
    let last: Vec<_> = receiver
        .received()
        .iter()
        .flat_map(Received::histograms)
        .collect();
    let h = last.last().expect("the probe histogram is pushed");
    assert_eq!(h.name, "wechat_mp_callback_probe_latency");
    assert_eq!(h.unit, "s");
    assert_eq!(h.labels.get("account").map(String::as_str), Some("a"));
    let text = String::from_utf8(store.exposition().text.to_vec()).unwrap();
    let buckets: Vec<(f64, u64)> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("wechat_mp_callback_probe_latency_seconds_bucket{account=\"a\",le=\"")
        })
        .map(|rest| {
            let (le, value) = rest.split_once("\"} ").unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, value.parse().unwrap())
        })
        .collect();
    assert_eq!(buckets.len(), 11, "{text}");
    let bounds: Vec<f64> = buckets[..10].iter().map(|(le, _)| *le).collect();
    assert_eq!(h.bounds, bounds);
    let cumulative: Vec<u64> = h
        .counts
        .iter()
        .scan(0, |sum, n| {
            *sum += n;
            Some(*sum)
        })
        .collect();
    let metrics_counts: Vec<u64> = buckets.iter().map(|(_, n)| *n).collect();
    assert_eq!(cumulative, metrics_counts);
    assert_eq!(h.count, 10);
    let sum_line = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("wechat_mp_callback_probe_latency_seconds_sum{account=\"a\"} ")
        })
        .unwrap();
    assert!((h.sum - sum_line.parse::<f64>().unwrap()).abs() < 1e-9);
}
