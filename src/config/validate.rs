//! Reading the TOML table into a `Config`: every key checked, every problem collected with its
//! key path and the fix, unknown keys reported.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use jiff::civil::Time;
use secrecy::SecretString;
use toml::{Table, Value};
use url::Url;

use super::*;
use crate::wechat::ReportGroup;

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

/// One TOML table being read: the keys left at the end are unknown.
struct Section {
    path: String,
    table: Table,
}

impl Section {
    fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

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
        let otlp =
            crate::otlp::config::resolve(root.table.remove("otlp"), self.env, &mut self.errors);
        self.components(&mut root);
        let accounts = self.accounts(&mut root);
        let components = std::mem::take(&mut self.components);
        self.unknown(root, "wechat, schedule, metrics, otlp, component, account");
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

    fn unknown(&mut self, section: Section, known: &str) {
        for key in section.table.keys() {
            self.error(
                section.key(key),
                "unknown key",
                format!("remove it or use one of: {known}"),
            );
        }
    }

    fn string(&mut self, s: &mut Section, key: &str) -> Option<String> {
        match s.table.remove(key)? {
            Value::String(v) => Some(v),
            other => {
                self.error(
                    s.key(key),
                    format!("expected a string, found {}", other.type_str()),
                    "quote the value",
                );
                None
            }
        }
    }

    fn integer(&mut self, s: &mut Section, key: &str, min: i64, max: i64) -> Option<i64> {
        match s.table.remove(key)? {
            Value::Integer(v) if (min..=max).contains(&v) => Some(v),
            Value::Integer(v) => {
                self.error(
                    s.key(key),
                    format!("{v} is out of range"),
                    format!("use a whole number from {min} to {max}"),
                );
                None
            }
            other => {
                self.error(
                    s.key(key),
                    format!("expected an integer, found {}", other.type_str()),
                    format!("use a whole number from {min} to {max}"),
                );
                None
            }
        }
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
            concurrency: self
                .integer(&mut s, "concurrency", 1, 256)
                .map(|v| v as usize)
                .unwrap_or(d.concurrency),
            rate_limit: self
                .integer(&mut s, "rate_limit", 0, 100_000)
                .map(|v| v as u32)
                .unwrap_or(d.rate_limit),
        };
        self.unknown(
            s,
            "api_base_url, timeout, max_retries, retry_backoff, concurrency, rate_limit",
        );
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
        self.unknown(
            s,
            "publish_after, retry_interval, empty_is_zero_after, error_retry_interval",
        );
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
        self.unknown(s, "max_articles_per_account, exclude");
        settings
    }

    /// `[metrics] exclude`: a list of selectors, family names or `prefix*` patterns.
    fn exclude(&mut self, s: &mut Section) -> Option<crate::metrics::Exclusions> {
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
        match crate::metrics::Exclusions::parse(entries) {
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

    fn accounts(&mut self, root: &mut Section) -> Vec<AccountConfig> {
        let tables = match root.table.remove("account") {
            None => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error(
                    "account".into(),
                    format!("expected [[account]] tables, found {}", other.type_str()),
                    "write each account as an [[account]] table",
                );
                return Vec::new();
            }
        };
        // A platform that lists its own accounts may be the only source of them.
        let discovered = self.components.iter().any(|c| c.discover.is_some());
        if tables.is_empty() && !discovered {
            self.error(
                "account".into(),
                "no accounts configured",
                "add at least one [[account]] with name and app_id",
            );
        }
        let mut accounts = Vec::new();
        let mut names = HashSet::new();
        let mut app_ids = HashSet::new();
        for (i, item) in tables.into_iter().enumerate() {
            let path = format!("account[{i}]");
            let Value::Table(table) = item else {
                self.error(
                    path,
                    "expected a table",
                    "write each account as an [[account]] table",
                );
                continue;
            };
            // Duplicates are checked on the raw values, so they are found even in invalid accounts.
            let raw = |k: &str| table.get(k).and_then(Value::as_str).map(str::to_string);
            let (raw_name, raw_app_id) = (raw("name"), raw("app_id"));
            let account = self.account(Section {
                path: path.clone(),
                table,
            });
            if let Some(name) = raw_name
                && !names.insert(name.clone())
            {
                self.error(
                    format!("{path}.name"),
                    format!("{name:?} is used by another account"),
                    "give every account a unique name",
                );
            }
            if let Some(app_id) = raw_app_id
                && !app_ids.insert(app_id.clone())
            {
                self.error(
                    format!("{path}.app_id"),
                    format!("{app_id:?} is configured twice"),
                    "configure each app_id once",
                );
            }
            accounts.extend(account);
        }
        accounts
    }

    fn account(&mut self, mut s: Section) -> Option<AccountConfig> {
        let name = self.string(&mut s, "name");
        match &name {
            None => self.error(
                s.key("name"),
                "missing",
                "add name = \"...\" (the `account` label value)",
            ),
            Some(n) if n.trim().is_empty() || n.chars().any(char::is_control) => self.error(
                s.key("name"),
                format!("{n:?} is not a usable label value"),
                "use a short printable name such as \"brand\"",
            ),
            Some(_) => {}
        }
        let app_id = self.string(&mut s, "app_id");
        match &app_id {
            None => self.error(
                s.key("app_id"),
                "missing",
                "add app_id = \"wx...\" (WeChat console: Settings > Basic configuration)",
            ),
            Some(id)
                if !(id.starts_with("wx")
                    && id.len() >= 10
                    && id.chars().all(|c| c.is_ascii_alphanumeric())) =>
            {
                self.error(
                    s.key("app_id"),
                    format!("{id:?} does not look like an AppID"),
                    "AppIDs start with \"wx\" followed by letters and digits",
                )
            }
            Some(_) => {}
        }
        let secret = self.secret(&mut s);
        let token = match self.string(&mut s, "token") {
            None => Some(TokenSourceConfig::Stable),
            Some(spec) if spec == "component" => self.component_account(&mut s),
            Some(spec) => self.token(s.key("token"), &spec),
        };
        if !matches!(token, Some(TokenSourceConfig::Component(_))) {
            self.no_component_keys(&mut s);
        }
        let reports = self.reports(&mut s);
        let callback_probe = match self.section(&mut s, "callback_probe") {
            Some(section) => self.callback_probe(section),
            None => Some(None),
        };
        if matches!(
            token,
            Some(TokenSourceConfig::Stable | TokenSourceConfig::Classic)
        ) && secret.is_none()
        {
            let key = s.key("app_secret");
            if !self.errors.iter().any(|e| e.key.starts_with(&key)) {
                self.error(key, "missing: the stable and classic token sources need the AppSecret", "set app_secret = \"${ENV_VAR}\" or app_secret_file, or use token = \"file:PATH\" / \"url:URL\"");
            }
        }
        self.unknown(
            s,
            "name, app_id, app_secret, app_secret_file, token, component, authorizer_refresh_token, authorizer_refresh_token_file, reports, callback_probe",
        );
        Some(AccountConfig {
            name: name?,
            app_id: app_id?,
            app_secret: secret,
            token: token?,
            reports: reports?,
            callback_probe: callback_probe?,
        })
    }

    /// `app_secret` (with `${VAR}` expansion) or `app_secret_file`. The value is never echoed.
    fn secret(&mut self, s: &mut Section) -> Option<SecretString> {
        self.secret_key(s, "app_secret", "the AppSecret")
    }

    /// `<key>` (with `${VAR}` expansion) or `<key>_file`; `what` names the secret in fixes. The
    /// value is never echoed.
    fn secret_key(&mut self, s: &mut Section, key: &str, what: &str) -> Option<SecretString> {
        let file_key = format!("{key}_file");
        let inline = self.string(s, key);
        let file = self.string(s, &file_key);
        match (inline, file) {
            (Some(_), Some(_)) => {
                self.error(
                    s.key(&file_key),
                    format!("set together with {key}"),
                    format!("keep only one of {key} and {file_key}"),
                );
                None
            }
            (Some(text), None) => match expand(&text, self.env) {
                Ok(v) if v.trim().is_empty() => {
                    self.error(
                        s.key(key),
                        "empty after ${VAR} expansion",
                        "set the environment variable it names",
                    );
                    None
                }
                Ok(v) => Some(SecretString::from(v)),
                Err(problem) => {
                    self.error(
                        s.key(key),
                        problem,
                        format!("export the variable, or use {file_key}"),
                    );
                    None
                }
            },
            (None, Some(path)) => {
                let full = self.base.join(&path);
                match std::fs::read_to_string(&full) {
                    Ok(v) if !v.trim().is_empty() => Some(SecretString::from(v.trim().to_string())),
                    Ok(_) => {
                        self.error(
                            s.key(&file_key),
                            format!("{} is empty", full.display()),
                            format!("write {what} into the file"),
                        );
                        None
                    }
                    Err(e) => {
                        self.error(
                            s.key(&file_key),
                            format!("cannot read {}: {e}", full.display()),
                            format!("point it at a readable file holding {what}"),
                        );
                        None
                    }
                }
            }
            (None, None) => None,
        }
    }

    fn token(&mut self, key: String, spec: &str) -> Option<TokenSourceConfig> {
        let fix =
            "use \"stable\" (default), \"file:PATH\", \"url:URL\", \"classic\" or \"component\"";
        match spec {
            "stable" => Some(TokenSourceConfig::Stable),
            "classic" => Some(TokenSourceConfig::Classic),
            _ if spec.starts_with("file:") && spec.len() > 5 => {
                Some(TokenSourceConfig::File(self.base.join(&spec[5..])))
            }
            _ if spec.starts_with("url:") => match Url::parse(&spec[4..]) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {
                    Some(TokenSourceConfig::Url(url))
                }
                _ => {
                    self.error(key, "the token URL is not an http(s) URL", fix);
                    None
                }
            },
            _ => {
                self.error(key, format!("unknown token source {spec:?}"), fix);
                None
            }
        }
    }

    fn reports(&mut self, s: &mut Section) -> Option<BTreeSet<ReportGroup>> {
        let key = s.key("reports");
        let fix = "use a list drawn from \"users\", \"articles\", \"messages\", \"callbacks\"";
        match s.table.remove("reports") {
            None => Some(ReportGroup::ALL.into_iter().collect()),
            Some(Value::Array(items)) => {
                let mut groups = BTreeSet::new();
                let mut ok = true;
                for item in items {
                    match item.as_str().map(str::parse::<ReportGroup>) {
                        Some(Ok(g)) => {
                            groups.insert(g);
                        }
                        _ => {
                            self.error(key.clone(), format!("unknown report group {item}"), fix);
                            ok = false;
                        }
                    }
                }
                if ok && groups.is_empty() {
                    self.error(key, "empty: the account would never be polled", fix);
                    return None;
                }
                ok.then_some(groups)
            }
            Some(other) => {
                self.error(
                    key,
                    format!("expected a list, found {}", other.type_str()),
                    fix,
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
