//! Reading the TOML table into a `Config`: every key checked, every problem collected with its
//! key path and the fix, unknown keys reported.

use std::path::Path;
use std::time::Duration;

use jiff::civil::Time;
use toml::{Table, Value};
use url::Url;

use super::*;

mod account;
mod component;
mod probe;

/// Validates a parsed file: the config, or every problem found.
pub(super) fn validate(
    table: Table,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigError>> {
    let mut v = Validator {
        errors: Vec::new(),
        base,
        env,
        components: Vec::new(),
    };
    let config = v.config(table);
    if v.errors.is_empty() {
        Ok(config)
    } else {
        Err(v.errors)
    }
}

/// Walks the TOML table, collecting every problem instead of stopping at the first.
struct Validator<'a> {
    errors: Vec<ConfigError>,
    base: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// `[[component]]`, read before the accounts that name them.
    components: Vec<std::sync::Arc<ComponentConfig>>,
}

use super::read::Section;

impl Validator<'_> {
    fn error(&mut self, key: String, problem: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(ConfigError {
            key,
            problem: problem.into(),
            fix: fix.into(),
        });
    }

    fn config(&mut self, table: Table) -> Config {
        let mut root = Section {
            path: String::new(),
            table,
        };
        let wechat = match self.section(&mut root, "wechat") {
            Some(s) => self.wechat(s),
            None => WeChatSettings::default(),
        };
        let schedule = match self.section(&mut root, "schedule") {
            Some(s) => self.schedule(s),
            None => ScheduleSettings::default(),
        };
        let metrics = match self.section(&mut root, "metrics") {
            Some(s) => self.metrics(s),
            None => MetricsSettings::default(),
        };
        let otlp = super::otlp::resolve(root.table.remove("otlp"), self.env, &mut self.errors);
        self.components(&mut root);
        let accounts = self.accounts(&mut root);
        let components = std::mem::take(&mut self.components);
        self.unknown(root, "");
        Config {
            wechat,
            schedule,
            metrics,
            otlp,
            accounts,
            components,
        }
    }

    fn section(&mut self, parent: &mut Section, key: &str) -> Option<Section> {
        match parent.table.remove(key)? {
            Value::Table(table) => Some(Section {
                path: parent.key(key),
                table,
            }),
            other => {
                self.error(
                    parent.key(key),
                    format!("expected a table, found {}", other.type_str()),
                    format!("write it as [{key}]"),
                );
                None
            }
        }
    }

    /// Every key left in `section` is unknown; the message names the keys `known` (a section of
    /// `read::KNOWN`) knows.
    fn unknown(&mut self, section: Section, known: &str) {
        section.finish(&mut self.errors, known);
    }

    fn string(&mut self, s: &mut Section, key: &str) -> Option<String> {
        s.string(&mut self.errors, key)
    }

    fn integer(&mut self, s: &mut Section, key: &str, min: i64, max: i64) -> Option<i64> {
        s.integer(&mut self.errors, key, min, max)
    }

    /// `concurrency`: `"auto"` or a whole number of requests in flight.
    fn concurrency(&mut self, s: &mut Section) -> Option<Concurrency> {
        if matches!(s.table.get("concurrency"), Some(Value::String(_))) {
            let key = s.key("concurrency");
            let text = self.string(s, "concurrency")?;
            if text == "auto" {
                return Some(Concurrency::Auto);
            }
            self.error(
                key,
                format!("{text:?} is neither \"auto\" nor a number"),
                format!("write concurrency = \"auto\" (sized to rate_limit and the answer time) or a whole number from 1 to {MAX_IN_FLIGHT}"),
            );
            return None;
        }
        self.integer(s, "concurrency", 1, MAX_IN_FLIGHT as i64)
            .map(|v| Concurrency::Fixed(v as usize))
    }

    fn duration(&mut self, s: &mut Section, key: &str, min: Duration) -> Option<Duration> {
        let key_path = s.key(key);
        let text = self.string(s, key)?;
        match humantime::parse_duration(&text) {
            Ok(d) if d >= min => Some(d),
            Ok(_) => {
                self.error(
                    key_path,
                    format!("{text:?} is too short"),
                    format!("use at least {}", humantime::format_duration(min)),
                );
                None
            }
            Err(e) => {
                self.error(
                    key_path,
                    format!("{text:?} is not a duration ({e})"),
                    "use a duration such as \"30s\", \"10m\" or \"1h\"",
                );
                None
            }
        }
    }

    fn time_of_day(&mut self, s: &mut Section, key: &str) -> Option<Time> {
        let key_path = s.key(key);
        let text = self.string(s, key)?;
        match Time::strptime("%H:%M", &text) {
            Ok(t) => Some(t),
            Err(_) => {
                self.error(
                    key_path,
                    format!("{text:?} is not a time of day"),
                    "use HH:MM in UTC+8, e.g. \"08:00\"",
                );
                None
            }
        }
    }

    fn wechat(&mut self, mut s: Section) -> WeChatSettings {
        let d = WeChatSettings::default();
        let api_base_url = match self.string(&mut s, "api_base_url") {
            None => d.api_base_url,
            Some(text) => match Url::parse(&text) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.query().is_none() => url,
                _ => {
                    self.error(
                        s.key("api_base_url"),
                        format!("{text:?} is not an http(s) base URL"),
                        "use e.g. \"https://api.weixin.qq.com\"",
                    );
                    d.api_base_url
                }
            },
        };
        let settings = WeChatSettings {
            api_base_url,
            timeout: self
                .duration(&mut s, "timeout", Duration::from_millis(100))
                .unwrap_or(d.timeout),
            max_retries: self
                .integer(&mut s, "max_retries", 0, 10)
                .map(|v| v as u32)
                .unwrap_or(d.max_retries),
            retry_backoff: self
                .duration(&mut s, "retry_backoff", Duration::ZERO)
                .unwrap_or(d.retry_backoff),
            concurrency: self.concurrency(&mut s).unwrap_or(d.concurrency),
            rate_limit: self
                .integer(&mut s, "rate_limit", 0, 100_000)
                .map(|v| v as u32)
                .unwrap_or(d.rate_limit),
        };
        self.unknown(s, "wechat");
        settings
    }

    fn schedule(&mut self, mut s: Section) -> ScheduleSettings {
        let d = ScheduleSettings::default();
        let settings = ScheduleSettings {
            publish_after: self
                .time_of_day(&mut s, "publish_after")
                .unwrap_or(d.publish_after),
            retry_interval: self
                .duration(&mut s, "retry_interval", Duration::from_secs(60))
                .unwrap_or(d.retry_interval),
            empty_is_zero_after: self
                .time_of_day(&mut s, "empty_is_zero_after")
                .unwrap_or(d.empty_is_zero_after),
            error_retry_interval: self
                .duration(&mut s, "error_retry_interval", Duration::from_secs(60))
                .unwrap_or(d.error_retry_interval),
        };
        self.unknown(s, "schedule");
        settings
    }

    fn metrics(&mut self, mut s: Section) -> MetricsSettings {
        let d = MetricsSettings::default();
        let settings = MetricsSettings {
            max_articles_per_account: self
                .integer(&mut s, "max_articles_per_account", 0, 100_000)
                .map(|v| v as usize)
                .unwrap_or(d.max_articles_per_account),
            exclude: self.exclude(&mut s).unwrap_or_default(),
        };
        self.unknown(s, "metrics");
        settings
    }

    /// `[metrics] exclude`: a list of selectors, family names or `prefix*` patterns.
    fn exclude(&mut self, s: &mut Section) -> Option<crate::catalogue::exclude::Exclusions> {
        let key = s.key("exclude");
        let items = match s.table.remove("exclude")? {
            Value::Array(items) => items,
            other => {
                self.error(
                    key,
                    format!("expected a list, found {}", other.type_str()),
                    "write it as exclude = [\"hourly\", \"wechat_mp_article_*\"]",
                );
                return None;
            }
        };
        let mut entries = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(entry) => entries.push(entry),
                None => {
                    self.error(
                        format!("{key}[{i}]"),
                        format!("expected a string, found {}", item.type_str()),
                        "quote the value",
                    );
                    return None;
                }
            }
        }
        match crate::catalogue::exclude::Exclusions::parse(entries) {
            Ok(exclusions) => Some(exclusions),
            Err((i, problem)) => {
                self.error(
                    format!("{key}[{i}]"),
                    problem,
                    "fix or remove the entry (docs/metrics.md lists the families and selectors)",
                );
                None
            }
        }
    }
}

/// Expands `${VAR}` from `env`; a missing variable is an error naming it.
pub(crate) fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("unterminated ${...}".into());
        };
        let name = &after[..end];
        match env(name) {
            Some(v) => out.push_str(&v),
            None => return Err(format!("environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
