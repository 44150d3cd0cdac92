//! The OpenTelemetry SDK side of a push: one observable instrument per family, fed from a
//! [`SnapshotView`] and collected on demand through a `ManualReader`.
//!
//! The SDK folds series past an instrument's cardinality limit (2000 by default) into one
//! `otel.metric.overflow` series, and preallocates a map of that size per instrument. A push is
//! collected one request-sized part at a time, so each instrument gets a limit sized from the
//! largest part (twice its series of that family, at least 2000), and the instruments are rebuilt
//! when a family outgrows its limit or the set of families changes: a push never drops a series,
//! and memory follows one part, not the whole snapshot.

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
use crate::metrics::{MetricKind, Sample, SnapshotView, Value, lookup};

/// The smallest limit handed to the SDK (its own default).
const MIN_LIMIT: usize = 2000;

/// What an instrument must be for one family: its type and whether any value is a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    pub kind: MetricKind,
    pub float: bool,
}

/// Every family of a snapshot: its instrument kind and number of series.
pub(crate) type Shape = BTreeMap<&'static str, (Kind, usize)>;

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
            let kind = Kind {
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

/// A meter provider with one instrument per family, collected on demand.
pub(crate) struct Instruments {
    limits: BTreeMap<&'static str, (Kind, usize)>,
    reader: Arc<ManualReader>,
    slot: Slot,
    // Kept so the instruments and the provider live as long as this.
    _handles: Vec<Box<dyn Any + Send + Sync>>,
    _provider: SdkMeterProvider,
}

impl Instruments {
    /// Whether every family of `shape` has an instrument of its kind with room for its series,
    /// and no instrument is left over.
    pub fn fits(&self, shape: &Shape) -> bool {
        shape.len() == self.limits.len()
            && shape.iter().all(|(name, (kind, count))| {
                self.limits
                    .get(name)
                    .is_some_and(|(k, limit)| k == kind && count <= limit)
            })
    }

    pub fn build(shape: &Shape, resource: Resource) -> Self {
        let limits: BTreeMap<&'static str, (Kind, usize)> = shape
            .iter()
            .map(|(name, (kind, count))| (*name, (*kind, (count * 2).max(MIN_LIMIT))))
            .collect();
        let by_otel_name: BTreeMap<&'static str, usize> = limits
            .iter()
            .map(|(name, (kind, limit))| (otel_name(name, kind.kind).name, *limit))
            .collect();
        let reader = Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        );
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
            let help = lookup(family).map_or("", |m| m.help);
            let slot = slot.clone();
            match (kind.kind, kind.float) {
                (MetricKind::Gauge, false) => handles.push(Box::new(
                    meter
                        .u64_observable_gauge(otel.name)
                        .with_unit(otel.unit)
                        .with_description(help)
                        .with_callback(move |o| observe(&slot, family, o, as_u64))
                        .build(),
                )),
                (MetricKind::Gauge, true) => handles.push(Box::new(
                    meter
                        .f64_observable_gauge(otel.name)
                        .with_unit(otel.unit)
                        .with_description(help)
                        .with_callback(move |o| observe(&slot, family, o, as_f64))
                        .build(),
                )),
                (MetricKind::Counter, false) => handles.push(Box::new(
                    meter
                        .u64_observable_counter(otel.name)
                        .with_unit(otel.unit)
                        .with_description(help)
                        .with_callback(move |o| observe(&slot, family, o, as_u64))
                        .build(),
                )),
                (MetricKind::Counter, true) => handles.push(Box::new(
                    meter
                        .f64_observable_counter(otel.name)
                        .with_unit(otel.unit)
                        .with_description(help)
                        .with_callback(move |o| observe(&slot, family, o, as_f64))
                        .build(),
                )),
                // The SDK has no observable histogram to feed pre-aggregated buckets into, so
                // histograms are not pushed yet; `shape_of` leaves them out.
                (MetricKind::Histogram, _) => {}
            }
        }
        Instruments {
            limits,
            reader,
            slot,
            _handles: handles,
            _provider: provider,
        }
    }

    /// Runs every callback over `view` and returns the batch (CPU work: call it off the async
    /// worker threads).
    pub fn collect(&self, view: Arc<SnapshotView>) -> Result<ResourceMetrics, OTelSdkError> {
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
pub(crate) fn attributes(s: &Sample) -> Vec<KeyValue> {
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
mod tests {
    use opentelemetry_sdk::metrics::Temporality;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};

    use super::*;
    use crate::reports::{AccountReports, AccountStatus};

    fn store() -> Arc<crate::metrics::Store> {
        let store = crate::metrics::Store::new("1.0.0", "abc");
        let status = AccountStatus {
            up: true,
            last_poll_seconds: Some(0.25),
            ..AccountStatus::default()
        };
        store.update_account("b", &AccountReports::default(), &status, 10);
        store
            .self_metrics()
            .observer("b")
            .api_call("getusercumulate", "0");
        store
    }

    #[test]
    fn shape_knows_kind_and_value_type() {
        let view = store().snapshot_view();
        let shape = shape_of(&[view]);
        let up = shape["wechat_mp_up"];
        assert_eq!(
            up,
            (
                Kind {
                    kind: MetricKind::Gauge,
                    float: false
                },
                1
            )
        );
        assert!(shape["wechat_mp_last_poll_duration_seconds"].0.float);
        assert_eq!(
            shape["wechat_mp_api_requests_total"].0.kind,
            MetricKind::Counter
        );
        assert!(!shape.keys().any(|n| n.starts_with("process_")));
    }

    #[test]
    fn attributes_keep_keys_and_values_sorted_by_key() {
        let s = Sample {
            name: "wechat_mp_api_requests_total",
            labels: vec![
                ("account", "b".into()),
                ("api", "getusercumulate".into()),
                ("errcode", "0".into()),
            ]
            .into(),
            value: Value::Int(1),
        };
        let got: Vec<(String, String)> = attributes(&s)
            .into_iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect();
        let want: Vec<(String, String)> = [
            ("account", "b"),
            ("api", "getusercumulate"),
            ("errcode", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    /// Gauges become gauges and counters cumulative monotonic sums, integers as u64 and floats as
    /// f64, under the translated names with units.
    #[test]
    fn collected_batch_has_the_right_types_names_and_values() {
        let view = store().snapshot_view();
        let instruments = Instruments::build(
            &shape_of(std::slice::from_ref(&view)),
            Resource::builder_empty().build(),
        );
        let view = Arc::new(view);
        let batch = instruments.collect(view.clone()).unwrap();
        let metrics: Vec<_> = batch.scope_metrics().flat_map(|s| s.metrics()).collect();
        let find = |name: &str| {
            metrics
                .iter()
                .find(|m| m.name() == name)
                .unwrap_or_else(|| panic!("{name} missing"))
        };
        match find("wechat_mp_up").data() {
            AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                let values: Vec<u64> = g.data_points().map(|p| p.value()).collect();
                assert_eq!(values, [1]);
            }
            other => panic!("wechat_mp_up: {other:?}"),
        }
        let poll = find("wechat_mp_last_poll_duration");
        assert_eq!(poll.unit(), "s");
        match poll.data() {
            AggregatedMetrics::F64(MetricData::Gauge(g)) => {
                assert_eq!(
                    g.data_points().map(|p| p.value()).collect::<Vec<_>>(),
                    [0.25]
                );
            }
            other => panic!("wechat_mp_last_poll_duration: {other:?}"),
        }
        match find("wechat_mp_api_requests").data() {
            AggregatedMetrics::U64(MetricData::Sum(s)) => {
                assert!(s.is_monotonic());
                assert_eq!(s.temporality(), Temporality::Cumulative);
                let p = s.data_points().next().unwrap();
                assert_eq!(p.value(), 1);
                let keys: Vec<String> = p.attributes().map(|kv| kv.key.to_string()).collect();
                assert_eq!(keys, ["account", "api", "errcode"]);
            }
            other => panic!("wechat_mp_api_requests: {other:?}"),
        }
        // A second collection of the same view gives the same batch: observations of an
        // observable instrument replace, they do not accumulate.
        let again = instruments.collect(view).unwrap();
        let points = |b: &ResourceMetrics| b.scope_metrics().flat_map(|s| s.metrics()).count();
        assert_eq!(points(&again), points(&batch));
    }
}
