//! Prometheus' OTLP metric name translation, written independently of the exporter's naming code.

/// Prometheus' OTLP name translation with suffixes (`UnderscoreEscapingWithSuffixes`, the
/// default), written from its rules rather than from `otel_name`: split the name into tokens
/// of `[A-Za-z0-9:]`, append the unit's suffix unless a token already is that word, move
/// `total` to the end of a monotonic sum and `ratio` to the end of a gauge with unit `1`,
/// join with `_`.
pub fn prometheus_name(name: &str, unit: &str, monotonic_sum: bool, gauge: bool) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m.trim(), Some(p.trim())),
        None => (unit.trim(), None),
    };
    let word = |u: &str, per: bool| -> String {
        if u.is_empty() || u.contains(['{', '}']) {
            return String::new();
        }
        let mapped = if per {
            match u {
                "s" => "second",
                "m" => "minute",
                "h" => "hour",
                "d" => "day",
                "w" => "week",
                "mo" => "month",
                "y" => "year",
                other => other,
            }
        } else {
            match u {
                "d" => "days",
                "h" => "hours",
                "min" => "minutes",
                "s" => "seconds",
                "ms" => "milliseconds",
                "us" => "microseconds",
                "ns" => "nanoseconds",
                "By" => "bytes",
                "1" => "",
                "%" => "percent",
                other => other,
            }
        };
        mapped.to_string()
    };
    let main = word(main, false);
    if !main.is_empty() && !tokens.contains(&main) {
        tokens.push(main);
    }
    if let Some(per) = per {
        let per = word(per, true);
        let suffix = format!("per_{per}");
        if !per.is_empty() && !tokens.contains(&suffix) {
            tokens.push(suffix);
        }
    }
    if monotonic_sum {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    tokens.join("_")
}
