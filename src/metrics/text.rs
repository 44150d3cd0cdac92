//! The bridge from the pre-mapped samples to prometheus-client: a `Collector` over a block's
//! families, and the one function that writes a block in any exposition format through the
//! library's encoders (HELP, TYPE and UNIT, the `_total` rule, escaping, protobuf).
//!
//! The samples stay pre-mapped (the catalogue is the one model of the families; docs/architecture.md,
//! "What is hand-written and why"); prometheus-client only writes them.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, LabelSetEncoder, NativeHistogram, NativeHistogramBuckets,
    NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::catalogue::{MetricInfo, MetricKind, Stability, Unit as Measure, lookup};
use super::{Labels, Point, Snapshot, Value};

/// Which body to write. Text 1.0.0 is the text 0.0.4 body (every name is in the legacy
/// character set, so no escaping scheme changes a byte), OpenMetrics 0.0.1 the 1.0.0 body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// OpenMetrics text, without `# EOF` (the scrape adds it once, last).
    OpenMetrics,
    /// The Prometheus text format.
    Text,
    /// Length-delimited `io.prometheus.client.MetricFamily` messages.
    Protobuf,
}

impl Format {
    /// Every format, in the order of [`Format::index`].
    pub const ALL: [Format; 3] = [Format::OpenMetrics, Format::Text, Format::Protobuf];

    /// A slot per format in per-format caches.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The value of the `format` label of the business-encode counter.
    pub fn label(self) -> &'static str {
        match self {
            Format::OpenMetrics => "openmetrics",
            Format::Text => "text",
            Format::Protobuf => "protobuf",
        }
    }
}

/// A native histogram's sparse buckets (Prometheus' exponential schema), one side only: the
/// probe latency is never negative.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NativeBuckets {
    /// Resolution: bucket boundaries are powers of `2^(2^-schema)`.
    pub schema: i32,
    /// Observations at or below this go to the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// (offset, length) runs of populated bucket indexes.
    pub spans: Vec<(i32, u32)>,
    /// Each bucket's count as a delta from the previous bucket's.
    pub deltas: Vec<i64>,
}

/// One histogram series: classic buckets (upper bound, count in that bucket alone, `+Inf`
/// last) and the native buckets of the same observations.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSeries {
    /// Label names and values (`account` first).
    pub labels: Labels,
    /// Sum of the observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
    /// Non-cumulative classic buckets.
    pub buckets: Vec<(f64, u64)>,
    /// The same observations at native resolution.
    pub native: NativeBuckets,
}

/// A label set as prometheus-client encodes it.
struct LabelSet<'a>(&'a [(&'static str, super::LabelValue)]);

impl EncodeLabelSet for LabelSet<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        for (k, v) in self.0 {
            prometheus_client::encoding::EncodeLabel::encode(&(*k, &**v), encoder.encode_label())?;
        }
        Ok(())
    }
}

/// What one block holds: the accounts' families that `keep` selects, the exporter's own
/// samples and histograms. Snapshots are shared, not copied.
#[derive(Clone, Default)]
pub(super) struct Families {
    pub accounts: Vec<Arc<Snapshot>>,
    /// Which of the accounts' families belong to this block.
    pub keep: Option<fn(&str) -> bool>,
    /// Of those, only the names in this inclusive range (one part of a block encoded in parts).
    pub names: Option<(&'static str, &'static str)>,
    pub own: Vec<(&'static str, Point)>,
    pub histograms: BTreeMap<&'static str, Vec<HistogramSeries>>,
    /// Families not in the catalogue (`process_*`): (info, samples).
    pub extra: Vec<(MetricInfo, Vec<Point>)>,
}

impl std::fmt::Debug for Families {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Families")
            .field("series", &self.series())
            .finish()
    }
}

impl Families {
    /// Every sample family by name (sorted), the accounts' in account order, then the own; of
    /// the family `only` alone when given.
    fn samples_of(&self, only: Option<&str>) -> BTreeMap<&'static str, Vec<&Point>> {
        let mut families: BTreeMap<&'static str, Vec<&Point>> = BTreeMap::new();
        let mut kept = self.kept();
        for snapshot in &self.accounts {
            match only {
                Some(name) => {
                    if let Some((name, samples)) = snapshot.families.get_key_value(name)
                        && kept(name)
                    {
                        families.entry(name).or_default().extend(samples.iter());
                    }
                }
                None => {
                    for (name, samples) in &snapshot.families {
                        if kept(name) {
                            families.entry(name).or_default().extend(samples.iter());
                        }
                    }
                }
            }
        }
        for (family, s) in &self.own {
            if only.is_none_or(|o| o == *family) {
                families.entry(family).or_default().push(s);
            }
        }
        families
    }

    /// Every family name of the block.
    fn names(&self) -> Vec<&'static str> {
        let mut kept = self.kept();
        let mut names: std::collections::BTreeSet<&'static str> = self
            .accounts
            .iter()
            .flat_map(|a| a.families.keys().copied())
            .filter(|name| kept(name))
            .collect();
        names.extend(self.own.iter().map(|(f, _)| *f));
        names.extend(self.histograms.keys().copied());
        names.extend(self.extra.iter().map(|(info, _)| info.name));
        names.into_iter().collect()
    }

    fn encode_families(
        &self,
        only: Option<&str>,
        encoder: &mut DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        for (name, samples) in self.samples_of(only) {
            let info = lookup(name).copied().unwrap_or_else(|| unknown(name));
            encode_samples(encoder, &info, &samples)?;
        }
        for (name, series) in &self.histograms {
            if only.is_none_or(|o| o == *name) {
                let info = lookup(name).copied().unwrap_or_else(|| unknown(name));
                encode_histograms(encoder, &info, series)?;
            }
        }
        for (info, samples) in &self.extra {
            if only.is_none_or(|o| o == info.name) {
                let samples: Vec<&Point> = samples.iter().collect();
                encode_samples(encoder, info, &samples)?;
            }
        }
        Ok(())
    }

    /// Whether an account family belongs to this block, each name decided once (a catalogue
    /// lookup per family and account would cost more than the encoding of the live block).
    fn kept(&self) -> impl FnMut(&'static str) -> bool + '_ {
        let mut memo: std::collections::HashMap<&'static str, bool> = Default::default();
        move |name| {
            *memo.entry(name).or_insert_with(|| {
                self.keep.is_none_or(|keep| keep(name))
                    && self
                        .names
                        .is_none_or(|(first, last)| first <= name && name <= last)
            })
        }
    }

    /// How many series the block holds (a size hint for the buffers).
    pub fn series(&self) -> usize {
        let mut kept = self.kept();
        let accounts: usize = self
            .accounts
            .iter()
            .flat_map(|a| a.families.iter())
            .filter(|(name, _)| kept(name))
            .map(|(_, s)| s.len())
            .sum();
        accounts + self.own.len() + self.histograms.values().map(Vec::len).sum::<usize>()
    }
}

/// The name prometheus-client is handed: without the `_total` it appends to counters and the
/// unit it appends to every name that has one.
fn base_name(info: &MetricInfo) -> &'static str {
    let name = info.name;
    let name = match info.kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    match info.unit() {
        Some(unit) => name
            .strip_suffix(unit)
            .and_then(|n| n.strip_suffix('_'))
            .unwrap_or(name),
        None => name,
    }
}

fn metric_type(kind: MetricKind) -> MetricType {
    match kind {
        MetricKind::Gauge => MetricType::Gauge,
        MetricKind::Counter => MetricType::Counter,
        MetricKind::Histogram => MetricType::Histogram,
    }
}

/// A family missing from the catalogue: a gauge with an empty HELP (a test keeps the catalogue
/// complete, so this only guards against a panic).
fn unknown(name: &'static str) -> MetricInfo {
    MetricInfo {
        name,
        kind: MetricKind::Gauge,
        measure: Measure::Number,
        labels: &[],
        stability: Stability::Experimental,
        group: "",
        endpoint: "",
        field: "",
        help: "",
    }
}

/// The HELP, TYPE and UNIT of `info`'s family, as prometheus-client writes them.
fn descriptor<'s>(
    encoder: &'s mut DescriptorEncoder,
    info: &'s MetricInfo,
    unit: &'s Option<Unit>,
) -> Result<prometheus_client::encoding::MetricEncoder<'s>, std::fmt::Error> {
    encoder.encode_descriptor(
        base_name(info),
        info.help,
        unit.as_ref(),
        metric_type(info.kind),
    )
}

fn unit_of(info: &MetricInfo) -> Option<Unit> {
    info.unit().map(|u| Unit::Other(u.to_string()))
}

fn encode_samples(
    encoder: &mut DescriptorEncoder,
    info: &MetricInfo,
    samples: &[&Point],
) -> Result<(), std::fmt::Error> {
    let unit = unit_of(info);
    let mut family = descriptor(encoder, info, &unit)?;
    for s in samples {
        let labels = LabelSet(&s.labels);
        let mut metric = family.encode_family(&labels)?;
        match (info.kind, s.value) {
            (MetricKind::Counter, Value::Int(n)) => {
                metric.encode_counter::<NoLabelSet, _, u64>(&n, None)?
            }
            (MetricKind::Counter, Value::Float(f)) => {
                metric.encode_counter::<NoLabelSet, _, u64>(&f, None)?
            }
            (_, Value::Int(n)) => metric.encode_gauge(&n)?,
            (_, Value::Float(f)) => metric.encode_gauge(&f)?,
        }
    }
    Ok(())
}

fn encode_histograms(
    encoder: &mut DescriptorEncoder,
    info: &MetricInfo,
    series: &[HistogramSeries],
) -> Result<(), std::fmt::Error> {
    let unit = unit_of(info);
    let mut family = descriptor(encoder, info, &unit)?;
    for h in series {
        let labels = LabelSet(&h.labels);
        let mut metric = family.encode_family(&labels)?;
        let native = NativeHistogram {
            schema: h.native.schema,
            zero_threshold: h.native.zero_threshold,
            zero_count: h.native.zero_count,
            negative: NativeHistogramBuckets {
                spans: &[],
                deltas: &[],
            },
            positive: NativeHistogramBuckets {
                spans: &h.native.spans,
                deltas: &h.native.deltas,
            },
            created: None,
        };
        // The text encoders write the classic buckets, the protobuf one both.
        metric
            .encode_histogram_with_native::<NoLabelSet>(h.sum, h.count, &h.buckets, None, native)?;
    }
    Ok(())
}

/// What prometheus-client's registry calls: a block, or one family of it.
struct Block {
    families: Arc<Families>,
    only: Option<&'static str>,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block").field("only", &self.only).finish()
    }
}

impl Collector for Block {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.families.encode_families(self.only, &mut encoder)
    }
}

fn registry(families: &Arc<Families>, only: Option<&'static str>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Block {
        families: families.clone(),
        only,
    }));
    registry
}

/// A `fmt::Write` over an `io::Write` (a gzip encoder, a `Vec`): prometheus-client's text
/// encoders flush every few KiB, so a compressed body is never held whole in plain text.
struct Sink<'a, W: std::io::Write>(&'a mut W);

impl<W: std::io::Write> std::fmt::Write for Sink<'_, W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write_all(s.as_bytes()).map_err(|_| std::fmt::Error)
    }
}

/// Writes `families` in `format` into `out` (OpenMetrics without `# EOF`). Protobuf goes one
/// family at a time: prometheus-client builds each message whole before writing it, so this
/// bounds the transient memory by the largest family rather than the whole block.
pub(super) fn encode_into(
    format: Format,
    families: Families,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let families = Arc::new(families);
    let failed = |_| std::io::Error::other("prometheus-client could not encode a block");
    match format {
        Format::OpenMetrics => prometheus_client::encoding::text::encode_registry(
            &mut Sink(out),
            &registry(&families, None),
        )
        .map_err(failed),
        Format::Text => prometheus_client::encoding::prometheus_text::encode(
            &mut Sink(out),
            &registry(&families, None),
        )
        .map_err(failed),
        Format::Protobuf => {
            for name in families.names() {
                let body = prometheus_client::encoding::prometheus_protobuf::encode_to_vec(
                    &registry(&families, Some(name)),
                )
                .map_err(|_| std::io::Error::other("protobuf encoding failed"))?;
                out.write_all(&body)?;
            }
            Ok(())
        }
    }
}

/// `families` in `format` as one buffer.
pub(super) fn encode(format: Format, families: Families) -> Bytes {
    let mut out = Vec::with_capacity(families.series() * 112 + 4096);
    // Writing into a Vec cannot fail, nor can the encoders on samples they were made for.
    let _ = encode_into(format, families, &mut out);
    out.shrink_to_fit();
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Sample;
    use crate::metrics::catalogue as m;

    fn sample(name: &'static str, labels: &[(&'static str, &str)], value: Value) -> Sample {
        Sample {
            name,
            labels: labels.iter().map(|(k, v)| (*k, (*v).into())).collect(),
            value,
        }
    }

    fn own(samples: Vec<Sample>) -> Families {
        Families {
            own: samples.into_iter().map(|s| (s.name, s.into())).collect(),
            ..Families::default()
        }
    }

    fn text(format: Format, f: Families) -> String {
        String::from_utf8(encode(format, f).to_vec()).unwrap()
    }

    #[test]
    fn counters_units_and_escaping_in_both_text_formats() {
        let families = own(vec![
            sample(
                m::API_REQUESTS_TOTAL.name,
                &[("account", "a\"q\\\n"), ("api", "x"), ("errcode", "0")],
                Value::Int(3),
            ),
            sample(
                m::LAST_POLL_DURATION_SECONDS.name,
                &[("account", "a")],
                Value::Float(14994.291),
            ),
            sample(m::UP.name, &[("account", "b")], Value::Float(f64::INFINITY)),
        ]);
        let om = text(Format::OpenMetrics, families.clone());
        assert!(
            om.contains("# TYPE wechat_mp_api_requests counter\n"),
            "{om}"
        );
        assert!(
            om.contains(
                "wechat_mp_api_requests_total{account=\"a\\\"q\\\\\\n\",api=\"x\",errcode=\"0\"} 3\n"
            ),
            "{om}"
        );
        assert!(om.contains("# UNIT wechat_mp_last_poll_duration_seconds seconds\n"));
        assert!(om.contains("wechat_mp_last_poll_duration_seconds{account=\"a\"} 14994.291\n"));
        assert!(!om.contains("# EOF"));
        let t = text(Format::Text, families);
        assert!(t.contains("wechat_mp_up{account=\"b\"} +Inf\n"), "{t}");
        assert!(
            t.contains("# TYPE wechat_mp_api_requests_total counter\n"),
            "{t}"
        );
        assert!(t.contains("# HELP wechat_mp_api_requests_total Datacube API calls"));
        assert!(!t.contains("# UNIT"));
        // Families come out sorted.
        let api = t.find("wechat_mp_api_requests_total{").unwrap();
        let poll = t.find("wechat_mp_last_poll_duration_seconds{").unwrap();
        let up = t.find("wechat_mp_up{").unwrap();
        assert!(api < poll && poll < up);
    }

    #[test]
    fn every_catalogue_name_survives_the_base_name_round_trip() {
        // prometheus-client appends the unit and `_total`: what it writes is the catalogue name.
        for info in m::catalogue() {
            let mut name = base_name(info).to_string();
            if let Some(unit) = info.unit() {
                name = format!("{name}_{unit}");
            }
            if info.kind == MetricKind::Counter {
                name.push_str("_total");
            }
            assert_eq!(name, info.name);
        }
    }
}
