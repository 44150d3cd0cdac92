//! Benchmarks of the performance targets (results in docs/benchmarks.md; run them with `bash scripts/bench.sh`).
//!
//! Modes, each meant to run in its own process so memory numbers stay clean:
//! - `sim <N>`: the simulated WeChat API with N accounts on 127.0.0.1 (OS-chosen port), publishing
//!   yesterday from midnight UTC+8, so the exporter finds a complete day whatever the hour.
//! - `exporter <N> <SIM_URL>`: the real exporter (real client, tokens, scheduler and store) polls the
//!   simulator once, reports RSS before and after, then serves the real router and, beside it, a bare
//!   hyper server answering a static body of the same size as the real `/metrics` answer. Two more
//!   servers over the same store locate any gap: `preencoded` (axum, the pre-encoded `Bytes` as is,
//!   no process block) and `chained` (axum, pre-encoded `Bytes` + the /proc block as a second chunk,
//!   no copy).
//! - `calls <N> <DAYS>`: simulator and exporter in one process on a manual clock; runs DAYS simulated
//!   days and compares the upstream calls with the minimum the T+1 rules need.
//! - `probes <N> <SIM_URL> <on|off>`: the real exporter polls the simulator once and serves its
//!   router; with `on`, a callback probe per account at the default interval (60 s) runs against
//!   the simulator's callback server. scripts/bench.sh scrapes both side by side and compares CPU,
//!   peak RSS and the business-block encode counter.
//!
//! `exporter` and `sim` print one `key=value` line on stdout, then serve until killed.

#[path = "common/mod.rs"]
mod common;

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use common::{rss_kib, series, status_kib, trim};
use http_body::{Frame, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use jiff::civil::{Date, Time, date, time};
use tokio::net::TcpListener;
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock::{self, ManualClock};
use wechat_mp_exporter::demo::config_for_simulator;
use wechat_mp_exporter::metrics::{self, Exposition, Format, ProcessStats, Store};
use wechat_mp_exporter::schedule;
use wechat_mp_exporter::simulator::{SimConfig, Simulator};
use wechat_mp_exporter::wechat::Endpoint;
use wechat_mp_exporter::wechat::date::{add_days, china_at};

const USAGE: &str = "usage: bench_metrics sim <N> | exporter <N> <SIM_URL> | calls <N> <DAYS> | probes <N> <SIM_URL> <on|off>";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let number = |i: usize| -> anyhow::Result<usize> {
        arg(i)
            .context(USAGE)?
            .parse()
            .with_context(|| format!("argument {} is not a number; {USAGE}", i + 1))
    };
    match arg(0) {
        Some("sim") => sim(number(1)?).await,
        Some("exporter") => exporter(number(1)?, arg(2).context(USAGE)?).await,
        Some("calls") => calls(number(1)?, number(2)?).await,
        Some("probes") => probes(number(1)?, arg(2).context(USAGE)?, arg(3) == Some("on")).await,
        _ => bail!(USAGE),
    }
}

/// The bench accounts: `SimConfig::numbered`, so the simulator and exporter processes agree.
fn sim_config(n: usize, publish_at: Time) -> SimConfig {
    SimConfig::numbered("wxbench", n, publish_at)
}

async fn sim(n: usize) -> anyhow::Result<()> {
    let simulator = Simulator::new(sim_config(n, Time::midnight()), clock::system());
    let addr = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await?;
    println!("sim=http://{addr}");
    std::future::pending::<()>().await;
    Ok(())
}

async fn exporter(n: usize, sim_url: &str) -> anyhow::Result<()> {
    let rss_start = rss_kib();
    let sim = sim_config(n, Time::midnight());
    let mut config = config_for_simulator(url::Url::parse(sim_url)?, &sim);
    config.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(16);
    // `BENCH_EXCLUDE="hourly per_article"`: the same run with `[metrics] exclude`.
    if let Ok(exclude) = std::env::var("BENCH_EXCLUDE") {
        config.metrics.exclude = metrics::Exclusions::parse(exclude.split_whitespace())
            .map_err(|(_, e)| anyhow::anyhow!("BENCH_EXCLUDE: {e}"))?;
    }
    let mut exporter = Exporter::new(&config, clock::system())?;
    let rss_built = rss_kib();
    let started = Instant::now();
    let round = common::first_round(&mut exporter).await?;
    let fill_seconds = started.elapsed().as_secs_f64();
    let body_len = |chunks: Vec<Bytes>| chunks.iter().map(Bytes::len).sum::<usize>();
    let exposition: Arc<Exposition> = exporter.store.exposition();
    // First what Prometheus asks for (OpenMetrics, gzip): encoded straight into the compressor,
    // no plain body. RSS then is what an exporter scraped only by Prometheus holds.
    let t = Instant::now();
    let gzip_openmetrics_bytes = body_len(exposition.response(Format::OpenMetrics, true));
    let gzip_seconds = t.elapsed().as_secs_f64();
    let rss_gzip = rss_kib();
    trim();
    let rss_gzip_trimmed = rss_kib();
    // Then a plain text scrape (e.g. promtool or curl without gzip). Counted from the answer's
    // chunks: `exposition.text` would join a second copy of the body, which no scrape makes.
    let t = Instant::now();
    let text = exposition.response(Format::Text, false);
    let plain_seconds = t.elapsed().as_secs_f64();
    let text_series: usize = text.iter().map(|chunk| series(chunk)).sum();
    drop(text);
    let rss_filled = rss_kib();
    let hwm_filled = status_kib("VmHWM");
    // Diagnosis: how much of it is freed heap that glibc kept (poll-round transients) rather
    // than live data.
    trim();
    let rss_trimmed = rss_kib();
    // What a scrape without an Accept header gets: the pre-encoded text plus the process block.
    let response_bytes = body_len(exposition.response(Format::Text, false));
    let openmetrics_bytes = body_len(exposition.response(Format::OpenMetrics, false));
    // The text body gzipped (from the plain body, once per snapshot); later scrapes reuse it.
    let gzip_response = exposition.response(Format::Text, true).concat();
    // Memory with everything made: both plain bodies and the gzip of both formats resident.
    let rss_served = rss_kib();
    let levels = gzip_levels(&exposition.text);

    let real = TcpListener::bind("127.0.0.1:0").await?;
    let real_addr = real.local_addr()?;
    let router = exporter.router("/metrics");
    // TCP_NODELAY, as the exporter's own server sets it on every connection.
    let real = axum::serve::ListenerExt::tap_io(real, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(real, router).await {
            eprintln!("exporter server stopped: {e}");
        }
    });
    let bare = TcpListener::bind("127.0.0.1:0").await?;
    let bare_addr = bare.local_addr()?;
    tokio::spawn(bare_server(
        bare,
        Bytes::from(vec![b'x'; response_bytes]),
        false,
    ));
    // The same compressed bytes the real server sends (its gzip members, concatenated).
    let bare_gzip = TcpListener::bind("127.0.0.1:0").await?;
    let bare_gzip_addr = bare_gzip.local_addr()?;
    let gzip_bytes = gzip_response.len();
    tokio::spawn(bare_server(bare_gzip, Bytes::from(gzip_response), true));

    let preencoded = TcpListener::bind("127.0.0.1:0").await?;
    let preencoded_addr = preencoded.local_addr()?;
    let chained = TcpListener::bind("127.0.0.1:0").await?;
    let chained_addr = chained.local_addr()?;
    let variants = Router::new()
        .route("/preencoded", get(preencoded_handler))
        .route("/chained", get(chained_handler))
        .with_state(exporter.store.clone());
    let (v1, v2) = (variants.clone(), variants);
    tokio::spawn(async move { axum::serve(preencoded, v1).await });
    tokio::spawn(async move { axum::serve(chained, v2).await });

    // What the per-scrape /proc block costs on its own.
    let reads = 2000;
    let t = Instant::now();
    for _ in 0..reads {
        std::hint::black_box(ProcessStats::read().encode(Format::Text));
    }
    let proc_read_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(reads);

    println!(
        "accounts={n} upstream_requests={} fill_seconds={fill_seconds:.2} series={text_series} \
         text_bytes={} response_bytes={response_bytes} openmetrics_response_bytes={openmetrics_bytes} \
         gzip_bytes={gzip_bytes} gzip_openmetrics_bytes={gzip_openmetrics_bytes} gzip_seconds={gzip_seconds:.3} \
         plain_seconds={plain_seconds:.3} rss_gzip_kib={rss_gzip} rss_gzip_trimmed_kib={rss_gzip_trimmed} \
         gzip_levels={levels} \
         rss_start_kib={rss_start} rss_built_kib={rss_built} rss_filled_kib={rss_filled} \
         hwm_filled_kib={hwm_filled} rss_trimmed_kib={rss_trimmed} rss_served_kib={rss_served} \
         proc_read_us={proc_read_us:.1} real=http://{real_addr}/metrics real_gzip=http://{real_addr}/metrics \
         bare=http://{bare_addr}/metrics bare_gzip=http://{bare_gzip_addr}/metrics \
         preencoded=http://{preencoded_addr}/preencoded \
         chained=http://{chained_addr}/chained",
        round.requests,
        exposition.text.len(),
    );
    // Diagnosis (`BENCH_DROP_STORE=1`, run by hand): how much of the RSS the store's accounts
    // hold, i.e. what is left after dropping them (the bodies go with them) and trimming.
    if std::env::var_os("BENCH_DROP_STORE").is_some() {
        drop(exposition);
        exporter.store.retain_accounts(&[]);
        drop(exporter.store.exposition());
        trim();
        println!("rss_without_store_kib={}", rss_kib());
    }
    // Keep the scheduler (and its clients) alive as a running exporter would; no further polling.
    let _keep = exporter;
    std::future::pending::<()>().await;
    Ok(())
}

/// The exporter polled once, serving `/metrics`, its callback probes running when `with_probes`
/// (each account at the default 60-second interval) against the simulator's callback server.
async fn probes(n: usize, sim_url: &str, with_probes: bool) -> anyhow::Result<()> {
    let sim = sim_config(n, Time::midnight());
    let mut config = config_for_simulator(url::Url::parse(sim_url)?, &sim);
    config.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(16);
    for account in &mut config.accounts {
        if with_probes {
            if let Some(probe) = &mut account.callback_probe {
                probe.interval = Duration::from_secs(60);
            }
        } else {
            account.callback_probe = None;
        }
    }
    let mut exporter = Exporter::new(&config, clock::system())?;
    common::first_round(&mut exporter).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = exporter.router("/metrics");
    tokio::spawn(async move { axum::serve(listener, router).await });
    let shutdown = tokio_util::sync::CancellationToken::new();
    if with_probes {
        exporter.start_probes(shutdown.clone());
    }
    println!("probes={with_probes} real=http://{addr}/metrics");
    let _keep = (exporter, shutdown);
    std::future::pending::<()>().await;
    Ok(())
}

/// Each gzip level of `BENCH_GZIP_LEVELS` (e.g. "1 3 6 9"; none by default) on the text body:
/// `level:bytes:seconds` joined by commas (the measurement behind `metrics::GZIP_LEVEL`).
fn gzip_levels(text: &[u8]) -> String {
    let levels = std::env::var("BENCH_GZIP_LEVELS").unwrap_or_default();
    let mut out = Vec::new();
    for level in levels
        .split_whitespace()
        .filter_map(|l| l.parse::<u32>().ok())
    {
        let t = Instant::now();
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(text.len() / 8),
            flate2::Compression::new(level),
        );
        let _ = std::io::Write::write_all(&mut encoder, text);
        let bytes = encoder.finish().map_or(0, |v| v.len());
        out.push(format!("{level}:{bytes}:{:.3}", t.elapsed().as_secs_f64()));
    }
    if out.is_empty() {
        "-".to_string()
    } else {
        out.join(",")
    }
}

/// The baseline: hyper's HTTP/1 server answering every request with the same `Bytes` (no router,
/// no copy, no /proc reads), marked `Content-Encoding: gzip` when `gzip`.
async fn bare_server(listener: TcpListener, body: Bytes, gzip: bool) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req| {
                let body = body.clone();
                async move {
                    let mut response = hyper::Response::new(Body::from(body));
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static(metrics::TEXT_CONTENT_TYPE),
                    );
                    if gzip {
                        response.headers_mut().insert(
                            hyper::header::CONTENT_ENCODING,
                            hyper::header::HeaderValue::from_static("gzip"),
                        );
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The pre-encoded text exactly as stored: what serving costs without the process block.
async fn preencoded_handler(State(store): State<Arc<Store>>) -> Response {
    let body = store.exposition().text.clone();
    (
        [(hyper::header::CONTENT_TYPE, metrics::TEXT_CONTENT_TYPE)],
        body,
    )
        .into_response()
}

/// The real handler's bytes (text + /proc block), sent as two chunks instead of one fresh copy.
async fn chained_handler(State(store): State<Arc<Store>>) -> Response {
    let text = store.exposition().text.clone();
    let process = ProcessStats::read().encode(Format::Text);
    (
        [(hyper::header::CONTENT_TYPE, metrics::TEXT_CONTENT_TYPE)],
        Body::new(Chunks::new([text, process])),
    )
        .into_response()
}

/// A body of a few `Bytes` chunks with an exact length (so `Content-Length`, not chunked encoding).
struct Chunks {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl Chunks {
    fn new(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        let chunks: VecDeque<Bytes> = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Self { chunks, remaining }
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.chunks.pop_front();
        if let Some(chunk) = &next {
            self.remaining -= chunk.len() as u64;
        }
        Poll::Ready(next.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

fn at(d: Date, h: i8, m: i8) -> Timestamp {
    china_at(d, time(h, m, 0, 0))
}

/// The fewest datacube calls the T+1 rules allow for one account over the targets `first..=first+days`
/// (`schedule::t1_minimum`, one readiness probe a day: the minimum case).
fn t1_minimum(sim: &Simulator, app_id: &str, first: Date, days: i64) -> u64 {
    schedule::t1_minimum(first, days, 1, |e, d| match e {
        Endpoint::ArticleTotal => sim.has_mass_send(app_id, d),
        _ => sim.has_publish(app_id, d),
    })
    .values()
    .sum()
}

/// Upstream calls over `days` simulated days for `n` accounts, with the exporter told the real
/// publication hour (`publish_after` = 09:00, the minimum case) and with it looking an hour early
/// (08:00, retrying every 30 minutes: two extra readiness probes a day).
async fn calls(n: usize, days: usize) -> anyhow::Result<()> {
    if n == 0 || days == 0 {
        bail!("calls needs at least one account and one day; {USAGE}");
    }
    let days = i64::try_from(days)?;
    // Monday 2 November 2026, 10:00 UTC+8: yesterday is already published.
    let start_day = date(2026, 11, 2);
    println!(
        "| publish_after | accounts | days | datacube calls | T+1 minimum | over minimum | token calls | fixed 5-min poller |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for publish_after in [time(9, 0, 0, 0), time(8, 0, 0, 0)] {
        let clock = Arc::new(ManualClock::new(at(start_day, 10, 0)));
        let sim_cfg = sim_config(n, time(9, 0, 0, 0));
        let simulator = Simulator::new(sim_cfg.clone(), clock.clone());
        let addr = simulator
            .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await?;
        let mut config =
            config_for_simulator(url::Url::parse(&format!("http://{addr}"))?, &sim_cfg);
        config.schedule.publish_after = publish_after;
        config.schedule.empty_is_zero_after = time(9, 0, 0, 0);
        config.wechat.retry_backoff = Duration::from_millis(1);
        let mut exporter = Exporter::new(&config, clock.clone())?;
        let end = at(add_days(start_day, days), 10, 0);
        exporter.scheduler.run_until(&clock, end).await;

        let calls: BTreeMap<(String, String), u64> = simulator.calls();
        let datacube: u64 = calls
            .iter()
            .filter(|((_, api), _)| api.parse::<Endpoint>().is_ok())
            .map(|(_, c)| c)
            .sum();
        let minimum: u64 = sim_cfg
            .accounts
            .iter()
            .map(|a| t1_minimum(&simulator, &a.app_id, add_days(start_day, -1), days))
            .sum();
        let tokens = simulator.stable_token_requests() + simulator.classic_token_requests();
        let fixed = n as u64 * Endpoint::ALL.len() as u64 * 288 * days as u64;
        println!(
            "| {publish_after} | {n} | {days} | {datacube} | {minimum} | {:+.1}% | {tokens} | {fixed} |",
            (datacube as f64 / minimum as f64 - 1.0) * 100.0
        );
    }
    Ok(())
}
