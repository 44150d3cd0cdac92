//! Logging set-up: `--log.level` and `--log.format` (logfmt like promslog, or JSON) on stderr.

use std::fmt::{self, Write as _};

use clap::ValueEnum;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

// `--log.level`. Undocumented for rustdoc on purpose: clap would print variant doc comments in
// --help next to each value.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl From<LogLevel> for Level {
    fn from(level: LogLevel) -> Level {
        match level {
            LogLevel::Trace => Level::TRACE,
            LogLevel::Debug => Level::DEBUG,
            LogLevel::Info => Level::INFO,
            LogLevel::Warn => Level::WARN,
            LogLevel::Error => Level::ERROR,
        }
    }
}

// `--log.format` (see `LogLevel` on why no doc comments).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// Installs the global subscriber writing to stderr. Later calls are ignored (tests may call it
/// more than once).
pub fn init(level: LogLevel, format: LogFormat) {
    let _ = install(level, format, std::io::stderr);
}

/// Installs the global subscriber writing to `writer`; fails if one is already installed.
pub fn install<W>(
    level: LogLevel,
    format: LogFormat,
    writer: W,
) -> Result<(), tracing::subscriber::SetGlobalDefaultError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level: Level = level.into();
    // Libraries log through `log` too; route them here so nothing bypasses the filter.
    let _ = tracing_log::LogTracer::init();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(writer);
    match format {
        LogFormat::Json => {
            tracing::subscriber::set_global_default(builder.json().flatten_event(true).finish())
        }
        LogFormat::Logfmt => {
            tracing::subscriber::set_global_default(builder.event_format(Logfmt).finish())
        }
    }
}

/// The filter for `level`. The HTTP stack is capped at info whatever the level: at debug and trace
/// reqwest and hyper print request URLs, and WeChat puts the access token in the URL's query.
fn filter(level: Level) -> EnvFilter {
    let mut filter = EnvFilter::new(level.as_str().to_ascii_lowercase());
    for quiet in [
        "reqwest",
        "hyper",
        "hyper_util",
        "h2",
        "rustls",
        "tower",
        "tower_http",
        // The OTLP transports: request metadata carries the push's auth headers.
        "tonic",
        "opentelemetry_otlp",
        "opentelemetry_http",
    ] {
        let directive = format!(
            "{quiet}={}",
            level.min(Level::INFO).as_str().to_ascii_lowercase()
        );
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// `time=... level=info source=module msg="..." key=value`, as promslog writes it.
struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let now = jiff::Timestamp::now();
        write!(
            writer,
            "time={} level={} source={}",
            now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            meta.level().as_str().to_ascii_lowercase(),
            meta.target()
        )?;
        let mut fields = LogfmtFields::default();
        event.record(&mut fields);
        if let Some(msg) = &fields.message {
            write!(writer, " msg={}", quote(msg))?;
        }
        writeln!(writer, "{}", fields.rest)
    }
}

#[derive(Default)]
struct LogfmtFields {
    message: Option<String>,
    rest: String,
}

impl Visit for LogfmtFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            let _ = write!(self.rest, " {}={}", field.name(), quote(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// Quotes a logfmt value when it needs it.
fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_whitespace() && c != '"' && c != '=' && !c.is_control());
    if plain {
        value.to_string()
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn the_http_stack_never_logs_below_info() {
        let f = super::filter(tracing::Level::TRACE).to_string();
        assert!(f.ends_with(",trace"), "{f}");
        assert!(
            f.contains("reqwest=info") && f.contains("hyper_util=info"),
            "{f}"
        );
        let f = super::filter(tracing::Level::WARN).to_string();
        assert!(f.contains("reqwest=warn"), "{f}");
    }

    #[test]
    fn logfmt_quotes_only_when_needed() {
        assert_eq!(quote("getusersummary"), "getusersummary");
        assert_eq!(quote("two words"), "\"two words\"");
        assert_eq!(quote("a=\"b\""), "\"a=\\\"b\\\"\"");
        assert_eq!(quote(""), "\"\"");
    }
}
