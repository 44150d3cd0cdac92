//! The shipped dashboards and alert rules against a real Prometheus server (Debian's package)
//! scraping two exporters that poll simulators: a healthy one, and one whose callbacks fail and whose
//! upstream calls hit quota, 5xx and token errors. Every dashboard query returns data; the
//! callback-failure alert fires for the failing accounts only.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Time;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use wechat_mp_exporter::clock;

use support::prometheus::Prometheus;
use support::{sim_config, stack, wait_until_ok};

const CALLBACK_ALERT: &str = "WechatMpCallbackFailureRatioHigh";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// Starts a simulator and an exporter polling it; `faulty` breaks callbacks and some calls.
async fn exporter(faulty: bool, shutdown: &CancellationToken) -> SocketAddr {
    let sim = sim_config(Time::midnight());
    let stack = stack(sim, clock::system(), |c| {
        if faulty {
            for a in &mut c.accounts {
                a.name = a.name.replace("demo", "faulty");
            }
        }
    })
    .await;
    if faulty {
        let f = stack.simulator.faults();
        f.set_callback_failure_ratio(Some(0.2));
        f.fail("getusershare", 45009, None);
        f.http_status("getuserreadhour", 502, Some(1));
        f.fail("getupstreammsgdist", 40164, None);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = stack.exporter.router("/metrics");
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });
    let poll = shutdown.clone();
    tokio::spawn(stack.exporter.scheduler.run(poll));
    wait_until_ok(&format!("http://{addr}/-/ready")).await;
    addr
}

/// Every `expr` of a dashboard's panels (rows included), with the panel title.
fn exprs(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for p in panels.as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or_default().to_string();
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = t["expr"].as_str() {
                    out.push((title.clone(), expr.to_string()));
                }
            }
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Grafana's variables as a user sees them with "All" selected.
fn expand(expr: &str) -> String {
    let mut e = expr.to_string();
    for (var, value) in [
        ("job", "wechat-mp"),
        ("account", ".*"),
        ("__rate_interval", "1m"),
        ("__interval", "15s"),
        ("__range", "1h"),
        ("__range_s", "3600"),
    ] {
        e = e
            .replace(&format!("${{{var}}}"), value)
            .replace(&format!("[[{var}]]"), value);
    }
    // Longest names first so `$__range_s` is not cut by `$__range`.
    for (var, value) in [
        ("__range_s", "3600"),
        ("__rate_interval", "1m"),
        ("__interval", "15s"),
        ("__range", "1h"),
        ("account", ".*"),
        ("job", "wechat-mp"),
    ] {
        e = e.replace(&format!("${var}"), value);
    }
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_have_data_and_callback_failures_fire_in_a_real_prometheus() {
    let shutdown = CancellationToken::new();
    let healthy = exporter(false, &shutdown).await;
    let faulty = exporter(true, &shutdown).await;
    let rules = files("alerts", "yml");
    assert!(!rules.is_empty(), "alerts/*.yml are shipped");
    let prometheus = Arc::new(Prometheus::start(&[healthy, faulty], &rules).await);
    prometheus
        .wait_for(
            "wechat_mp_followers{job=\"wechat-mp\"}",
            Duration::from_secs(60),
        )
        .await;

    let dashboards = files("dashboards", "json");
    assert!(
        dashboards.len() >= 4,
        "overview, content, callbacks, exporter health"
    );
    let mut checked = 0;
    for path in &dashboards {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (panel, expr) in exprs(&dashboard) {
            let query = expand(&expr);
            // Rates need a few scrapes: wait (bounded), then insist.
            let result = prometheus.wait_for(&query, Duration::from_secs(90)).await;
            assert!(
                !result.is_empty(),
                "{}: panel {panel:?}: {query}",
                path.display()
            );
            checked += 1;
        }
    }
    println!("{checked} dashboard queries returned data");

    // The failing accounts' callback alert reaches `firing`; the healthy ones' never even pends.
    let start = std::time::Instant::now();
    loop {
        let alerts = prometheus.alerts().await;
        let callback: Vec<&Value> = alerts
            .iter()
            .filter(|a| a["labels"]["alertname"] == CALLBACK_ALERT)
            .collect();
        for a in &callback {
            let account = a["labels"]["account"].as_str().unwrap_or_default();
            assert!(
                account.starts_with("faulty-"),
                "{CALLBACK_ALERT} for a healthy account: {a}"
            );
        }
        let firing: Vec<&str> = callback
            .iter()
            .filter(|a| a["state"] == "firing")
            .filter_map(|a| a["labels"]["account"].as_str())
            .collect();
        if firing.len() == 3 {
            let first = callback.iter().find(|a| a["state"] == "firing").unwrap();
            let description = first["annotations"]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(
                description.contains('%'),
                "the description carries the ratio: {description}"
            );
            println!(
                "{CALLBACK_ALERT} firing for {firing:?} after {:?}",
                start.elapsed()
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "{CALLBACK_ALERT} did not fire: {alerts:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    shutdown.cancel();
}
