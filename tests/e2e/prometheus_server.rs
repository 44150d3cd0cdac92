//! The shipped dashboards and alert rules against a real Prometheus server (Debian's package)
//! scraping two exporters that poll simulators: a healthy one, and one whose callbacks fail and whose
//! upstream calls hit quota, 5xx and IP-whitelist errors. Every dashboard query and variable returns
//! data; the callback-failure alert fires for the failing accounts, and so does the probe alert,
//! whose callback servers answer 500 (probes every second); nothing alerts for the healthy ones.
//! The rules are the shipped ones with every `for:` shortened to 2 s in a copy
//! ([`fast_rules`]): waiting out the real windows (2 minutes for the probe alert) would only
//! retest what promtool's rule unit tests (alerts/tests) already pin. A second Prometheus with native histograms enabled scrapes the protobuf
//! format and reads the probe latency back as a native histogram.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jiff::civil::Time;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use wechat_mp_exporter::clock;
use wechat_mp_exporter::simulator::callback::Behaviour;

use crate::support::checks::files;
use crate::support::prometheus::{Prometheus, fast_rules};
use crate::support::{run_exporter, sim_config, stack};

const JOB: &str = "wechat-mp-exporter";
const CALLBACK_ALERT: &str = "WechatMpCallbackFailureRatioHigh";
const PROBE_ALERT: &str = "WechatMpCallbackProbeFailing";

/// Starts a simulator and an exporter polling it; `faulty` breaks callbacks and some calls.
async fn exporter(faulty: bool, shutdown: &CancellationToken) -> SocketAddr {
    let sim = sim_config(Time::midnight());
    let stack = stack(sim, clock::system(), |c| {
        for a in &mut c.accounts {
            if let Some(p) = &mut a.callback_probe {
                p.interval = Duration::from_secs(1);
                p.timeout = Duration::from_secs(1);
            }
            if faulty {
                a.name = a.name.replace("demo", "faulty");
            }
        }
    })
    .await;
    if faulty {
        // The probe URLs keep the simulator's names (demo-N).
        for n in 1..=3 {
            stack
                .simulator
                .callback()
                .set(&format!("demo-{n}"), Behaviour::Status);
        }
        let f = stack.simulator.faults();
        f.set_callback_failure_ratio(Some(0.2));
        f.fail("getusershare", 45009, None);
        f.http_status("getuserreadhour", 502, Some(1));
        f.fail("getupstreammsgdist", 40164, None);
    }
    run_exporter(stack.exporter, shutdown).await.0
}

/// Grafana's variables as a user with "All" selected sees them.
fn expand(expr: &str) -> String {
    let out = expr
        .replace("$__rate_interval", "1m")
        .replace("$__range", "1h")
        .replace("$__interval", "1s")
        .replace("${job}", JOB)
        .replace("$job", JOB)
        .replace("${account}", ".+")
        .replace("$account", ".+");
    assert!(!out.contains('$'), "unexpanded variable in {out}");
    out
}

/// (where, query) of every panel target and every `label_values()` variable of every dashboard.
fn dashboard_queries() -> Vec<(String, String)> {
    fn walk(uid: &str, panels: &Value, out: &mut Vec<(String, String)>) {
        for p in panels.as_array().into_iter().flatten() {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = t["expr"].as_str() {
                    out.push((
                        format!("{uid} panel {:?}", p["title"].as_str().unwrap_or_default()),
                        expand(expr),
                    ));
                }
            }
            walk(uid, &p["panels"], out);
        }
    }
    let mut out = Vec::new();
    for path in files("dashboards", ".json") {
        let d: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let uid = d["uid"].as_str().unwrap_or_default().to_string();
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .unwrap_or_default();
            if let Some((selector, _)) = q
                .strip_prefix("label_values(")
                .and_then(|q| q.rsplit_once(','))
            {
                out.push((
                    format!("{uid} variable ${}", v["name"].as_str().unwrap_or_default()),
                    expand(selector),
                ));
            }
        }
        walk(&uid, &d["panels"], &mut out);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_have_data_and_callback_failures_fire_in_a_real_prometheus() {
    let shutdown = CancellationToken::new();
    let healthy = exporter(false, &shutdown).await;
    let faulty = exporter(true, &shutdown).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = fast_rules(dir.path());
    let prometheus = Prometheus::start(&[healthy, faulty], &rules).await;
    // Both exporters scraped: 3 accounts each.
    let both = format!("count(wechat_mp_followers{{job=\"{JOB}\"}}) == 6");
    let scraped = prometheus.wait_for(&both, Duration::from_secs(60)).await;
    assert!(
        !scraped.is_empty(),
        "both exporters' 3 accounts were not scraped within 60 s"
    );

    let queries = dashboard_queries();
    assert!(
        queries.len() > 40,
        "the four dashboards hold {} queries",
        queries.len()
    );
    for (at, query) in &queries {
        // Rates need a few scrapes: wait (bounded), then insist.
        let result = prometheus.wait_for(query, Duration::from_secs(90)).await;
        assert!(!result.is_empty(), "no data within 90 s for {at}: {query}");
    }
    println!(
        "{} dashboard queries and variables returned data",
        queries.len()
    );

    // The failing accounts' callback and probe alerts reach `firing`. Meanwhile no rule (pending
    // or firing) concerns a healthy account or the exporter as a whole.
    let start = Instant::now();
    let mut callback_fired = None;
    loop {
        let alerts = prometheus.alerts().await;
        for a in &alerts {
            let account = a["labels"]["account"].as_str().unwrap_or_default();
            assert!(
                account.starts_with("faulty-"),
                "an alert outside the failing accounts: {a}"
            );
        }
        let firing = |name: &str| -> Vec<&Value> {
            alerts
                .iter()
                .filter(|a| a["labels"]["alertname"] == name && a["state"] == "firing")
                .collect()
        };
        let callbacks = firing(CALLBACK_ALERT);
        if callbacks.len() == 3 && callback_fired.is_none() {
            let description = callbacks[0]["annotations"]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(
                description.contains('%'),
                "the description carries the ratio: {description}"
            );
            println!(
                "{CALLBACK_ALERT} firing for the 3 failing accounts after {:?}",
                start.elapsed()
            );
            callback_fired = Some(start.elapsed());
        }
        if callback_fired.is_some() && firing(PROBE_ALERT).len() == 3 {
            let names: Vec<&str> = alerts
                .iter()
                .filter_map(|a| a["labels"]["alertname"].as_str())
                .collect();
            println!(
                "{PROBE_ALERT} firing for the 3 failing accounts after {:?}; active: {names:?}",
                start.elapsed()
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "{CALLBACK_ALERT} or {PROBE_ALERT} did not fire: {alerts:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // The probe's failures carry their reason.
    let status = prometheus
        .wait_for(
            "sum(wechat_mp_callback_probe_failures_total{account=~\"faulty-.+\", reason=\"status\"}) > 0",
            Duration::from_secs(10),
        )
        .await;
    assert!(!status.is_empty(), "failures by reason status");
    let healthy_failures = prometheus
        .wait_for(
            "sum(wechat_mp_callback_probe_failures_total{account=~\"demo-.+\"}) == 0",
            Duration::from_secs(10),
        )
        .await;
    assert!(
        !healthy_failures.is_empty(),
        "the healthy probes never failed"
    );
    shutdown.cancel();
}

/// Prometheus with `--enable-feature=native-histograms` asks for protobuf first; the probe
/// latency arrives as a native histogram (2.42 then keeps only the native form of a histogram
/// that has both, which is why the dashboards test runs without the feature).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_histogram_prometheus_reads_the_probe_latency_at_full_resolution() {
    let shutdown = CancellationToken::new();
    let healthy = exporter(false, &shutdown).await;
    let prometheus = Prometheus::start_with_features(&[healthy], &[], &["native-histograms"]).await;
    let latency = "wechat_mp_callback_probe_latency_seconds";
    let count = format!("histogram_count({latency}{{job=\"{JOB}\"}}) > 0");
    let result = prometheus.wait_for(&count, Duration::from_secs(60)).await;
    assert_eq!(
        result.len(),
        3,
        "histogram_count over the native probe latency of the 3 accounts: {result:?}"
    );
    // A native histogram answers histogram_quantile without any `_bucket` series.
    let quantile = format!("histogram_quantile(0.5, {latency}{{job=\"{JOB}\"}})");
    let result = prometheus
        .wait_for(&quantile, Duration::from_secs(10))
        .await;
    assert_eq!(result.len(), 3, "{result:?}");
    let buckets = prometheus
        .query(&format!("{latency}_bucket{{job=\"{JOB}\"}}"))
        .await
        .unwrap();
    assert!(
        buckets.is_empty(),
        "stored as native, not classic: {buckets:?}"
    );
    // The rest of the body came through protobuf too.
    let up = prometheus
        .wait_for(
            &format!("wechat_mp_up{{job=\"{JOB}\"}} == 1"),
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(up.len(), 3, "{up:?}");
    shutdown.cancel();
}
