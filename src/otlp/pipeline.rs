//! The OpenTelemetry SDK side of a push: one observable instrument per family, fed from a
//! [`SnapshotView`] and collected on demand through a `ManualReader`.
//!
//! The SDK folds series past an instrument's cardinality limit (2000 by default) into one
//! `otel.metric.overflow` series, and preallocates a map of that size per instrument. A push is
//! collected one request-sized part at a time, so each instrument gets a limit sized from the
//! largest part (twice its series of that family, at least 2000), and the gauges are rebuilt
//! when a family outgrows its limit or the set of families changes: a push never drops a series,
//! and memory follows one part, not the whole snapshot. Counters live in their own provider
//! holding every counter of the catalogue from the first push, so their start times stay fixed
//! (a collector's cumulativetodelta reads a new start time as a reset); the probe latency is an
//! SDK histogram recorded as each probe finishes. Every instrument has a unit.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use opentelemetry::metrics::{AsyncInstrument, MeterProvider as _};
use opentelemetry::{Key, KeyValue, StringValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    Instrument, InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Stream, Temporality,
};

use super::names::otel_name;
use crate::catalogue as m;
use crate::metrics::{
    MetricInfo, MetricKind, PROBE_BUCKETS, Point, SnapshotView, Value, catalogue, lookup,
};

/// The smallest limit handed to the SDK (its own default).
const MIN_LIMIT: usize = 2000;

/// What an instrument must be for one family: its type and whether any value is a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FamilyKind {
    pub kind: MetricKind,
    pub float: bool,
}

/// Every family of a snapshot: its instrument kind and number of series.
pub(crate) type Shape = BTreeMap<&'static str, (FamilyKind, usize)>;

/// The shape of a push cut into `parts`: each family's kind and its largest count in any one
/// part (one collection holds one part, so that is what an instrument must have room for).
/// `process_*` families are not pushed (they describe this process, and the HTTP handler adds
/// them per scrape; the view does not hold them anyway).
pub(crate) fn shape_of(parts: &[SnapshotView]) -> Shape {
    let mut shape = Shape::new();
    for part in parts {
        for (name, samples) in part.families() {
            if name.starts_with("process_") {
                continue;
            }
            let kind = FamilyKind {
                kind: lookup(name).map_or(MetricKind::Gauge, |m| m.kind),
                float: samples.iter().any(|s| matches!(s.value, Value::Float(_))),
            };
            // No histogram instrument (see `Instruments::build`); the view holds none anyway.
            if kind.kind == MetricKind::Histogram {
                continue;
            }
            let entry = shape.entry(name).or_insert((kind, 0));
            entry.0.float |= kind.float;
            entry.1 = entry.1.max(samples.len());
        }
    }
    shape
}

/// The view the callbacks read during one collection; empty between collections.
type Slot = Arc<Mutex<Option<Arc<SnapshotView>>>>;

/// Headroom of a counter instrument's limit over its series at build time: a counter set is
/// rebuilt (and its start times start anew) only when a family outgrows this.
const COUNTER_HEADROOM: usize = 4;

/// One meter provider with an observable instrument per family of a shape, collected on demand.
struct Set {
    limits: BTreeMap<&'static str, (FamilyKind, usize)>,
    reader: Arc<ManualReader>,
    slot: Slot,
    // Kept so the instruments and the provider live as long as this.
    _handles: Vec<Box<dyn Any + Send + Sync>>,
    _provider: SdkMeterProvider,
}

/// The instruments of a push: gauges, counters and the probe latency histogram, each group its
/// own provider, so what rebuilds one never touches the others' start times.
pub(crate) struct Instruments {
    resource: Resource,
    /// Rebuilt when the set of gauge families changes or one outgrows its limit (a gauge has no
    /// start time to lose).
    gauges: Option<Set>,
    /// Every counter family of the catalogue from the first push on, so a family appearing
    /// never rebuilds them: their start time stays that of the first push for the life of the
    /// process, unless a family outgrows its limit (`COUNTER_HEADROOM` times its series then).
    counters: Option<Set>,
    probe: Arc<ProbeHistogram>,
}

impl Instruments {
    pub fn new(resource: Resource) -> Self {
        Self {
            probe: Arc::new(ProbeHistogram::new(resource.clone())),
            resource,
            gauges: None,
            counters: None,
        }
    }

    /// The histogram each finished probe is recorded into.
    pub fn probe_histogram(&self) -> Arc<ProbeHistogram> {
        self.probe.clone()
    }

    /// Makes room for every family of `shape`, rebuilding only what does not fit.
    pub fn fit(&mut self, shape: &Shape) {
        let (counters, gauges): (Shape, Shape) = shape
            .iter()
            .map(|(k, v)| (*k, *v))
            .partition(|(_, (kind, _))| kind.kind == MetricKind::Counter);
        if !self.gauges.as_ref().is_some_and(|g| g.fits(&gauges, true)) {
            self.gauges = Some(Set::build(&gauges, self.resource.clone(), 2));
        }
        if !self
            .counters
            .as_ref()
            .is_some_and(|c| c.fits(&counters, false))
        {
            let mut all = counters;
            for info in catalogue().iter().filter(|m| m.kind == MetricKind::Counter) {
                all.entry(info.name).or_insert((
                    FamilyKind {
                        kind: MetricKind::Counter,
                        float: false,
                    },
                    0,
                ));
            }
            self.counters = Some(Set::build(&all, self.resource.clone(), COUNTER_HEADROOM));
        }
    }

    /// Runs every callback over `view` and returns the batches (gauges, counters); CPU work:
    /// call it off the async worker threads.
    pub fn collect(&self, view: Arc<SnapshotView>) -> Result<Vec<ResourceMetrics>, OTelSdkError> {
        [&self.gauges, &self.counters]
            .into_iter()
            .flatten()
            .map(|set| set.collect(view.clone()))
            .collect()
    }
}

/// The probe latency as an SDK histogram with the classic buckets' bounds, recorded as each
/// probe finishes (the SDK has no observable histogram to feed pre-aggregated buckets into), in
/// its own provider, built once: its start time is the pusher's creation.
pub(crate) struct ProbeHistogram {
    histogram: opentelemetry::metrics::Histogram<f64>,
    reader: Arc<ManualReader>,
    _provider: SdkMeterProvider,
}

/// A cumulative reader we keep a handle to, for a provider to collect through.
fn cumulative_reader() -> Arc<ManualReader> {
    Arc::new(
        ManualReader::builder()
            .with_temporality(Temporality::Cumulative)
            .build(),
    )
}

impl ProbeHistogram {
    fn new(resource: Resource) -> Self {
        let reader = cumulative_reader();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(SharedReader(reader.clone()))
            .build();
        let info = &m::CALLBACK_PROBE_LATENCY_SECONDS;
        let otel = otel_name(info.name, info.kind);
        let histogram = provider
            .meter("wechat-mp-exporter")
            .f64_histogram(otel.name)
            .with_unit(ucum(info))
            .with_description(info.help)
            .with_boundaries(PROBE_BUCKETS.to_vec())
            .build();
        Self {
            histogram,
            reader,
            _provider: provider,
        }
    }

    /// Records one finished probe of `account`.
    pub fn record(&self, account: &str, seconds: f64) {
        self.histogram.record(
            seconds,
            &[KeyValue::new(
                "account",
                StringValue::from(account.to_string()),
            )],
        );
    }

    /// The histogram's batch, `None` before the first probe.
    pub fn collect(&self) -> Result<Option<ResourceMetrics>, OTelSdkError> {
        let mut batch = ResourceMetrics::default();
        self.reader.collect(&mut batch)?;
        let empty = batch.scope_metrics().all(|s| s.metrics().next().is_none());
        Ok((!empty).then_some(batch))
    }
}

/// The UCUM unit of a family, from the catalogue's unit; a family without one is a count, the
/// annotation `{count}` (which Prometheus' translation leaves out of the name).
fn ucum(info: &MetricInfo) -> &'static str {
    match info.unit() {
        Some("seconds") => "s",
        Some("bytes") => "By",
        Some("ratio") => "1",
        Some(other) => other,
        None => "{count}",
    }
}

impl Set {
    /// Whether every family of `shape` has an instrument of its kind with room for its series,
    /// and, when `exact`, no instrument is left over.
    fn fits(&self, shape: &Shape, exact: bool) -> bool {
        (!exact || shape.len() == self.limits.len())
            && shape.iter().all(|(name, (kind, count))| {
                self.limits
                    .get(name)
                    .is_some_and(|(k, limit)| k == kind && count <= limit)
            })
    }

    fn build(shape: &Shape, resource: Resource, headroom: usize) -> Self {
        let limits: BTreeMap<&'static str, (FamilyKind, usize)> = shape
            .iter()
            .map(|(name, (kind, count))| (*name, (*kind, (count * headroom).max(MIN_LIMIT))))
            .collect();
        let by_otel_name: BTreeMap<&'static str, usize> = limits
            .iter()
            .map(|(name, (kind, limit))| (otel_name(name, kind.kind).name, *limit))
            .collect();
        let reader = cumulative_reader();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(SharedReader(reader.clone()))
            .with_view(move |i: &Instrument| {
                let limit = by_otel_name.get(i.name())?;
                Stream::builder()
                    .with_cardinality_limit(*limit)
                    .build()
                    .ok()
            })
            .build();
        let meter = provider.meter("wechat-mp-exporter");
        let slot: Slot = Arc::default();
        let mut handles: Vec<Box<dyn Any + Send + Sync>> = Vec::new();
        for (&family, (kind, _)) in &limits {
            let otel = otel_name(family, kind.kind);
            let info = lookup(family);
            let help = info.map_or("", |m| m.help);
            let unit = info.map_or("{count}", ucum);
            let slot = slot.clone();
            match (kind.kind, kind.float) {
                (MetricKind::Gauge, false) => handles.push(Box::new(
                    meter
                        .u64_observable_gauge(otel.name)
                        .with_unit(unit)
                        .with_description(help)
                        .with_callback(move |o| observe(&slot, family, o, as_u64))
                        .build(),
                )),
                (MetricKind::Gauge, true) => handles.push(Box::new(
                    meter
                        .f64_observable_gauge(otel.name)
                        .with_unit(unit)
                        .with_description(help)
                        .with_callback(move |o| observe(&slot, family, o, as_f64))
                        .build(),
                )),
                (MetricKind::Counter, false) => handles.push(Box::new(
                    meter
                        .u64_observable_counter(otel.name)
                        .with_unit(unit)
                        .with_description(help)
                        .with_callback(move |o| observe(&slot, family, o, as_u64))
                        .build(),
                )),
                (MetricKind::Counter, true) => handles.push(Box::new(
                    meter
                        .f64_observable_counter(otel.name)
                        .with_unit(unit)
                        .with_description(help)
                        .with_callback(move |o| observe(&slot, family, o, as_f64))
                        .build(),
                )),
                // The probe latency is `ProbeHistogram`; `shape_of` leaves histograms out.
                (MetricKind::Histogram, _) => {}
            }
        }
        Set {
            limits,
            reader,
            slot,
            _handles: handles,
            _provider: provider,
        }
    }

    /// Runs every callback over `view` and returns the batch.
    fn collect(&self, view: Arc<SnapshotView>) -> Result<ResourceMetrics, OTelSdkError> {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(view);
        let mut batch = ResourceMetrics::default();
        let result = self.reader.collect(&mut batch);
        // Free the snapshot now rather than at the next push.
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
        result.map(|()| batch)
    }
}

fn as_u64(v: Value) -> Option<u64> {
    match v {
        Value::Int(n) => Some(n),
        Value::Float(_) => None,
    }
}

fn as_f64(v: Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(n as f64),
        Value::Float(f) => Some(f),
    }
}

/// One family's series as observations. Runs on the collecting thread; it must never panic (a
/// panic there would abort the collection), so nothing here unwraps.
fn observe<T>(
    slot: &Slot,
    family: &str,
    o: &dyn AsyncInstrument<T>,
    value: fn(Value) -> Option<T>,
) {
    let view = slot
        .lock()
        .map(|s| s.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    let Some(view) = view else { return };
    for s in view.family(family) {
        if let Some(v) = value(s.value) {
            o.observe(v, &attributes(s));
        }
    }
}

/// The labels as attributes, same keys and values, sorted by key (the SDK keys its map by the
/// sorted set). Values are reference-counted: the SDK copies each attribute set several times
/// per series, and copying an `Arc<str>` is a count, not an allocation.
pub(crate) fn attributes(s: &Point) -> Vec<KeyValue> {
    let mut attrs: Vec<KeyValue> = s
        .labels
        .iter()
        .map(|(k, v)| {
            let value = StringValue::from(v.clone());
            KeyValue::new(Key::from_static_str(k), value)
        })
        .collect();
    attrs.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    attrs
}

/// Hands the SDK a reader we keep a handle to (the provider takes its readers by value).
#[derive(Debug)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

#[cfg(test)]
mod tests;
