//! The exposition encoders: OpenMetrics 1.0 and the classic text format 0.0.4 for `/metrics`, and
//! timestamped OpenMetrics for backfill.
//!
//! Hand-written rather than a client library's (docs/architecture.md, "What is hand-written and
//! why"): the classic format is needed for `promtool check metrics` and `Accept: text/plain`, both
//! bodies and backfill's timestamped file are written from the same samples, and the catalogue
//! stays the one model of the families.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::catalogue::{MetricKind, lookup};
use bytes::Bytes;

use super::{LabelValue, Sample, Value};

/// Which exposition format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
    /// `text/plain; version=0.0.4`.
    Text,
}

/// Escapes a label value: backslash, double quote and newline (same rule in both formats).
pub fn escape_label_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escapes HELP text: backslash and newline; OpenMetrics also escapes double quotes.
pub fn escape_help(v: &str, format: Format, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if format == Format::OpenMetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

pub(crate) fn write_value(v: Value, out: &mut String) {
    match v {
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) if f.is_nan() => out.push_str("NaN"),
        Value::Float(f) if f.is_infinite() => out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" }),
        // Display never uses an exponent and round-trips, which both formats accept.
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
    }
}

/// `# HELP` and `# TYPE` of the family of `name` (from the catalogue). OpenMetrics names a
/// counter family without its `_total` sample suffix. Names missing from the catalogue are written
/// as gauges with an empty HELP (a test keeps the catalogue complete).
fn family_head(format: Format, name: &str, out: &mut String) {
    let info = lookup(name);
    let kind = info.map_or(MetricKind::Gauge, |m| m.kind);
    let family = match (format, kind) {
        (Format::OpenMetrics, MetricKind::Counter) => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let _ = write!(out, "# HELP {family} ");
    escape_help(info.map_or("", |m| m.help), format, out);
    let _ = writeln!(out, "\n# TYPE {family} {}", kind.as_str());
    // ISSUE-16 (minimal, to be reconciled with the prometheus-client encoder): OpenMetrics'
    // `# UNIT` from the catalogue; the classic text format has no unit line.
    if format == Format::OpenMetrics
        && let Some(unit) = info.and_then(|m| m.unit())
    {
        let _ = writeln!(out, "# UNIT {family} {unit}");
    }
}

/// `name{k="v",...}` of one series (no braces without labels).
fn series(name: &str, labels: &[(&'static str, LabelValue)], out: &mut String) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            escape_label_value(v, out);
            out.push('"');
        }
        out.push('}');
    }
}

/// Encodes the families (sorted by name, as the map is) with HELP and TYPE once per family. A
/// histogram family's `_bucket`, `_sum` and `_count` samples are listed under the family's name,
/// in exposition order (buckets by `le`, `+Inf` last), so both formats write them as given.
/// The reference writer of one format, which tests hold [`encode_both`] to.
#[cfg(test)]
pub fn encode(format: Format, families: &BTreeMap<&'static str, Vec<&Sample>>) -> String {
    let mut out = Vec::with_capacity(4096 + families.len() * 256);
    encode_streamed(format, families, |piece| out.extend_from_slice(piece));
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    String::from_utf8(out).expect("the encoder writes UTF-8 only")
}

/// Both `/metrics` bodies at once: the text body, and the OpenMetrics body (without `# EOF`) as
/// chunks: its own heads interleaved with slices of the text body's sample lines, which are the
/// same bytes in both formats. Byte for byte what [`encode`] writes for each format.
/// `capacity` is a guess of the text body's size (the previous one), so the buffer is not grown
/// by doubling to twice the size it needs.
pub fn encode_both(
    families: &BTreeMap<&'static str, Vec<&Sample>>,
    capacity: usize,
) -> (Bytes, Vec<Bytes>) {
    let mut text = String::with_capacity(capacity.max(4096));
    let mut heads = String::with_capacity(families.len() * 256);
    let mut spans = Vec::with_capacity(families.len());
    for (name, samples) in families {
        if samples.is_empty() {
            continue;
        }
        family_head(Format::Text, name, &mut text);
        let head = heads.len();
        family_head(Format::OpenMetrics, name, &mut heads);
        let lines = text.len();
        for s in samples {
            series(s.name, &s.labels, &mut text);
            text.push(' ');
            write_value(s.value, &mut text);
            text.push('\n');
        }
        spans.push((head..heads.len(), lines..text.len()));
    }
    let text = Bytes::from(text);
    let heads = Bytes::from(heads);
    let openmetrics = spans
        .into_iter()
        .flat_map(|(h, l)| [heads.slice(h), text.slice(l)])
        .collect();
    (text, openmetrics)
}

/// The body of `format` (OpenMetrics without `# EOF`) handed to `sink` piece by piece (about
/// 64 KiB at a time), never whole: what a compressed scrape needs when no plain body is kept.
/// The same bytes as [`encode_both`] writes.
pub fn encode_streamed(
    format: Format,
    families: &BTreeMap<&'static str, Vec<&Sample>>,
    mut sink: impl FnMut(&[u8]),
) {
    const PIECE: usize = 64 * 1024;
    let mut out = String::with_capacity(PIECE + 4096);
    for (name, samples) in families {
        if samples.is_empty() {
            continue;
        }
        family_head(format, name, &mut out);
        for s in samples {
            series(s.name, &s.labels, &mut out);
            out.push(' ');
            write_value(s.value, &mut out);
            out.push('\n');
            if out.len() >= PIECE {
                sink(out.as_bytes());
                out.clear();
            }
        }
    }
    if !out.is_empty() {
        sink(out.as_bytes());
    }
}

/// One sample with its timestamp (Unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct TimedSample {
    pub sample: Sample,
    pub timestamp: i64,
}

use super::Labels;

/// The OpenMetrics text and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub text: String,
    pub series: usize,
    pub samples: usize,
}

/// Encodes timestamped samples (backfill) as OpenMetrics text: families sorted by name with HELP and TYPE once, each
/// series' samples together and in timestamp order (promtool drops out-of-order samples within a
/// block window), timestamps in seconds, LF endings, `# EOF` last. For a series with two samples
/// at one timestamp the first is kept.
pub fn encode_timestamped(samples: Vec<TimedSample>) -> Encoded {
    let mut families: BTreeMap<&'static str, BTreeMap<Labels, BTreeMap<i64, Value>>> =
        BTreeMap::new();
    for TimedSample { sample, timestamp } in samples {
        families
            .entry(sample.name)
            .or_default()
            .entry(sample.labels)
            .or_default()
            .entry(timestamp)
            .or_insert(sample.value);
    }
    let mut out = String::new();
    let (mut series_count, mut written) = (0, 0);
    for (name, family) in &families {
        family_head(Format::OpenMetrics, name, &mut out);
        for (labels, points) in family {
            series_count += 1;
            let mut head = String::new();
            series(name, labels, &mut head);
            for (timestamp, value) in points {
                written += 1;
                out.push_str(&head);
                out.push(' ');
                write_value(*value, &mut out);
                let _ = writeln!(out, " {timestamp}");
            }
        }
    }
    out.push_str("# EOF\n");
    Encoded {
        text: out,
        series: series_count,
        samples: written,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &'static str, labels: &[(&'static str, &str)], value: Value) -> Sample {
        Sample {
            name,
            labels: labels.iter().map(|(k, v)| (*k, (*v).into())).collect(),
            value,
        }
    }

    #[test]
    fn escapes_label_values_and_help() {
        let mut s = String::new();
        escape_label_value("a\"b\\c\nd 中文", &mut s);
        assert_eq!(s, r#"a\"b\\c\nd 中文"#);
        let mut h = String::new();
        escape_help("x\\y\n\"z\"", Format::Text, &mut h);
        assert_eq!(h, "x\\\\y\\n\"z\"");
        let mut h = String::new();
        escape_help("\"z\"", Format::OpenMetrics, &mut h);
        assert_eq!(h, "\\\"z\\\"");
    }

    #[test]
    fn values_and_counter_family_names() {
        let a = sample(
            "wechat_mp_api_requests_total",
            &[
                ("account", "a"),
                ("api", "getusercumulate"),
                ("errcode", "0"),
            ],
            Value::Int(3),
        );
        let b = sample(
            "wechat_mp_callback_time_cost_seconds",
            &[("account", "a")],
            Value::Float(14994.291),
        );
        let c = sample(
            "wechat_mp_up",
            &[("account", "b")],
            Value::Float(f64::INFINITY),
        );
        let mut families: BTreeMap<&'static str, Vec<&Sample>> = BTreeMap::new();
        for s in [&a, &b, &c] {
            families.entry(s.name).or_default().push(s);
        }
        let om = encode(Format::OpenMetrics, &families);
        assert!(om.contains("# TYPE wechat_mp_api_requests counter\n"));
        assert!(om.contains(
            "wechat_mp_api_requests_total{account=\"a\",api=\"getusercumulate\",errcode=\"0\"} 3\n"
        ));
        assert!(om.contains("wechat_mp_callback_time_cost_seconds{account=\"a\"} 14994.291\n"));
        assert!(om.contains("wechat_mp_up{account=\"b\"} +Inf\n"));
        assert!(om.ends_with("# EOF\n"));
        let text = encode(Format::Text, &families);
        assert!(text.contains("# TYPE wechat_mp_api_requests_total counter\n"));
        assert!(text.contains("# HELP wechat_mp_api_requests_total Datacube API calls"));
        assert!(!text.contains("# EOF"));
        // Families come out sorted.
        let api = text.find("wechat_mp_api_requests_total{").unwrap();
        let cb = text.find("wechat_mp_callback_time_cost_seconds{").unwrap();
        let up = text.find("wechat_mp_up{").unwrap();
        assert!(api < cb && cb < up);
    }

    #[test]
    fn both_bodies_at_once_match_each_format_alone() {
        let a = sample("wechat_mp_up", &[("account", "a")], Value::Int(1));
        let b = sample(
            "wechat_mp_api_requests_total",
            &[("account", "a\"q"), ("api", "x"), ("errcode", "0")],
            Value::Int(2),
        );
        let c = sample("wechat_mp_up", &[("account", "b")], Value::Float(0.5));
        let mut families: BTreeMap<&'static str, Vec<&Sample>> = BTreeMap::new();
        for s in [&a, &b, &c] {
            families.entry(s.name).or_default().push(s);
        }
        families.entry("wechat_mp_followers").or_default();
        let (text, om) = encode_both(&families, 0);
        assert_eq!(&text[..], encode(Format::Text, &families).as_bytes());
        let mut joined = om.concat();
        joined.extend_from_slice(b"# EOF\n");
        assert_eq!(joined, encode(Format::OpenMetrics, &families).into_bytes());
        for format in [Format::Text, Format::OpenMetrics] {
            let mut streamed = Vec::new();
            encode_streamed(format, &families, |piece| streamed.extend_from_slice(piece));
            let mut want = encode(format, &families).into_bytes();
            if format == Format::OpenMetrics {
                want.truncate(want.len() - b"# EOF\n".len());
            }
            assert_eq!(streamed, want);
        }
        // Two families: each a head and a slice of the text body's lines.
        assert_eq!(om.len(), 4);
        let lines = text.as_ptr_range();
        assert!(lines.contains(&om[1].as_ptr()) && lines.contains(&om[3].as_ptr()));
    }

    fn timed(
        name: &'static str,
        labels: &[(&'static str, &str)],
        v: Value,
        ts: i64,
    ) -> TimedSample {
        TimedSample {
            sample: Sample {
                name,
                labels: labels.iter().map(|(k, v)| (*k, (*v).into())).collect(),
                value: v,
            },
            timestamp: ts,
        }
    }

    #[test]
    fn encoding_sorts_each_series_by_time_and_ends_with_eof() {
        let encoded = encode_timestamped(vec![
            timed(
                "wechat_mp_followers",
                &[("account", "b")],
                Value::Int(7),
                200,
            ),
            timed(
                "wechat_mp_followers",
                &[("account", "a")],
                Value::Int(2),
                200,
            ),
            timed(
                "wechat_mp_callback_time_cost_seconds",
                &[("account", "a")],
                Value::Float(1.5),
                100,
            ),
            timed(
                "wechat_mp_followers",
                &[("account", "a")],
                Value::Int(1),
                100,
            ),
            // Same series and time twice: the first is kept.
            timed(
                "wechat_mp_followers",
                &[("account", "a")],
                Value::Int(99),
                100,
            ),
            timed(
                "wechat_mp_massmsg_reads",
                &[
                    ("account", "a"),
                    ("msgid", "1_1"),
                    ("title", "a \"b\" \\ c\nd"),
                    ("source", "all"),
                ],
                Value::Int(3),
                100,
            ),
        ]);
        assert_eq!(encoded.series, 4);
        assert_eq!(encoded.samples, 5);
        let help = |name: &str| {
            lookup(name)
                .unwrap()
                .help
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        };
        let expected = format!(
            "# HELP wechat_mp_callback_time_cost_seconds {}\n\
             # TYPE wechat_mp_callback_time_cost_seconds gauge\n\
             # UNIT wechat_mp_callback_time_cost_seconds seconds\n\
             wechat_mp_callback_time_cost_seconds{{account=\"a\"}} 1.5 100\n\
             # HELP wechat_mp_followers {}\n\
             # TYPE wechat_mp_followers gauge\n\
             # UNIT wechat_mp_followers followers\n\
             wechat_mp_followers{{account=\"a\"}} 1 100\n\
             wechat_mp_followers{{account=\"a\"}} 2 200\n\
             wechat_mp_followers{{account=\"b\"}} 7 200\n\
             # HELP wechat_mp_massmsg_reads {}\n\
             # TYPE wechat_mp_massmsg_reads gauge\n\
             # UNIT wechat_mp_massmsg_reads reads\n\
             wechat_mp_massmsg_reads{{account=\"a\",msgid=\"1_1\",title=\"a \\\"b\\\" \\\\ c\\nd\",source=\"all\"}} 3 100\n\
             # EOF\n",
            help("wechat_mp_callback_time_cost_seconds"),
            help("wechat_mp_followers"),
            help("wechat_mp_massmsg_reads"),
        );
        assert_eq!(encoded.text, expected);
        assert!(!encoded.text.contains('\r'));
    }
}
