//! `[otlp]` and the standard `OTEL_*` variables, resolved into the settings of the OTLP push.
//!
//! Precedence is config key, then the metrics-specific variable, then the generic one, then the
//! default. The environment is read through a lookup function, so tests never touch the process
//! environment. Header values are secrets: they are never echoed in errors or `Debug`.

use std::time::Duration;

use secrecy::SecretString;
use toml::{Table, Value};
use url::Url;

use super::read::Section;
use super::{ConfigError, expand};

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC (the default, port 4317).
    Grpc,
    /// OTLP/HTTP with a protobuf body (port 4318, path `/v1/metrics`).
    HttpProtobuf,
}

/// The resolved push settings.
#[derive(Debug, Clone)]
pub struct OtlpSettings {
    /// The URL requests go to: for http/protobuf including `/v1/metrics`.
    pub endpoint: Url,
    /// gRPC or HTTP/protobuf.
    pub protocol: Protocol,
    /// Time between pushes.
    pub interval: Duration,
    /// Bound on one push, and on the final flush at shutdown.
    pub timeout: Duration,
    /// Header names (lower case) and their values, each name once.
    pub headers: Vec<(String, SecretString)>,
    /// Resource attributes on top of the built-in ones (`OTEL_SERVICE_NAME` arrives here as
    /// `service.name`); when a key repeats, the later entry wins.
    pub resource: Vec<(String, String)>,
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MIN_INTERVAL: Duration = Duration::from_secs(1);
const MIN_TIMEOUT: Duration = Duration::from_millis(100);

/// Reads `[otlp]` (if present) and the `OTEL_*` variables. Push is on when the section exists or
/// `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is set; `None` means
/// off (or invalid: the problems are in `errors`).
pub fn resolve(
    section: Option<Value>,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<OtlpSettings> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let metrics_endpoint = env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    let generic_endpoint = env("OTEL_EXPORTER_OTLP_ENDPOINT");
    let table = match section {
        Some(Value::Table(t)) => t,
        Some(other) => {
            errors.push(error(
                "otlp",
                format!("expected a table, found {}", other.type_str()),
                "write it as [otlp]",
            ));
            return None;
        }
        None if metrics_endpoint.is_some() || generic_endpoint.is_some() => Table::new(),
        None => return None,
    };
    let mut r = Reader {
        errors,
        section: Section {
            path: "otlp".into(),
            table,
        },
    };

    let endpoint_key = r.string("endpoint");
    let protocol = match r.string("protocol") {
        Some(p) => r.protocol("otlp.protocol", &p),
        None => match first(
            &env,
            &[
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ],
        ) {
            Some((var, p)) => r.protocol(var, &p),
            None => Some(Protocol::Grpc),
        },
    };
    let interval = match r.string("interval") {
        Some(text) => r.duration("otlp.interval", &text, MIN_INTERVAL),
        None => match env("OTEL_METRIC_EXPORT_INTERVAL") {
            // Zero means the default, as in the SDK.
            Some(ms) if ms.trim() == "0" => Some(DEFAULT_INTERVAL),
            Some(ms) => r.millis("OTEL_METRIC_EXPORT_INTERVAL", &ms, MIN_INTERVAL),
            None => Some(DEFAULT_INTERVAL),
        },
    };
    let timeout = match r.string("timeout") {
        Some(text) => r.duration("otlp.timeout", &text, MIN_TIMEOUT),
        None => match first(
            &env,
            &[
                "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
                "OTEL_EXPORTER_OTLP_TIMEOUT",
            ],
        ) {
            Some((var, ms)) => r.millis(var, &ms, MIN_TIMEOUT),
            None => Some(DEFAULT_TIMEOUT),
        },
    };

    // Headers: the generic variable, then the metrics one, then the config; a later name wins.
    let mut headers: Vec<(String, SecretString)> = Vec::new();
    for var in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    ] {
        let Some(list) = env(var) else { continue };
        match parse_list(&list) {
            Ok(pairs) => {
                for (name, value) in pairs {
                    r.header(var, &name, value, &mut headers);
                }
            }
            // The message never quotes the list: it holds the header values.
            Err(problem) => r.error(var, problem, "use name=value pairs separated by commas"),
        }
    }
    for (name, value) in r.table_of_strings("headers") {
        let key = format!("otlp.headers.{name}");
        match expand(&value, &env) {
            Ok(v) => r.header(&key, &name, v, &mut headers),
            Err(problem) => r.error(&key, problem, "export the variable it names"),
        }
    }

    // Resource: OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME (the spec lets it win), then
    // the config.
    let mut resource = Vec::new();
    if let Some(list) = env("OTEL_RESOURCE_ATTRIBUTES") {
        match parse_list(&list) {
            Ok(pairs) => resource.extend(pairs),
            Err(problem) => r.error(
                "OTEL_RESOURCE_ATTRIBUTES",
                problem,
                "use key=value pairs separated by commas",
            ),
        }
    }
    if let Some(name) = env("OTEL_SERVICE_NAME") {
        resource.push(("service.name".to_string(), name));
    }
    resource.extend(r.table_of_strings("resource_attributes"));

    let left = Section {
        path: "otlp".into(),
        table: std::mem::take(&mut r.section.table),
    };
    left.finish(r.errors, "otlp");

    let protocol = protocol?;
    let endpoint = match (endpoint_key, metrics_endpoint, generic_endpoint) {
        (Some(base), _, _) => r.endpoint("otlp.endpoint", &base, protocol, true),
        // The metrics-specific variable is the full URL, used as it is.
        (None, Some(url), _) => {
            r.endpoint("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &url, protocol, false)
        }
        (None, None, Some(base)) => {
            r.endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", &base, protocol, true)
        }
        (None, None, None) => {
            let default = match protocol {
                Protocol::Grpc => "http://localhost:4317",
                Protocol::HttpProtobuf => "http://localhost:4318",
            };
            r.endpoint("otlp.endpoint", default, protocol, true)
        }
    };
    Some(OtlpSettings {
        endpoint: endpoint?,
        protocol,
        interval: interval?,
        timeout: timeout?,
        headers,
        resource,
    })
}

fn first(
    env: &dyn Fn(&str) -> Option<String>,
    vars: &[&'static str],
) -> Option<(&'static str, String)> {
    vars.iter().find_map(|var| env(var).map(|v| (*var, v)))
}

fn error(key: &str, problem: impl Into<String>, fix: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Parses `k1=v1,k2=v2` (the format of `OTEL_EXPORTER_OTLP_HEADERS` and
/// `OTEL_RESOURCE_ATTRIBUTES`): keys and values trimmed, values percent-decoded.
pub fn parse_list(list: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (i, item) in list.split(',').enumerate() {
        if item.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = item.split_once('=') else {
            return Err(format!("entry {} has no '='", i + 1));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("entry {} has an empty name", i + 1));
        }
        pairs.push((key.to_string(), percent_decode(value.trim())));
    }
    Ok(pairs)
}

/// `%XX` to the byte it names; anything else (including a broken `%`) stays as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `[otlp]` table being read (through the config's one reader) with the `OTEL_*` variables;
/// what is left of the table at the end is unknown.
struct Reader<'a> {
    errors: &'a mut Vec<ConfigError>,
    section: Section,
}

impl Reader<'_> {
    fn error(&mut self, key: &str, problem: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(error(key, problem, fix));
    }

    fn string(&mut self, key: &str) -> Option<String> {
        self.section.string(self.errors, key)
    }

    /// A table of string values (`headers`, `resource_attributes`), in key order.
    fn table_of_strings(&mut self, key: &str) -> Vec<(String, String)> {
        let Some(value) = self.section.table.remove(key) else {
            return Vec::new();
        };
        let Value::Table(table) = value else {
            self.error(
                &format!("otlp.{key}"),
                format!("expected a table, found {}", value.type_str()),
                format!("write it as {key} = {{ name = \"value\" }}"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, value) in table {
            match value {
                Value::String(v) => out.push((name, v)),
                other => self.error(
                    &format!("otlp.{key}.{name}"),
                    format!("expected a string, found {}", other.type_str()),
                    "quote the value",
                ),
            }
        }
        out
    }

    fn protocol(&mut self, key: &str, text: &str) -> Option<Protocol> {
        match text.trim() {
            "grpc" => Some(Protocol::Grpc),
            "http/protobuf" => Some(Protocol::HttpProtobuf),
            other => {
                let problem = if other == "http/json" {
                    "http/json is not supported".to_string()
                } else {
                    format!("unknown protocol {other:?}")
                };
                self.error(key, problem, "use \"grpc\" (default) or \"http/protobuf\"");
                None
            }
        }
    }

    fn duration(&mut self, key: &str, text: &str, min: Duration) -> Option<Duration> {
        match humantime::parse_duration(text) {
            Ok(d) if d >= min => Some(d),
            Ok(_) => {
                self.error(
                    key,
                    format!("{text:?} is too short"),
                    format!("use at least {}", humantime::format_duration(min)),
                );
                None
            }
            Err(e) => {
                self.error(
                    key,
                    format!("{text:?} is not a duration ({e})"),
                    "use a duration such as \"10s\" or \"1m\"",
                );
                None
            }
        }
    }

    /// A variable in whole milliseconds, as the specification defines them.
    fn millis(&mut self, var: &str, text: &str, min: Duration) -> Option<Duration> {
        match text.trim().parse::<u64>() {
            Ok(ms) if Duration::from_millis(ms) >= min => Some(Duration::from_millis(ms)),
            Ok(_) => {
                self.error(
                    var,
                    format!("{text:?} is too short"),
                    format!("use at least {} (milliseconds)", min.as_millis()),
                );
                None
            }
            Err(_) => {
                self.error(
                    var,
                    format!("{text:?} is not a whole number of milliseconds"),
                    "use milliseconds, e.g. 10000",
                );
                None
            }
        }
    }

    /// Adds (or replaces) a header after checking it can be sent; the value is never echoed.
    fn header(
        &mut self,
        key: &str,
        name: &str,
        value: String,
        headers: &mut Vec<(String, SecretString)>,
    ) {
        let name = name.trim().to_ascii_lowercase();
        if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            self.error(
                key,
                format!("{name:?} is not a valid header name"),
                "use letters, digits and '-'",
            );
            return;
        }
        if axum::http::HeaderValue::from_str(&value).is_err() {
            self.error(
                key,
                "the header value has characters HTTP cannot carry",
                "use printable ASCII (percent-encode others in the variable)",
            );
            return;
        }
        headers.retain(|(n, _)| *n != name);
        headers.push((name, SecretString::from(value)));
    }

    /// Checks an endpoint and, for http/protobuf base URLs, appends `/v1/metrics`.
    fn endpoint(&mut self, key: &str, text: &str, protocol: Protocol, base: bool) -> Option<Url> {
        let fix = match protocol {
            Protocol::Grpc => "use e.g. \"http://collector:4317\"",
            Protocol::HttpProtobuf => "use e.g. \"http://collector:4318\"",
        };
        let url = match Url::parse(text.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
            _ => {
                self.error(key, format!("{text:?} is not an http(s) URL"), fix);
                return None;
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            // Credentials in the URL would reach error messages; headers are kept out of them.
            self.error(
                key,
                "the URL holds credentials",
                "remove them from the URL and send them as a header (headers = { authorization = \"...\" })",
            );
            return None;
        }
        if protocol == Protocol::HttpProtobuf && base {
            let joined = format!("{}/v1/metrics", text.trim().trim_end_matches('/'));
            return match Url::parse(&joined) {
                Ok(url) => Some(url),
                Err(_) => {
                    self.error(key, format!("{text:?} is not an http(s) base URL"), fix);
                    None
                }
            };
        }
        Some(url)
    }
}

#[cfg(test)]
mod tests;
