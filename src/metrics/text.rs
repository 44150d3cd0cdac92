//! The two exposition encoders: OpenMetrics 1.0 and the classic Prometheus text format 0.0.4.
//!
//! Own encoders rather than prometheus-client: the classic format is needed for `promtool check
//! metrics` and `Accept: text/plain`, and both bodies are written from the same sample list.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::catalogue::{MetricKind, lookup};
use super::{Sample, Value};

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

/// Encodes the families (sorted by name, as the map is) with HELP and TYPE once per family.
/// Names missing from the catalogue are written as gauges with an empty HELP (a test keeps the catalogue complete).
pub fn encode(format: Format, families: &BTreeMap<&'static str, Vec<&Sample>>) -> String {
    let mut out = String::with_capacity(4096 + families.len() * 256);
    for (name, samples) in families {
        if samples.is_empty() {
            continue;
        }
        let info = lookup(name);
        let kind = info.map_or(MetricKind::Gauge, |m| m.kind);
        let help = info.map_or("", |m| m.help);
        // OpenMetrics names a counter family without its `_total` sample suffix.
        let family = match (format, kind) {
            (Format::OpenMetrics, MetricKind::Counter) => {
                name.strip_suffix("_total").unwrap_or(name)
            }
            _ => name,
        };
        let _ = write!(out, "# HELP {family} ");
        escape_help(help, format, &mut out);
        let _ = writeln!(out, "\n# TYPE {family} {}", kind.as_str());
        for s in samples {
            out.push_str(s.name);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push_str("=\"");
                    escape_label_value(v, &mut out);
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            write_value(s.value, &mut out);
            out.push('\n');
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &'static str, labels: &[(&'static str, &str)], value: Value) -> Sample {
        Sample {
            name,
            labels: labels.iter().map(|(k, v)| (*k, v.to_string())).collect(),
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
}
