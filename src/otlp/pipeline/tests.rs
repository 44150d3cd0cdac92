//! Unit tests of the OTLP instruments: fixed start times, the probe histogram, units.

use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};

use super::*;
use crate::latest::{AccountReports, AccountStatus};

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
            FamilyKind {
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
    let s = Point {
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
    let mut instruments = Instruments::new(Resource::builder_empty().build());
    instruments.fit(&shape_of(std::slice::from_ref(&view)));
    let view = Arc::new(view);
    let batch = instruments.collect(view.clone()).unwrap();
    let metrics: Vec<_> = batch
        .iter()
        .flat_map(|b| b.scope_metrics())
        .flat_map(|s| s.metrics())
        .collect();
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
    let points = |b: &[ResourceMetrics]| {
        b.iter()
            .flat_map(|b| b.scope_metrics())
            .flat_map(|s| s.metrics())
            .count()
    };
    assert_eq!(points(&again), points(&batch));
    // Every instrument has a unit.
    assert!(metrics.iter().all(|m| !m.unit().is_empty()));
    assert_eq!(find("wechat_mp_up").unit(), "{count}");
}

fn counter_start(batches: &[ResourceMetrics]) -> std::time::SystemTime {
    let requests = batches
        .iter()
        .flat_map(|b| b.scope_metrics())
        .flat_map(|s| s.metrics())
        .find(|m| m.name() == otel_name(m::API_REQUESTS_TOTAL.name, MetricKind::Counter).name)
        .expect("the request counter is pushed");
    match requests.data() {
        AggregatedMetrics::U64(MetricData::Sum(s)) => s.start_time(),
        other => panic!("{other:?}"),
    }
}

/// A family appearing (or growing a little) rebuilds the gauges, never the counters: the
/// counters' start time stays put.
#[test]
fn counter_start_times_survive_new_families() {
    let store = store();
    let mut instruments = Instruments::new(Resource::builder_empty().build());
    let mut starts = Vec::new();
    for push in 0..10 {
        if push == 5 {
            // A family the store did not have before: quota gauges of a new account.
            let status = AccountStatus {
                up: false,
                ..AccountStatus::default()
            };
            store.update_account("c", &AccountReports::default(), &status, 10);
            store
                .self_metrics()
                .observer("c")
                .token_fetch("stable", "0");
        }
        let view = store.snapshot_view();
        instruments.fit(&shape_of(std::slice::from_ref(&view)));
        starts.push(counter_start(&instruments.collect(Arc::new(view)).unwrap()));
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(starts.iter().all(|s| *s == starts[0]), "{starts:?}");
}

#[test]
fn the_probe_histogram_has_the_classic_bounds_and_a_unit() {
    let h = ProbeHistogram::new(Resource::builder_empty().build());
    assert!(
        h.collect().unwrap().is_none(),
        "nothing before the first probe"
    );
    for seconds in [0.03, 0.7, 6.0] {
        h.record("a", seconds);
    }
    let batch = h.collect().unwrap().unwrap();
    let metric = batch
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .next()
        .unwrap();
    assert_eq!(metric.unit(), "s");
    match metric.data() {
        AggregatedMetrics::F64(MetricData::Histogram(hist)) => {
            let p = hist.data_points().next().unwrap();
            assert_eq!(p.bounds().collect::<Vec<_>>(), PROBE_BUCKETS.to_vec());
            assert_eq!(p.count(), 3);
            let counts: Vec<u64> = p.bucket_counts().collect();
            assert_eq!(counts, [1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
        }
        other => panic!("{other:?}"),
    }
}
