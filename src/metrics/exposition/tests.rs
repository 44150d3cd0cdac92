//! Unit tests of the blocks: parts, joins, gzip members, protobuf, and what each change rebuilds.
use std::io::Read as _;
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use prometheus_client::encoding::prometheus_protobuf::prometheus_data_model::{
    MetricFamily, MetricType,
};
use prost::Message as _;

use super::*;
use crate::metrics::{Sample, Snapshot, Store, Value};
use crate::probe::{Outcome, ProbeSink as _};

/// A business family (any: the test holds no name the catalogue may rename).
fn business_family() -> &'static m::MetricInfo {
    m::catalogue()
        .iter()
        .find(|i| crate::metrics::store::is_business(i.name) && i.kind == m::MetricKind::Gauge)
        .unwrap()
}

/// A store with two accounts' business samples and one probe result.
fn store() -> Arc<Store> {
    let store = Store::new("1.2.3", "abc");
    for account in ["a", "b"] {
        let sample = |metric: &'static m::MetricInfo, value| Sample {
            name: metric.name,
            labels: vec![("account", account.into())].into(),
            value,
        };
        let snapshot = Snapshot::new(vec![
            sample(&m::UP, Value::Int(1)),
            sample(business_family(), Value::Int(42)),
        ]);
        store.lock().insert(account.into(), Arc::new(snapshot));
    }
    store.mark_stale();
    store.probe_result(
        "a",
        &Outcome {
            duration: Duration::from_millis(700),
            failure: None,
        },
    );
    store
}

fn inflate(chunks: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(&chunks.concat()[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn encodes(store: &Store, format: Format) -> u64 {
    store.self_metrics().exporter_count(
        m::EXPORTER_BUSINESS_ENCODES_TOTAL.name,
        ("format", format.label()),
    )
}

#[test]
fn a_large_business_block_in_parts_is_byte_for_byte_the_block_in_one() {
    use crate::metrics::store::{Snapshot, business_parts, is_business};
    // 60 accounts x 5 families of uneven sizes (61,200 series): above the size from which
    // the block is split, and parts that must hold more than one family.
    let sizes = [400, 50, 300, 20, 250];
    let infos: Vec<&m::MetricInfo> = m::catalogue()
        .iter()
        .filter(|i| is_business(i.name) && i.kind == m::MetricKind::Gauge)
        .take(sizes.len())
        .collect();
    let snapshots: Vec<Arc<Snapshot>> = (0..60)
        .map(|a| {
            let samples = infos
                .iter()
                .zip(sizes)
                .flat_map(|(info, n)| {
                    (0..n).map(move |i| Sample {
                        name: info.name,
                        labels: vec![
                            ("account", format!("a{a}").into()),
                            ("msgid", format!("{i}").into()),
                        ]
                        .into(),
                        value: Value::Int(i),
                    })
                })
                .collect();
            Arc::new(Snapshot::new(samples))
        })
        .collect();
    let block = |names| {
        let families = Families {
            accounts: snapshots.clone(),
            keep: Some(is_business),
            names,
            ..Default::default()
        };
        Block::new(families, None)
    };
    let mut names: Vec<&str> = infos.iter().map(|i| i.name).collect();
    names.sort_unstable();
    for cores in [2, 3] {
        let parts: Vec<(&str, &str)> = business_parts(&snapshots, cores)
            .into_iter()
            .map(|p| p.expect("a range"))
            .collect();
        // At most one per core; fewer when a family alone is more than a core's share.
        assert!((2..=cores).contains(&parts.len()), "{parts:?}");
        // Contiguous ranges covering every name, each name in exactly one.
        for name in &names {
            let holders = parts.iter().filter(|(a, b)| a <= name && name <= b).count();
            assert_eq!(holders, 1, "{name} in {parts:?}");
        }
        assert_eq!(parts[0].0, names[0]);
        assert_eq!(parts[parts.len() - 1].1, names[names.len() - 1]);
        assert!(parts.windows(2).all(|w| w[0].1 < w[1].0), "{parts:?}");
        let whole = block(None);
        for format in Format::ALL {
            let joined: Vec<u8> = parts
                .iter()
                .flat_map(|p| block(Some(*p)).plain(format).to_vec())
                .collect();
            assert_eq!(joined, whole.plain(format).to_vec(), "{cores} {format:?}");
        }
    }
    // One core, or a small block: one part.
    assert_eq!(business_parts(&snapshots, 1), vec![None]);
    assert_eq!(business_parts(&snapshots[..10], 3), vec![None]);

    // Through the store, on this machine's cores: the parts encoded side by side (gzip
    // members) hold the plain answer.
    let store = Store::new("1.2.3", "abc");
    for (a, snapshot) in snapshots.iter().enumerate() {
        store.lock().insert(format!("a{a}"), snapshot.clone());
    }
    store.mark_stale();
    for format in Format::ALL {
        let e = store.exposition();
        let zipped = e.blocks_of(format, true);
        let plain = e.blocks_of(format, false);
        // The process block may be read anew between the two calls: compare without it.
        let body = |chunks: Vec<u8>| {
            let text = String::from_utf8_lossy(&chunks).into_owned();
            text.lines()
                .filter(|l| !l.contains("process_"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        if format != Format::Protobuf {
            assert_eq!(body(inflate(&zipped)), body(plain.concat()), "{format:?}");
        }
        assert!(e.text.len() > 61_200 * 20);
    }
}

#[test]
fn a_small_answer_is_joined_once_until_one_of_its_blocks_changes() {
    let store = store();
    // The first encoding of the business block counts itself, which changes the live block.
    store.exposition().response(Format::Text, false);
    let first = store.exposition().response(Format::Text, false);
    let again = store.exposition().response(Format::Text, false);
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].as_ptr(),
        again[0].as_ptr(),
        "the same buffer, not a new join"
    );
    // A probe result changes the live block: the next answer is joined anew and holds it.
    store.probe_result(
        "b",
        &Outcome {
            duration: Duration::from_millis(300),
            failure: None,
        },
    );
    let after = store.exposition().response(Format::Text, false);
    assert_ne!(after[0].as_ptr(), first[0].as_ptr());
    let text = std::str::from_utf8(&after[0]).unwrap();
    assert!(
        text.contains("wechat_mp_callback_probe_latency_seconds_count{account=\"b\"} 1\n"),
        "{text}"
    );
    // Each format and encoding has its own joined answer.
    let zipped = store.exposition().response(Format::Text, true);
    assert!(zipped[0].starts_with(&[0x1f, 0x8b]));
    assert_eq!(inflate(&zipped), after[0].to_vec());

    let joined = Joined::default();
    let (a, b) = (Bytes::from(vec![b'a'; 10]), Bytes::from(vec![b'b'; 10]));
    let ab = joined.join(Format::Text, false, vec![a.clone(), b.clone()]);
    assert_eq!(&ab[..], [&a[..], &b[..]].concat());
    let same = joined.join(Format::Text, false, vec![a.clone(), b.clone()]);
    assert_eq!(same.as_ptr(), ab.as_ptr());
    // Equal bytes in a new buffer are a new chunk: joined again.
    let b2 = Bytes::from(vec![b'b'; 10]);
    let other = joined.join(Format::Text, false, vec![a, b2]);
    assert_ne!(other.as_ptr(), ab.as_ptr());
}

#[test]
fn gzip_members_decode_to_the_plain_answer_and_only_openmetrics_ends_with_eof() {
    let store = store();
    for format in Format::ALL {
        let e = store.exposition();
        assert!(!e.is_ready(format, true));
        let zipped = e.blocks_of(format, true);
        assert!(e.is_ready(format, true));
        // business, the live block's three parts, process (and the `# EOF` member for
        // OpenMetrics).
        let members = if format == Format::OpenMetrics { 6 } else { 5 };
        assert_eq!(zipped.len(), members, "{format:?}");
        assert!(zipped.iter().all(|m| m.starts_with(&[0x1f, 0x8b])));
        // A small answer goes out as those members joined.
        assert_eq!(e.response(format, true), vec![zipped.concat()]);
        let plain = e.response(format, false).concat();
        let unzipped = inflate(&zipped);
        assert_eq!(unzipped, plain, "{format:?}");
        let eofs = plain.windows(EOF.len()).filter(|w| *w == EOF).count();
        if format == Format::OpenMetrics {
            assert!(plain.ends_with(b"\n# EOF\n") && eofs == 1);
        } else {
            assert_eq!(eofs, 0, "{format:?}");
        }
    }
}

#[test]
fn protobuf_decodes_as_metric_families_with_a_native_histogram() {
    let store = store();
    let body = store
        .exposition()
        .response(Format::Protobuf, false)
        .concat();
    let mut rest = &body[..];
    let mut families = Vec::new();
    while !rest.is_empty() {
        families.push(MetricFamily::decode_length_delimited(&mut rest).unwrap());
    }
    let family = |name: &str| families.iter().find(|f| f.name == name);
    // Every family once (never split across blocks), with its catalogue HELP.
    let mut names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "{names:?}");
    let cumulate = family(business_family().name).unwrap();
    assert_eq!(cumulate.help, business_family().help);
    assert_eq!(cumulate.metric.len(), 2);
    assert_eq!(cumulate.metric[0].gauge.unwrap().value, 42.0);
    let requests = family(m::EXPORTER_BUSINESS_ENCODES_TOTAL.name).unwrap();
    assert_eq!(requests.r#type, MetricType::Counter as i32);
    assert!(family("process_cpu_seconds_total").is_some() || !cfg!(target_os = "linux"));
    let latency = family(m::CALLBACK_PROBE_LATENCY_SECONDS.name).unwrap();
    assert_eq!(latency.r#type, MetricType::Histogram as i32);
    let h = latency.metric[0].histogram.clone().unwrap();
    assert_eq!(h.sample_count, 1);
    assert!((h.sample_sum - 0.7).abs() < 1e-9);
    // Classic buckets for scrapers without native histograms, native ones beside them.
    assert_eq!(h.bucket.len(), 11);
    assert_eq!(h.schema, 3);
    assert_eq!(h.positive_delta, vec![1]);
    let index = h.positive_span[0].offset;
    let factor = 2f64.powf(1.0 / 8.0);
    assert!(factor.powi(index - 1) < 0.7 && 0.7 <= factor.powi(index));
}

#[test]
fn probes_calls_and_down_never_reencode_the_business_block() {
    let store = store();
    let first = store.exposition();
    first.response(Format::OpenMetrics, true);
    assert_eq!(encodes(&store, Format::OpenMetrics), 1);
    let business = first.business().clone();
    for round in 0..5 {
        store.probe_result(
            "b",
            &Outcome {
                duration: Duration::from_millis(100 * round),
                failure: None,
            },
        );
        store
            .self_metrics()
            .observer("a")
            .api_call("getusercumulate", "0");
        store.mark_down("a");
        let e = store.exposition();
        assert!(Arc::ptr_eq(e.business(), &business));
        let body = String::from_utf8(inflate(&e.response(Format::OpenMetrics, true))).unwrap();
        assert!(body.contains(&format!(
            "wechat_mp_callback_probe_latency_seconds_count{{account=\"b\"}} {}\n",
            round + 1
        )));
        assert!(body.contains("wechat_mp_up{account=\"a\"} 0\n"), "{body}");
    }
    assert_eq!(encodes(&store, Format::OpenMetrics), 1);
    // Between changes, nothing is rebuilt at all.
    let (a, b) = (store.exposition(), store.exposition());
    assert_eq!(
        a.blocks_of(Format::Text, true)[1].as_ptr(),
        b.blocks_of(Format::Text, true)[1].as_ptr()
    );
    // Business data changed: one more encoding.
    store.mark_stale();
    store.exposition().response(Format::OpenMetrics, true);
    assert_eq!(encodes(&store, Format::OpenMetrics), 2);
}

/// `mark_down` replaces the account's `wechat_mp_up` alone: its other families are the same
/// points as before (which the business block still holds), not copies, so an outage that marks
/// every account down does not hold a second copy of every point (32 bytes a series).
#[test]
fn mark_down_shares_the_accounts_other_families() {
    let store = store();
    let family = business_family().name;
    let before = store.lock()["a"].clone();
    store.mark_down("a");
    let after = store.lock()["a"].clone();
    assert!(!Arc::ptr_eq(&before, &after));
    assert!(before.families.contains_key(family));
    assert_eq!(
        before.families.keys().collect::<Vec<_>>(),
        after.families.keys().collect::<Vec<_>>()
    );
    for (name, points) in &before.families {
        let shared = Arc::ptr_eq(points, &after.families[name]);
        assert_eq!(shared, *name != m::UP.name, "{name}");
    }
    assert_eq!(before.families[m::UP.name][0].value, Value::Int(1));
    assert_eq!(after.families[m::UP.name][0].value, Value::Int(0));
}

/// A probe result rebuilds the probes' part of the live block alone, a call the exporter's
/// counters alone, `mark_down` the accounts' health alone: at 1000 accounts the probes'
/// part is a sixth of the live block (docs/benchmarks.md, "Callback probes").
#[test]
fn each_part_of_the_live_block_is_rebuilt_only_by_its_own_changes() {
    let store = store();
    let live = |e: &Exposition| e.text.live.clone();
    let rebuilt = |before: &[Arc<Block>; 3], after: &[Arc<Block>; 3]| {
        [0, 1, 2].map(|i| !Arc::ptr_eq(&before[i], &after[i]))
    };
    let mut before = live(&store.exposition());
    let parts = before
        .clone()
        .map(|b| String::from_utf8(b.plain(Format::Text).to_vec()).unwrap());
    assert!(
        parts[0].contains("wechat_mp_up{account=\"a\"} 1\n"),
        "{}",
        parts[0]
    );
    assert!(
        parts[1].contains("wechat_mp_exporter_build_info{"),
        "{}",
        parts[1]
    );
    assert!(
        parts[2].contains("wechat_mp_callback_probe_success{account=\"a\"}"),
        "{}",
        parts[2]
    );
    // (the change, how to make it, which parts it rebuilds).
    type Change<'a> = (&'a str, &'a dyn Fn(), [bool; 3]);
    let changes: [Change; 4] = [
        ("nothing", &|| {}, [false, false, false]),
        (
            "a probe result",
            &|| {
                let ok = Outcome {
                    duration: Duration::from_millis(5),
                    failure: None,
                };
                store.probe_result("b", &ok);
            },
            [false, false, true],
        ),
        (
            "a call",
            &|| {
                store
                    .self_metrics()
                    .observer("a")
                    .api_call("getusercumulate", "0")
            },
            [false, true, false],
        ),
        (
            "an account down",
            &|| store.mark_down("a"),
            [true, false, false],
        ),
    ];
    for (change, apply, expected) in changes {
        apply();
        let after = live(&store.exposition());
        assert_eq!(rebuilt(&before, &after), expected, "after {change}");
        before = after;
    }
    let down = String::from_utf8(before[0].plain(Format::Text).to_vec()).unwrap();
    assert!(down.contains("wechat_mp_up{account=\"a\"} 0\n"), "{down}");
}
