//! How a `/metrics` family is named in OTLP: the name without the suffixes the Prometheus
//! translation adds back, and the unit that makes it add them.
//!
//! Prometheus' OTLP receiver and the Collector's Prometheus exporters append `_total` to a
//! monotonic sum and a unit suffix (`s` -> `_seconds`, `1` on a gauge -> `_ratio`) to the name.
//! So `wechat_mp_api_requests_total` goes out as the monotonic sum `wechat_mp_api_requests`, and
//! `wechat_mp_callback_time_cost_seconds` as `wechat_mp_callback_time_cost` with unit `s`; both
//! come back under their `/metrics` names. A backend without that translation shows the
//! OpenTelemetry-style names.

use crate::metrics::MetricKind;

/// The OTLP name and unit of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtelName {
    /// The instrument name.
    pub name: &'static str,
    /// The UCUM unit the translation turns back into a suffix (`s`, `1`), or empty.
    pub unit: &'static str,
}

/// The name and unit under which the family `name` of type `kind` is pushed.
pub fn otel_name(name: &'static str, kind: MetricKind) -> OtelName {
    let mut rest = name;
    if kind == MetricKind::Counter {
        rest = rest.strip_suffix("_total").unwrap_or(rest);
    }
    if let Some(base) = rest.strip_suffix("_seconds") {
        return OtelName {
            name: base,
            unit: "s",
        };
    }
    if kind == MetricKind::Gauge
        && let Some(base) = rest.strip_suffix("_ratio")
    {
        return OtelName {
            name: base,
            unit: "1",
        };
    }
    if let Some(base) = rest.strip_suffix("_bytes") {
        return OtelName {
            name: base,
            unit: "By",
        };
    }
    OtelName {
        name: rest,
        unit: "",
    }
}

// The same independent implementation of the translation the integration test uses.
#[cfg(test)]
#[path = "../../tests/e2e/otlp/prometheus_name.rs"]
mod prometheus_name;

#[cfg(test)]
mod tests {
    use super::prometheus_name::prometheus_name;
    use super::*;
    use crate::catalogue::catalogue;

    #[test]
    fn the_translator_rule_itself() {
        assert_eq!(
            prometheus_name("http.server.request.duration", "s", false, false),
            "http_server_request_duration_seconds"
        );
        assert_eq!(
            prometheus_name("requests.count", "1", true, false),
            "requests_count_total"
        );
        assert_eq!(
            prometheus_name("memory.usage", "By", false, true),
            "memory_usage_bytes"
        );
        assert_eq!(prometheus_name("hits", "{hit}", true, false), "hits_total");
        assert_eq!(prometheus_name("load", "1", false, true), "load_ratio");
        assert_eq!(prometheus_name("a_total_b", "", true, false), "a_b_total");
    }

    #[test]
    fn every_family_translates_back_to_its_metrics_name() {
        for m in catalogue() {
            let o = otel_name(m.name, m.kind);
            let back = prometheus_name(
                o.name,
                o.unit,
                m.kind == MetricKind::Counter,
                m.kind == MetricKind::Gauge,
            );
            assert_eq!(back, m.name, "{} went out as {o:?}", m.name);
        }
    }

    #[test]
    fn examples() {
        let cases = [
            (
                "wechat_mp_api_requests_total",
                MetricKind::Counter,
                "wechat_mp_api_requests",
                "",
            ),
            (
                "wechat_mp_callback_time_cost_seconds",
                MetricKind::Gauge,
                "wechat_mp_callback_time_cost",
                "s",
            ),
            (
                "wechat_mp_article_read_finish_ratio",
                MetricKind::Gauge,
                "wechat_mp_article_read_finish",
                "1",
            ),
            (
                "wechat_mp_followers",
                MetricKind::Gauge,
                "wechat_mp_followers",
                "",
            ),
        ];
        for (prometheus, kind, name, unit) in cases {
            assert_eq!(
                otel_name(prometheus, kind),
                OtelName { name, unit },
                "{prometheus}"
            );
        }
    }
}
