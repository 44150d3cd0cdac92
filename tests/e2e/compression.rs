//! Compressed scrapes through a real Prometheus server (Debian's package): a recording proxy
//! between it and the exporter sees Prometheus ask for gzip and the exporter answer gzip, the
//! answer decodes (as concatenated gzip members) to OpenMetrics that Prometheus stored, and the
//! text format served the same way passes `promtool check metrics` once decompressed.

use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::read::MultiGzDecoder;
use jiff::civil::Time;
use wechat_mp_exporter::clock;

use crate::support::harness::{promtool_stdin, serve_router};
use crate::support::prometheus::Prometheus;
use crate::support::{serve, sim_config, stack, wait_until_ok};

/// One request through the proxy and its answer.
#[derive(Debug, Clone)]
struct Exchange {
    accept_encoding: Option<String>,
    accept: Option<String>,
    content_encoding: Option<String>,
    vary: Option<String>,
    body: Bytes,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    seen: Arc<Mutex<Vec<Exchange>>>,
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Forwards `Accept` and `Accept-Encoding` to the exporter's `/metrics` and hands back its
/// status, type, encoding and bytes untouched (reqwest is built without decompression).
async fn forward(State(proxy): State<Proxy>, headers: HeaderMap) -> Response {
    let mut request = reqwest::Client::new().get(format!("{}/metrics", proxy.upstream));
    for name in [header::ACCEPT, header::ACCEPT_ENCODING] {
        if let Some(v) = headers.get(&name) {
            request = request.header(name, v);
        }
    }
    let Ok(answer) = request.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status().as_u16();
    let answer_headers = answer.headers().clone();
    let body = answer.bytes().await.unwrap_or_default();
    proxy.seen.lock().unwrap().push(Exchange {
        accept_encoding: header(&headers, header::ACCEPT_ENCODING),
        accept: header(&headers, header::ACCEPT),
        content_encoding: header(&answer_headers, header::CONTENT_ENCODING),
        vary: header(&answer_headers, header::VARY),
        body: body.clone(),
    });
    let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for name in [header::CONTENT_TYPE, header::CONTENT_ENCODING, header::VARY] {
        if let Some(v) = answer_headers.get(&name) {
            response.headers_mut().insert(name, v.clone());
        }
    }
    response
}

fn gunzip(body: &[u8]) -> String {
    let mut text = String::new();
    MultiGzDecoder::new(body)
        .read_to_string(&mut text)
        .expect("a valid series of gzip members");
    text
}

/// The series lines of an exposition other than the per-scrape `process_*` block.
/// The lines both answers share: not `process_*`, nor the business-encode counter (the plain
/// answer is a second encoding, after the compressed one).
fn business_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| {
            !l.starts_with('#')
                && !l.starts_with("process_")
                && !l.starts_with("wechat_mp_exporter_business_encodes_total")
        })
        .collect()
}

async fn fetch(url: &str, accept_encoding: &str) -> (Option<String>, Option<String>, Bytes) {
    let answer = reqwest::Client::new()
        .get(url)
        .header(header::ACCEPT_ENCODING, accept_encoding)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let encoding = header(answer.headers(), header::CONTENT_ENCODING);
    let vary = header(answer.headers(), header::VARY);
    (encoding, vary, answer.bytes().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_gets_gzip_and_the_decompressed_text_passes_promtool() {
    let mut stack = stack(sim_config(Time::midnight()), clock::system(), |_| {}).await;
    stack.exporter.scheduler.tick().await;
    let base = serve(&stack.exporter).await;
    wait_until_ok(&format!("{base}/-/ready")).await;

    let proxy = Proxy {
        upstream: base.clone(),
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    let router = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    let proxy_addr = serve_router(router, None).await;

    let prometheus = Prometheus::start(&[proxy_addr], &[]).await;
    let stored = prometheus
        .wait_for(
            "count(wechat_mp_followers{job=\"wechat-mp-exporter\"}) == 3",
            Duration::from_secs(60),
        )
        .await;
    assert!(!stored.is_empty(), "Prometheus stored the 3 demo accounts");
    let up = prometheus
        .query("up{job=\"wechat-mp-exporter\"} == 1")
        .await
        .unwrap();
    assert_eq!(up.len(), 1, "the scrape succeeded: {up:?}");

    let seen = proxy.seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    for x in &seen {
        let asked = x.accept_encoding.as_deref().unwrap_or_default();
        assert!(asked.contains("gzip"), "Prometheus asks for gzip: {x:?}");
        assert_eq!(x.content_encoding.as_deref(), Some("gzip"), "{x:?}");
        assert_eq!(x.vary.as_deref(), Some("accept, accept-encoding"));
        assert!(
            x.accept
                .as_deref()
                .is_some_and(|a| a.contains("application/openmetrics-text")),
            "{x:?}"
        );
        let text = gunzip(&x.body);
        assert!(text.ends_with("\n# EOF\n") && text.matches("# EOF").count() == 1);
        assert!(
            text.contains("\nprocess_resident_memory_bytes "),
            "the process member"
        );
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("wechat_mp_followers{"))
                .count(),
            3
        );
        // Compressed well below the plain size (the demo body is several hundred KB).
        assert!(
            x.body.len() * 5 < text.len(),
            "{} of {}",
            x.body.len(),
            text.len()
        );
    }

    // The text format, gzipped the same way, against the plain answer and promtool.
    let url = format!("{base}/metrics");
    let (encoding, vary, zipped) = fetch(&url, "gzip").await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(vary.as_deref(), Some("accept, accept-encoding"));
    let text = gunzip(&zipped);
    let (encoding, vary, plain) = fetch(&url, "gzip;q=0, identity").await;
    assert_eq!(encoding, None, "identity when gzip is refused");
    assert_eq!(vary.as_deref(), Some("accept, accept-encoding"));
    let plain = String::from_utf8(plain.to_vec()).unwrap();
    assert_eq!(business_lines(&text), business_lines(&plain));
    assert!(!text.contains("# EOF"));

    let (ok, report) = promtool_stdin(&["check", "metrics"], &text);
    assert!(ok, "promtool check metrics:\n{report}");
    assert_eq!(report, "", "promtool check metrics reported problems");
}
