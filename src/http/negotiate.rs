//! Negotiation for `/metrics`: the exposition format from `Accept`, as Prometheus' scrape
//! protocol content negotiation specifies it (prometheus/docs,
//! `docs/instrumenting/content_negotiation.md`), and gzip or identity from `Accept-Encoding`
//! (RFC 9110 section 12.5.3).

use crate::metrics::{Format, TEXT_CONTENT_TYPE};

/// The protobuf media type and the parameters that make it Prometheus' `MetricFamily` stream.
const PROTOBUF: &str = "application/vnd.google.protobuf";
const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// The escaping schemes a text format of version 1.0.0 may name, as answered: every name the
/// exporter writes is in the legacy character set, so each scheme gives the same bytes. The spec's
/// table spells the first `allow-utf-8`, its prose `allow-utf8`: both are read.
const ESCAPINGS: [(&str, &str); 5] = [
    ("allow-utf-8", "allow-utf-8"),
    ("allow-utf8", "allow-utf-8"),
    ("underscores", "underscores"),
    ("dots", "dots"),
    ("values", "values"),
];

/// Answered when a 1.0.0 format is asked for without `escaping` (Go's client default).
const DEFAULT_ESCAPING: &str = "underscores";

/// The format to answer and its `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Which body.
    pub format: Format,
    /// The `Content-Type`, with version and, for text formats 1.0.0 and above, escaping.
    pub content_type: String,
}

impl Choice {
    fn fallback() -> Self {
        Self {
            format: Format::Text,
            content_type: TEXT_CONTENT_TYPE.to_string(),
        }
    }
}

/// What one `Accept` entry asks for, if the exporter serves it.
fn supported(media: &str, params: &[(String, String)]) -> Option<Choice> {
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    // An unknown escaping scheme makes the entry unsupported rather than guessed.
    let escaping = match param("escaping") {
        None => Some(DEFAULT_ESCAPING),
        Some(v) => ESCAPINGS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(v))
            .map(|(_, answer)| *answer),
    };
    let (format, content_type) = match (media, param("version")) {
        (PROTOBUF, _) => {
            let proto = param("proto")?;
            let encoding = param("encoding")?;
            if proto != "io.prometheus.client.MetricFamily" || encoding != "delimited" {
                return None;
            }
            (Format::Protobuf, PROTOBUF_CONTENT_TYPE.to_string())
        }
        ("application/openmetrics-text", Some("1.0.0") | None) => (
            Format::OpenMetrics,
            format!(
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping={}",
                escaping?
            ),
        ),
        ("application/openmetrics-text", Some("0.0.1")) => (
            Format::OpenMetrics,
            "application/openmetrics-text; version=0.0.1; charset=utf-8".to_string(),
        ),
        ("text/plain", Some("1.0.0")) => (
            Format::Text,
            format!(
                "text/plain; version=1.0.0; charset=utf-8; escaping={}",
                escaping?
            ),
        ),
        ("text/plain", Some("0.0.4") | None) => (Format::Text, TEXT_CONTENT_TYPE.to_string()),
        _ => return None,
    };
    Some(Choice {
        format,
        content_type,
    })
}

/// The format of the highest-weighted supported entry of `Accept` (the first of equal weights);
/// entries with q=0, an unreadable q, or a type the exporter does not serve count for nothing.
/// Nothing supported (no header, `*/*`, a browser's list, garbage): text 0.0.4, as the spec asks.
pub fn choose_format<'a>(headers: impl IntoIterator<Item = &'a str>) -> Choice {
    let mut best: Option<(f32, Choice)> = None;
    for item in headers.into_iter().flat_map(|h| h.split(',')) {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = Some(1.0_f32);
        let mut params = Vec::new();
        for param in parts {
            let Some((k, v)) = param.split_once('=') else {
                continue;
            };
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().trim_matches('"');
            if k == "q" {
                q = v.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q));
            } else {
                params.push((k, v.to_string()));
            }
        }
        let Some(q) = q.filter(|q| *q > 0.0) else {
            continue;
        };
        let Some(choice) = supported(&media, &params) else {
            continue;
        };
        if best.as_ref().is_none_or(|(w, _)| q > *w) {
            best = Some((q, choice));
        }
    }
    best.map_or_else(Choice::fallback, |(_, c)| c)
}

/// Whether the answer should be gzipped: gzip (or `x-gzip`, or `*` when gzip is not named) has a
/// q-value above 0 and at least that of identity, where identity weighs what it is given by name
/// or through `*`, and is otherwise only the fallback. A client that accepts neither still gets
/// identity (a scrape body is better than a 406). No header, or an empty one, means identity.
pub fn wants_gzip<'a>(headers: impl IntoIterator<Item = &'a str>) -> bool {
    let (mut gzip, mut identity, mut star) = (None, None, None);
    for item in headers.into_iter().flat_map(|h| h.split(',')) {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if coding.is_empty() {
            continue;
        }
        let mut q = Some(1.0_f32);
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                // An unreadable q-value makes the entry count for nothing rather than guess.
                q = v
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q));
            }
        }
        let Some(q) = q else { continue };
        let slot = match coding.as_str() {
            "gzip" | "x-gzip" => &mut gzip,
            "identity" => &mut identity,
            "*" => &mut star,
            _ => continue,
        };
        // A coding listed twice: the higher weight counts.
        *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
    }
    let gzip = gzip.or(star).unwrap_or(0.0);
    // `*` covers identity too when identity is not named; unnamed, identity is only the fallback.
    let identity = identity.or(star).unwrap_or(0.0);
    gzip > 0.0 && gzip >= identity
}

#[cfg(test)]
mod tests {
    use super::{choose_format, wants_gzip};
    use crate::metrics::{Format, Store};

    const OM1: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=";
    const OM001: &str = "application/openmetrics-text; version=0.0.1; charset=utf-8";
    const TEXT1: &str = "text/plain; version=1.0.0; charset=utf-8; escaping=";
    const TEXT004: &str = "text/plain; version=0.0.4; charset=utf-8";
    const PROTO: &str = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

    /// (Accept, the format answered, its Content-Type).
    fn cases() -> Vec<(Option<&'static str>, Format, String)> {
        let om1 = |e: &str| format!("{OM1}{e}");
        let text1 = |e: &str| format!("{TEXT1}{e}");
        use Format::*;
        vec![
            // Prometheus 2 default.
            (
                Some(
                    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                ),
                OpenMetrics,
                om1("underscores"),
            ),
            // Prometheus 3 default (the spec's example).
            (
                Some(
                    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
                ),
                OpenMetrics,
                om1("allow-utf-8"),
            ),
            // Protobuf first (native histograms enabled).
            (
                Some(
                    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.4,application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.2,text/plain;version=0.0.4;q=0.1,*/*;q=0.0",
                ),
                Protobuf,
                PROTO.into(),
            ),
            // Prometheus 2.42 with native histograms.
            (
                Some(
                    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                ),
                Protobuf,
                PROTO.into(),
            ),
            // Both spellings of the UTF-8 escaping.
            (
                Some("application/openmetrics-text;version=1.0.0;escaping=allow-utf8"),
                OpenMetrics,
                om1("allow-utf-8"),
            ),
            (
                Some("text/plain;version=1.0.0;escaping=allow-utf-8"),
                Text,
                text1("allow-utf-8"),
            ),
            (
                Some("text/plain;version=1.0.0;escaping=allow-utf8"),
                Text,
                text1("allow-utf-8"),
            ),
            (
                Some("text/plain;version=1.0.0;escaping=dots"),
                Text,
                text1("dots"),
            ),
            (
                Some("text/plain;version=1.0.0;escaping=values"),
                Text,
                text1("values"),
            ),
            (Some("text/plain;version=1.0.0"), Text, text1("underscores")),
            (
                Some("application/openmetrics-text;version=0.0.1"),
                OpenMetrics,
                OM001.into(),
            ),
            // q=0 excludes, whatever else the entry says.
            (
                Some("application/openmetrics-text;version=1.0.0;q=0"),
                Text,
                TEXT004.into(),
            ),
            (
                Some(
                    "application/openmetrics-text;version=1.0.0;q=0.000,text/plain;version=1.0.0;q=0.1",
                ),
                Text,
                text1("underscores"),
            ),
            (
                Some(
                    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0,application/openmetrics-text;version=0.0.1;q=0.2",
                ),
                OpenMetrics,
                OM001.into(),
            ),
            // q ordering, not list order; equal weights: the first listed.
            (
                Some(
                    "text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=1.0.0;q=0.9",
                ),
                OpenMetrics,
                om1("underscores"),
            ),
            (
                Some(
                    "application/openmetrics-text;version=1.0.0;q=0.2,text/plain;version=1.0.0;escaping=underscores;q=0.7",
                ),
                Text,
                text1("underscores"),
            ),
            (
                Some("text/plain;version=0.0.4,application/openmetrics-text;version=1.0.0"),
                Text,
                TEXT004.into(),
            ),
            (
                Some(
                    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.4,application/openmetrics-text;version=1.0.0;q=0.6",
                ),
                OpenMetrics,
                om1("underscores"),
            ),
            // Several header lines are one list.
            (
                Some(
                    "text/plain;version=0.0.4;q=0.1\napplication/openmetrics-text;version=1.0.0;q=0.5",
                ),
                OpenMetrics,
                om1("underscores"),
            ),
            // Anything, a browser, curl: text 0.0.4.
            (Some("*/*"), Text, TEXT004.into()),
            (
                Some(
                    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
                ),
                Text,
                TEXT004.into(),
            ),
            (Some("text/plain"), Text, TEXT004.into()),
            (None, Text, TEXT004.into()),
            (Some(""), Text, TEXT004.into()),
            // Malformed: garbage, unreadable q, unknown version, escaping or protobuf encoding.
            (Some(";;;,,=q=1"), Text, TEXT004.into()),
            (
                Some("application/openmetrics-text;version=1.0.0;q=high"),
                Text,
                TEXT004.into(),
            ),
            (
                Some("application/openmetrics-text;version=1.0.0;q=2"),
                Text,
                TEXT004.into(),
            ),
            (
                Some("application/openmetrics-text;version=2.0.0"),
                Text,
                TEXT004.into(),
            ),
            (
                Some("application/openmetrics-text;version=1.0.0;escaping=bogus\r\nX-Injected: 1"),
                Text,
                TEXT004.into(),
            ),
            (
                Some(
                    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
                ),
                Text,
                TEXT004.into(),
            ),
            (
                Some("application/vnd.google.protobuf"),
                Text,
                TEXT004.into(),
            ),
            (
                Some("APPLICATION/OpenMetrics-Text; Version=1.0.0; Escaping=\"values\""),
                OpenMetrics,
                om1("values"),
            ),
        ]
    }

    #[test]
    fn accept_headers_choose_the_format_its_content_type_and_where_eof_goes() {
        let cases = cases();
        assert!(cases.len() >= 25);
        let store = Store::new("1.2.3", "abc");
        store.config_loaded(true);
        let exposition = store.exposition();
        for (accept, format, content_type) in cases {
            let headers: Vec<&str> = accept.map(|a| a.split('\n').collect()).unwrap_or_default();
            let choice = choose_format(headers);
            assert_eq!(choice.format, format, "{accept:?}");
            assert_eq!(choice.content_type, content_type, "{accept:?}");
            assert!(
                axum::http::HeaderValue::from_str(&choice.content_type).is_ok(),
                "{accept:?}"
            );
            // OpenMetrics bodies, and only they, end with `# EOF`.
            let body = exposition.response(choice.format, false).concat();
            assert!(!body.is_empty());
            let eof = body.ends_with(b"\n# EOF\n");
            assert_eq!(eof, format == Format::OpenMetrics, "{accept:?}");
            if format == Format::Protobuf {
                assert!(!body.windows(5).any(|w| w == b"# EOF"));
            }
        }
    }

    fn gz(header: &str) -> bool {
        wants_gzip([header])
    }

    #[test]
    fn prometheus_and_plain_clients() {
        // What Prometheus (Go's transport) sends.
        assert!(gz("gzip"));
        assert!(!wants_gzip([]));
        assert!(!gz(""));
        assert!(gz("gzip, deflate, br"));
        assert!(gz("GZip"));
        assert!(gz("x-gzip"));
        assert!(!gz("deflate, br, zstd"));
        // Several header lines are one list.
        assert!(wants_gzip(["deflate", "gzip;q=0.5"]));
    }

    #[test]
    fn q_values_identity_and_star() {
        assert!(!gz("gzip;q=0"));
        assert!(!gz("gzip; q=0.000"));
        assert!(gz("gzip;q=0.001"));
        assert!(!gz("gzip;q=0.5, identity"));
        assert!(gz("gzip;q=0.5, identity;q=0.5"));
        assert!(gz("identity;q=0.2, gzip;Q=0.8"));
        assert!(gz("*"));
        assert!(
            gz("*;q=0.3"),
            "* weighs gzip and identity alike: a tie goes to gzip"
        );
        assert!(!gz("*;q=0.3, identity"));
        assert!(!gz("*, gzip;q=0"), "a named coding overrides *");
        assert!(gz("identity;q=0, *;q=0.1"));
        assert!(gz("*;q=0, gzip"));
        // Neither acceptable: identity all the same.
        assert!(!gz("*;q=0"));
        assert!(!gz("identity;q=0"));
        // Unreadable or out-of-range weights count for nothing.
        assert!(!gz("gzip;q=high"));
        assert!(!gz("gzip;q=2"));
        assert!(gz("gzip;q=high, gzip"));
        assert!(gz(" gzip ; q = 1 , identity ; q=0.9 "));
    }
}
