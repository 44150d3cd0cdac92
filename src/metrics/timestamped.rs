//! The OpenMetrics writer of backfill: samples with explicit timestamps, which no client
//! library's exposition encoder writes (an exposition is "now"), for
//! `promtool tsdb create-blocks-from openmetrics`. `/metrics` is written by prometheus-client
//! (`metrics::text`); this file only serves the backfill's output file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::catalogue::{MetricKind, lookup};
use super::{LabelValue, Labels, Sample, Value};

/// Escapes a label value: backslash, double quote and newline (same rule in both formats).
pub(crate) fn escape_label_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escapes OpenMetrics HELP text: backslash, newline and double quote.
fn escape_help(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

fn write_value(v: Value, out: &mut String) {
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

/// `# HELP`, `# TYPE` and `# UNIT` of the family of `name` (from the catalogue), as
/// OpenMetrics names it (a counter without its `_total` sample suffix).
fn family_head(name: &str, out: &mut String) {
    let info = lookup(name);
    let kind = info.map_or(MetricKind::Gauge, |m| m.kind);
    let family = match kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let _ = write!(out, "# HELP {family} ");
    escape_help(info.map_or("", |m| m.help), out);
    let _ = writeln!(out, "\n# TYPE {family} {}", kind.as_str());
    if let Some(unit) = info.and_then(|m| m.unit()) {
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

/// One sample with its timestamp (Unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct TimedSample {
    pub sample: Sample,
    pub timestamp: i64,
}

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
        family_head(name, &mut out);
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
    use crate::metrics::catalogue::lookup;

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
