//! The OTLP push: every interval, the same snapshot `/metrics` serves goes to an OpenTelemetry
//! collector (gRPC or HTTP/protobuf).
//!
//! Data flows one way: this module reads `metrics::Store::snapshot_view` and counts its pushes in
//! the store's exporter counters; the metrics module knows nothing of OTLP. Pushes run on our own
//! tokio task, not on the SDK's PeriodicReader thread: the result of every push is observed
//! (counted in `wechat_mp_exporter_otlp_exports_total`), the collection runs on a blocking
//! thread, and the export is bounded by the timeout, so a slow or dead collector holds up
//! neither polling nor scrapes.

pub mod names;
mod pipeline;
mod transport;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry_otlp::MetricExporter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
use tokio_util::sync::CancellationToken;

/// `[otlp]` and the `OTEL_*` variables, read with the rest of the config.
pub use crate::config::otlp as config;
pub use crate::config::otlp::{OtlpSettings, Protocol};

use crate::metrics::Store;
use pipeline::{Instruments, shape_of};

/// The counter of push outcomes (`result` = `success` | `failure`).
pub const EXPORTS: &str = "wechat_mp_exporter_otlp_exports_total";

/// Series per request at most (an account is never split): about 1-2 MB of protobuf, under the
/// 4 MiB a Collector's gRPC receiver accepts by default and the SDK's 64 MiB HTTP body limit.
pub const MAX_SERIES_PER_REQUEST: usize = 10_000;

/// What one push did.
#[derive(Debug, Clone, Copy)]
pub struct PushReport {
    /// Series in the batch.
    pub series: usize,
    /// Time to take the snapshot and collect it into the SDK's batches.
    pub collect: Duration,
    /// Time to encode and send every request (until the collector answered the last).
    pub export: Duration,
}

/// Pushes the store's snapshot to one OTLP endpoint.
pub struct Pusher {
    settings: OtlpSettings,
    store: Arc<Store>,
    exporter: Arc<MetricExporter>,
    instruments: Arc<Mutex<Instruments>>,
    /// The probe latency histogram (its own provider: recording never waits for a collection).
    probe: Arc<pipeline::ProbeHistogram>,
    /// Consecutive failures, for logging the first one loudly and the recovery once.
    failures: Mutex<u64>,
}

impl Pusher {
    /// Builds the exporter (gRPC needs to be inside a tokio runtime). `service.instance.id` is a
    /// random UUID per process unless the settings give one.
    pub fn new(settings: &OtlpSettings, store: Arc<Store>) -> anyhow::Result<Pusher> {
        let exporter = Arc::new(transport::exporter(settings)?);
        let mut attributes: BTreeMap<String, String> = BTreeMap::new();
        attributes.insert("service.name".into(), "wechat-mp-exporter".into());
        attributes.insert("service.version".into(), crate::version::VERSION.into());
        attributes.insert("service.instance.id".into(), random_uuid());
        for (k, v) in &settings.resource {
            attributes.insert(k.clone(), v.clone());
        }
        let resource = Resource::builder_empty()
            .with_attributes(attributes.into_iter().map(|(k, v)| KeyValue::new(k, v)))
            .build();
        for result in ["success", "failure"] {
            // Both series exist from the start, at zero.
            store
                .self_metrics()
                .add_exporter_count(EXPORTS, ("result", result), 0);
        }
        let instruments = Instruments::new(resource.clone());
        let probe = instruments.probe_histogram();
        let recorder = probe.clone();
        // Every probe from now on (the binary builds the pusher before it starts the probes).
        store.observe_probes(Arc::new(move |account, seconds| {
            recorder.record(account, seconds)
        }));
        Ok(Pusher {
            settings: settings.clone(),
            store,
            exporter,
            instruments: Arc::new(Mutex::new(instruments)),
            probe,
            failures: Mutex::new(0),
        })
    }

    /// Pushes every `interval` until `shutdown`, then once more (bounded by the timeout), so the
    /// collector has the last values.
    pub async fn run(self, shutdown: CancellationToken) {
        let interval = self.settings.interval;
        tracing::info!(
            endpoint = %self.settings.endpoint,
            protocol = ?self.settings.protocol,
            interval = %humantime::format_duration(interval),
            "pushing metrics over OTLP"
        );
        let start = tokio::time::Instant::now() + interval;
        let mut ticker = tokio::time::interval_at(start, interval);
        // A push slower than the interval delays the next one instead of bunching them up.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            // A push in flight when the signal comes is dropped for the final one, so shutting
            // down waits for one timeout at most.
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.push_once() => {}
            }
        }
        tracing::info!("pushing the last OTLP batch before exit");
        let _ = tokio::time::timeout(self.settings.timeout, self.push_once()).await;
        let exporter = self.exporter.clone();
        let timeout = self.settings.timeout;
        // Shutting the exporter down may block; keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || exporter.shutdown_with_timeout(timeout)).await;
    }

    /// Collects the current snapshot and exports it once; counts and logs the outcome.
    pub async fn push_once(&self) -> Result<PushReport, String> {
        let result = self.try_push().await;
        let success = result.is_ok();
        self.store.self_metrics().add_exporter_count(
            EXPORTS,
            ("result", if success { "success" } else { "failure" }),
            1,
        );
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match &result {
            Ok(report) => {
                if *failures > 0 {
                    tracing::info!(failures = *failures, "OTLP push works again");
                }
                *failures = 0;
                tracing::debug!(
                    series = report.series,
                    collect_ms = report.collect.as_millis() as u64,
                    export_ms = report.export.as_millis() as u64,
                    "OTLP push done"
                );
            }
            Err(e) => {
                *failures += 1;
                // Loud once, then quiet until it recovers: a dead collector must not flood the log.
                if *failures == 1 {
                    tracing::warn!(endpoint = %self.settings.endpoint, error = %e, "OTLP push failed; retrying every interval");
                } else {
                    tracing::debug!(endpoint = %self.settings.endpoint, error = %e, failures = *failures, "OTLP push failed again");
                }
            }
        }
        result
    }

    /// Sends one request. One at a time; the first failure ends the push (the next one resends
    /// everything: the values are cumulative, nothing is lost).
    async fn export(
        &self,
        batch: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> Result<(), String> {
        // A group with nothing in this part (no counter among an account's gauges) sends nothing.
        if batch.scope_metrics().all(|s| s.metrics().next().is_none()) {
            return Ok(());
        }
        match tokio::time::timeout(self.settings.timeout, self.exporter.export(batch)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "no answer within the timeout ({})",
                humantime::format_duration(self.settings.timeout)
            )),
        }
    }

    async fn try_push(&self) -> Result<PushReport, String> {
        let started = Instant::now();
        let view = self.store.snapshot_view();
        let instruments = self.instruments.clone();
        // Cut the snapshot into requests, then size the instruments for the largest part.
        let (parts, series) = tokio::task::spawn_blocking(move || {
            let parts = view.split(MAX_SERIES_PER_REQUEST);
            let shape = shape_of(&parts);
            let series = parts
                .iter()
                .map(|p| p.families().values().map(Vec::len).sum::<usize>())
                .sum();
            instruments
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .fit(&shape);
            (parts, series)
        })
        .await
        .map_err(|e| format!("preparing the push failed: {e}"))?;
        let mut collect = started.elapsed();
        let mut export = Duration::ZERO;
        for part in parts {
            let t = Instant::now();
            let instruments = self.instruments.clone();
            let batches = tokio::task::spawn_blocking(move || {
                let current = instruments.lock().unwrap_or_else(|e| e.into_inner());
                current.collect(Arc::new(part)).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| format!("collecting the snapshot failed: {e}"))?
            .map_err(|e| format!("collecting the snapshot failed: {e}"))?;
            collect += t.elapsed();
            let t = Instant::now();
            for batch in &batches {
                self.export(batch).await?;
            }
            export += t.elapsed();
        }
        // The probe latency histogram, once per push, after the parts.
        let t = Instant::now();
        let histogram = self
            .probe
            .collect()
            .map_err(|e| format!("collecting the probe histogram failed: {e}"))?;
        collect += t.elapsed();
        if let Some(batch) = histogram {
            let t = Instant::now();
            self.export(&batch).await?;
            export += t.elapsed();
        }
        Ok(PushReport {
            series,
            collect,
            export,
        })
    }
}

/// A random version-4 UUID: the `service.instance.id` the semantic conventions recommend.
fn random_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
