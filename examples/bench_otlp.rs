//! The cost of an OTLP push next to a scrape encode (results in docs/benchmarks.md; run it with
//! `bash scripts/bench.sh`, or `cargo run --release --example bench_otlp -- <N> [ROUNDS]`).
//!
//! One process: the simulator with N accounts, the exporter after one real poll round, and two
//! OTLP receivers (gRPC, HTTP/protobuf) that read and drop each request. It then times ROUNDS
//! re-encodings of the `/metrics` bodies (what the store does once per change) and ROUNDS pushes
//! over each protocol (collect into the SDK's batch, encode, send, answer), and the peak RSS each
//! phase adds over the RSS before it (VmHWM after resetting it through /proc/self/clear_refs).
//! Prints one Markdown table row.

#[path = "common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::body::Bytes;
use common::status_kib;
use jiff::civil::Time;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use tokio::net::TcpListener;
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock;
use wechat_mp_exporter::demo::config_for_simulator;
use wechat_mp_exporter::metrics::{Format, Store};
use wechat_mp_exporter::otlp::{OtlpSettings, Protocol, Pusher};
use wechat_mp_exporter::simulator::{SimConfig, Simulator};

const USAGE: &str = "usage: bench_otlp <ACCOUNTS> [ROUNDS]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().context(USAGE)?.parse().context(USAGE)?;
    let rounds: usize = match args.get(1) {
        Some(r) => r.parse().context(USAGE)?,
        None => 5,
    };
    if n == 0 || rounds == 0 {
        bail!(USAGE);
    }
    let sim = SimConfig::numbered("wxbench", n, Time::midnight());
    let simulator = Simulator::new(sim.clone(), clock::system());
    let sim_addr = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await?;
    let mut config = config_for_simulator(url::Url::parse(&format!("http://{sim_addr}"))?, &sim);
    config.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(16);
    let mut exporter = Exporter::new(&config, clock::system())?;
    common::first_round(&mut exporter).await?;
    let store = exporter.store.clone();
    let series = store
        .exposition()
        .text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .count();

    let bytes = Arc::new(AtomicUsize::new(0));
    let grpc_addr = grpc_receiver(bytes.clone()).await?;
    let http_addr = http_receiver(bytes.clone()).await?;

    let names: Vec<String> = config.accounts.iter().map(|a| a.name.clone()).collect();
    let (encode_ms, encode_peak) = phase(rounds, || async {
        // Keeping every account marks the business block stale (as a poll round's end does), so
        // the next scrape re-encodes it: the OpenMetrics body, through prometheus-client.
        store.retain_accounts(&names);
        let t = Instant::now();
        std::hint::black_box(store.exposition().response(Format::OpenMetrics, false));
        t.elapsed()
    })
    .await;
    let mut cells = Vec::new();
    let mut push_bytes = 0;
    for (protocol, endpoint) in [
        (Protocol::Grpc, format!("http://{grpc_addr}")),
        (
            Protocol::HttpProtobuf,
            format!("http://{http_addr}/v1/metrics"),
        ),
    ] {
        let pusher = pusher(&store, protocol, &endpoint)?;
        // The first push builds the instruments (and sizes their limits) for this snapshot.
        pusher.push_once().await.map_err(anyhow::Error::msg)?;
        bytes.store(0, Ordering::Relaxed);
        let collect = std::cell::Cell::new(Duration::ZERO);
        let (ms, peak) = phase(rounds, || async {
            let t = Instant::now();
            let report = pusher.push_once().await.expect("the push succeeds");
            collect.set(collect.get() + report.collect);
            t.elapsed()
        })
        .await;
        push_bytes = bytes.load(Ordering::Relaxed) / rounds;
        // The mean share of the push spent collecting (the rest is encoding and sending).
        let collect_ms = collect.get().as_secs_f64() * 1000.0 / rounds as f64;
        cells.push((ms, peak, collect_ms));
    }
    let (grpc_ms, grpc_peak, _) = cells[0];
    let (http_ms, http_peak, http_collect) = cells[1];
    println!(
        "| {n} | {series} | {encode_ms:.1} | {encode_peak} | {grpc_ms:.1} | {grpc_peak} | {http_ms:.1} | {http_collect:.1} | {http_peak} | {:.1}x | {:.1}x | {push_bytes} |",
        grpc_ms / encode_ms,
        http_ms / encode_ms,
    );
    drop(exporter);
    Ok(())
}

fn pusher(store: &Arc<Store>, protocol: Protocol, endpoint: &str) -> anyhow::Result<Pusher> {
    let settings = OtlpSettings {
        endpoint: endpoint.parse()?,
        protocol,
        interval: Duration::from_secs(3600),
        timeout: Duration::from_secs(60),
        headers: Vec::new(),
        resource: Vec::new(),
    };
    Pusher::new(&settings, store.clone())
}

/// Runs `f` `rounds` times; the median in ms, and the peak RSS above the start in KiB.
async fn phase<F, Fut>(rounds: usize, mut f: F) -> (f64, u64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    common::trim();
    // "5" resets VmHWM to the current RSS (Linux 4.0+), so the peak is this phase's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base = status_kib("VmRSS");
    let mut times: Vec<f64> = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        times.push(f().await.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let peak = status_kib("VmHWM").saturating_sub(base);
    (times[times.len() / 2], peak)
}

struct Discard(Arc<AtomicUsize>);

#[tonic::async_trait]
impl MetricsService for Discard {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        // Decoded by tonic already; its protobuf size is what went over the wire.
        self.0.fetch_add(
            prost::Message::encoded_len(request.get_ref()),
            Ordering::Relaxed,
        );
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

async fn grpc_receiver(bytes: Arc<AtomicUsize>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let service = MetricsServiceServer::new(Discard(bytes)).max_decoding_message_size(1 << 30);
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            // As collectors do: without TCP_NODELAY on the server, delayed ACKs add ~40 ms a request.
            .serve_with_incoming(tokio_stream::StreamExt::map(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                |conn| {
                    conn.inspect(|s| {
                        let _ = s.set_nodelay(true);
                    })
                },
            ))
            .await;
    });
    Ok(addr)
}

async fn http_receiver(bytes: Arc<AtomicUsize>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new()
        .route(
            "/v1/metrics",
            axum::routing::post(move |body: Bytes| {
                let bytes = bytes.clone();
                async move {
                    bytes.fetch_add(body.len(), Ordering::Relaxed);
                    [("content-type", "application/x-protobuf")]
                }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::disable());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}
