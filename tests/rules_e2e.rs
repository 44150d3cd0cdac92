//! The shipped dashboards and rules in a real Prometheus (Debian 2.42 on 127.0.0.1, temp dir,
//! 1 s scrape and evaluation): every dashboard query and variable returns data; every alerting
//! rule evaluates without error and stays inactive on healthy data; the callback-failure alert
//! reaches `firing` in `/api/v1/alerts` once yesterday's callbacks fail.
//!
//! The scrape target is a fixture serving the exporter's metric names and label sets with values
//! that follow the wall clock Prometheus uses, switchable to failing callbacks, so the values and
//! alert states are exact. tests/prometheus_e2e.rs runs the same kind of checks against the real
//! exporter polling the simulator.

mod checks;
mod promserver;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use promserver::{JOB, Prometheus};

/// Switches of the fixture.
#[derive(Default)]
struct Fixture {
    failing_callbacks: AtomicBool,
    scrapes: AtomicU64,
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// 00:00 UTC+8 of yesterday (UTC+8), as Unix time.
fn yesterday_china_midnight(now: i64) -> i64 {
    let china_day = (now + 8 * 3600).div_euclid(86400);
    (china_day - 1) * 86400 - 8 * 3600
}

/// A classic text exposition with the exporter's names for two accounts.
fn exposition(f: &Fixture) -> String {
    let scrape = f.scrapes.fetch_add(1, Ordering::SeqCst) + 1;
    let failing = f.failing_callbacks.load(Ordering::SeqCst);
    let now = now_seconds();
    let day = yesterday_china_midnight(now);
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, samples: &[(&str, f64)]| {
        writeln!(out, "# HELP {name} Fixture.\n# TYPE {name} {kind}").unwrap();
        for (labels, value) in samples {
            writeln!(out, "{name}{{{labels}}} {value}").unwrap();
        }
    };
    let both = |extra: &str, brand: f64, shop: f64| -> Vec<(String, f64)> {
        let sep = if extra.is_empty() { "" } else { "," };
        vec![
            (format!("account=\"brand\"{sep}{extra}"), brand),
            (format!("account=\"shop\"{sep}{extra}"), shop),
        ]
    };
    let mut put = |name: &str, kind: &str, rows: Vec<(String, f64)>| {
        let refs: Vec<(&str, f64)> = rows.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        family(name, kind, &refs);
    };
    put("wechat_mp_followers", "gauge", both("", 120_000.0, 5_300.0));
    let mut rows = both("source=\"qr_code\"", 80.0, 7.0);
    rows.extend(both("source=\"account_search\"", 40.0, 3.0));
    put("wechat_mp_followers_new", "gauge", rows);
    let mut rows = both("source=\"qr_code\"", 12.0, 1.0);
    rows.extend(both("source=\"other\"", 6.0, 0.0));
    put("wechat_mp_followers_cancelled", "gauge", rows);
    for (name, scale) in [
        ("wechat_mp_article_read_users", 1.0),
        ("wechat_mp_article_reads", 1.6),
    ] {
        let mut rows = both("source=\"all\"", 900.0 * scale, 60.0 * scale);
        rows.extend(both("source=\"session\"", 500.0 * scale, 30.0 * scale));
        rows.extend(both("source=\"moments\"", 400.0 * scale, 30.0 * scale));
        put(name, "gauge", rows);
    }
    put(
        "wechat_mp_article_favourites",
        "gauge",
        both("source=\"all\"", 31.0, 2.0),
    );
    put(
        "wechat_mp_shares",
        "gauge",
        both("scene=\"friends\"", 70.0, 4.0),
    );
    put(
        "wechat_mp_share_users",
        "gauge",
        both("scene=\"friends\"", 55.0, 3.0),
    );
    put(
        "wechat_mp_published_favourite_users",
        "gauge",
        both("", 25.0, 1.0),
    );
    put(
        "wechat_mp_published_share_users",
        "gauge",
        both("", 48.0, 2.0),
    );
    let article = |msgid: &str, title: &str| format!("msgid=\"{msgid}\",title=\"{title}\"");
    let (a1, a2) = (
        article("2247490098_1", "Spring launch"),
        article("2247490101_1", "Café \\\"guide\\\""),
    );
    let mut rows = both(&format!("{a1},source=\"all\""), 2_400.0, 0.0);
    rows.extend(both(&format!("{a1},source=\"session\""), 1_500.0, 0.0));
    rows.extend(both(&format!("{a2},source=\"all\""), 800.0, 0.0));
    rows.retain(|(l, _)| l.starts_with("account=\"brand\""));
    put("wechat_mp_article_cumulative_read_users", "gauge", rows);
    let mut rows = both(&a1, 120.0, 0.0);
    rows.extend(both(&a2, 30.0, 0.0));
    rows.retain(|(l, _)| l.starts_with("account=\"brand\""));
    put("wechat_mp_article_cumulative_share_users", "gauge", rows);
    let mut rows = both(
        &format!("{a1},publish_type=\"publish\""),
        (day - 3 * 86400) as f64,
        0.0,
    );
    rows.extend(both(
        &format!("{a2},publish_type=\"publish\""),
        (day - 86400) as f64,
        0.0,
    ));
    rows.retain(|(l, _)| l.starts_with("account=\"brand\""));
    put(
        "wechat_mp_article_published_timestamp_seconds",
        "gauge",
        rows,
    );
    put(
        "wechat_mp_massmsg_read_users",
        "gauge",
        both(&format!("{a1},source=\"all\""), 2_100.0, 0.0),
    );
    let (requests, failures) = if failing {
        (1000.0, 200.0)
    } else {
        (1000.0, 3.0)
    };
    put(
        "wechat_mp_callback_requests",
        "gauge",
        both("", requests, 150.0),
    );
    put(
        "wechat_mp_callback_failures",
        "gauge",
        both("", failures, 0.0),
    );
    put(
        "wechat_mp_callback_time_cost_seconds",
        "gauge",
        both("", 120.0, 12.0),
    );
    put(
        "wechat_mp_callback_max_time_cost_seconds",
        "gauge",
        both("", 1.9, 0.4),
    );
    for (name, brand, shop) in [
        ("wechat_mp_hourly_callback_requests", 40.0, 6.0),
        ("wechat_mp_hourly_callback_failures", 1.0, 0.0),
        ("wechat_mp_hourly_callback_time_cost_seconds", 4.8, 0.5),
        ("wechat_mp_hourly_callback_max_time_cost_seconds", 0.9, 0.2),
    ] {
        let rows = (0..24)
            .flat_map(|h| both(&format!("hour=\"{h}\""), brand, shop))
            .collect();
        put(name, "gauge", rows);
    }
    let mut rows = both("msg_type=\"text\"", 300.0, 20.0);
    rows.extend(both("msg_type=\"image\"", 40.0, 2.0));
    put("wechat_mp_upstream_messages", "gauge", rows);
    put(
        "wechat_mp_upstream_message_users",
        "gauge",
        both("msg_type=\"text\"", 210.0, 15.0),
    );
    let rows = [
        "getusercumulate",
        "getusersummary",
        "getupstreammsg",
        "getinterfacesummary",
    ]
    .into_iter()
    .flat_map(|api| both(&format!("api=\"{api}\""), day as f64, day as f64))
    .collect();
    put("wechat_mp_data_date_seconds", "gauge", rows);
    put("wechat_mp_up", "gauge", both("", 1.0, 1.0));
    put(
        "wechat_mp_api_requests_total",
        "counter",
        both(
            "api=\"getusersummary\",errcode=\"0\"",
            scrape as f64,
            scrape as f64,
        ),
    );
    put(
        "wechat_mp_token_fetches_total",
        "counter",
        both(
            "source=\"stable\",errcode=\"0\"",
            1.0 + (scrape / 10) as f64,
            1.0,
        ),
    );
    put(
        "wechat_mp_last_poll_duration_seconds",
        "gauge",
        both("", 0.8, 0.3),
    );
    put(
        "wechat_mp_last_poll_timestamp_seconds",
        "gauge",
        both("", (now - 30) as f64, (now - 30) as f64),
    );
    family(
        "wechat_mp_exporter_build_info",
        "gauge",
        &[("version=\"0.1.0\",revision=\"fixture\"", 1.0)],
    );
    out
}

async fn serve_fixture(fixture: Arc<Fixture>) -> SocketAddr {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let fixture = fixture.clone();
            async move {
                (
                    [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                    exposition(&fixture),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Grafana's variables with the values a user selecting "All" gets.
fn expand_for_query(expr: &str) -> String {
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

fn walk(panels: &[Value], out: &mut Vec<Value>) {
    for p in panels {
        out.push(p.clone());
        if let Some(nested) = p.get("panels").and_then(Value::as_array) {
            walk(nested, out);
        }
    }
}

/// One dashboard target, variables expanded.
struct Target {
    /// Dashboard, panel and refId, for messages.
    at: String,
    expr: String,
    /// Grafana runs it as a range query (timeseries panels).
    range: bool,
}

/// Every dashboard target, and (where, selector) of every label_values() variable.
fn dashboard_queries() -> (Vec<Target>, Vec<(String, String)>) {
    let mut targets = Vec::new();
    let mut variables = Vec::new();
    for path in checks::files("dashboards", ".json") {
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
                variables.push((
                    format!("{uid} ${}", v["name"].as_str().unwrap_or_default()),
                    expand_for_query(selector),
                ));
            }
        }
        let mut panels = Vec::new();
        walk(
            d["panels"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default(),
            &mut panels,
        );
        for p in panels {
            for t in p["targets"].as_array().into_iter().flatten() {
                let at = format!(
                    "{uid} panel {} {:?} {}",
                    p["id"],
                    p["title"].as_str().unwrap_or_default(),
                    t["refId"].as_str().unwrap_or_default()
                );
                let range = t["range"].as_bool().unwrap_or(true);
                targets.push(Target {
                    at,
                    expr: expand_for_query(t["expr"].as_str().unwrap_or_default()),
                    range,
                });
            }
        }
    }
    (targets, variables)
}

/// Waits (bounded) until Prometheus has scraped the fixture `n` times.
async fn wait_for_scrapes(p: &Prometheus, n: u32) {
    p.wait_for(
        &format!("count_over_time(up{{job=\"{JOB}\"}}[5m]) >= {n}"),
        Duration::from_secs(60),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_and_variable_returns_data() {
    let fixture = Arc::new(Fixture::default());
    let addr = serve_fixture(fixture.clone()).await;
    let p = Prometheus::start(&[addr]).await;
    wait_for_scrapes(&p, 4).await;
    let (targets, variables) = dashboard_queries();
    assert!(targets.len() > 50, "only {} targets", targets.len());
    let mut empty = Vec::new();
    for Target { at, expr, range } in &targets {
        if p.query(expr).await.is_empty() {
            empty.push(format!("{at}: instant {expr}"));
        }
        if *range && p.query_range(expr, 3).await.is_empty() {
            empty.push(format!("{at}: range {expr}"));
        }
    }
    for (at, selector) in &variables {
        if p.series(selector).await.is_empty() {
            empty.push(format!("{at}: label_values({selector})"));
        }
    }
    assert!(
        empty.is_empty(),
        "queries without data:\n{}",
        empty.join("\n")
    );
    // A value, not just presence: the failure ratio stat (an instant query) of the Callbacks
    // dashboard, over both accounts: (3 + 0) / (1000 + 150).
    let stat = targets
        .iter()
        .find(|t| {
            t.at.starts_with("wechat-mp-callbacks")
                && t.at.contains("\"Failure ratio\"")
                && !t.range
        })
        .expect("the failure ratio stat");
    let ratio = p.query(&stat.expr).await;
    let value: f64 = ratio[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!((value - 3.0 / 1150.0).abs() < 1e-9, "failure ratio {value}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_failure_alert_fires_only_on_failing_callbacks() {
    let fixture = Arc::new(Fixture::default());
    let addr = serve_fixture(fixture.clone()).await;
    let p = Prometheus::start(&[addr]).await;
    wait_for_scrapes(&p, 5).await;
    // Healthy: every rule evaluated cleanly, and none is pending or firing.
    let rules = p.alerting_rules().await;
    assert_eq!(rules.len(), 13, "{rules:?}");
    for rule in &rules {
        assert_eq!(rule["health"], "ok", "{rule}");
        assert_eq!(rule["state"], "inactive", "healthy data: {rule}");
    }
    assert!(p.alerts().await.is_empty(), "{:?}", p.alerts().await);

    fixture.failing_callbacks.store(true, Ordering::SeqCst);
    let start = std::time::Instant::now();
    let firing = loop {
        let alerts = p.alerts().await;
        let found = alerts
            .iter()
            .find(|a| {
                a["labels"]["alertname"] == "WechatMpCallbackFailureRatioHigh"
                    && a["state"] == "firing"
            })
            .cloned();
        if let Some(alert) = found {
            break alert;
        }
        // A bound against hangs (the rule's `for` is 1m), not a speed assertion.
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "not firing after 3 minutes: {alerts:?}\n{}",
            p.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(firing["labels"]["account"], "brand", "{firing}");
    assert_eq!(firing["labels"]["job"], JOB, "{firing}");
    assert_eq!(firing["labels"]["severity"], "warning", "{firing}");
    assert_eq!(
        firing["annotations"]["description"],
        "Account brand: 20% of yesterday's callbacks failed (threshold 1%, with at least 10 failures and 100 callbacks).",
        "{firing}"
    );
    // Only that alert, and only for that account (shop has no failures).
    let active: Vec<(String, String)> = p
        .alerts()
        .await
        .iter()
        .map(|a| {
            (
                a["labels"]["alertname"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                a["labels"]["account"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        active,
        [(
            "WechatMpCallbackFailureRatioHigh".to_string(),
            "brand".to_string()
        )]
    );
}
