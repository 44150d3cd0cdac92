//! The TOML configuration: accounts, schedule, WeChat client settings, and its validation.
//!
//! Loading reports every problem at once, each with its key path and the fix; a bad config never
//! starts half-way.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::civil::Time;
use secrecy::SecretString;
use toml::{Table, Value};
use url::Url;

use crate::wechat::ReportGroup;

/// The whole configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    pub wechat: WeChatSettings,
    pub schedule: ScheduleSettings,
    pub metrics: MetricsSettings,
    /// `[otlp]` and the `OTEL_*` variables: the OTLP push, `None` when off.
    pub otlp: Option<crate::otlp::OtlpSettings>,
    pub accounts: Vec<AccountConfig>,
}

/// `[wechat]`
#[derive(Debug, Clone, PartialEq)]
pub struct WeChatSettings {
    /// `api_base_url`, default `https://api.weixin.qq.com`.
    pub api_base_url: Url,
    /// `timeout`: whole-request timeout, default 10s.
    pub timeout: Duration,
    /// `max_retries`: extra attempts for transient errors (-1, 45011, network, 5xx), default 3.
    pub max_retries: u32,
    /// `retry_backoff`: first backoff for transient errors (doubles, jittered), default 1s.
    pub retry_backoff: Duration,
    /// `concurrency`: upstream requests in flight across all accounts, default 4.
    pub concurrency: usize,
}

/// `[schedule]`
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSettings {
    /// `publish_after`: UTC+8 time of day before which yesterday is not asked for, default 08:00.
    pub publish_after: Time,
    /// `retry_interval`: how often to look again for a day not published yet, default 30m.
    pub retry_interval: Duration,
    /// `empty_is_zero_after`: UTC+8 time of day after which an empty answer on a ready day means
    /// zero (before it, it means "not computed yet"), default 12:00.
    pub empty_is_zero_after: Time,
    /// `error_retry_interval`: how long to wait after a permanent/config error, default 1h.
    pub error_retry_interval: Duration,
}

/// `[metrics]`
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSettings {
    /// `max_articles_per_account`: per-article series are kept for at most this many articles per
    /// account and endpoint (newest first); default 200.
    pub max_articles_per_account: usize,
}

/// Where an account's access token comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenSourceConfig {
    /// `stable`: `/cgi-bin/stable_token` in normal mode (never force_refresh). Default.
    Stable,
    /// `file:PATH`: a file a central token server keeps up to date.
    File(PathBuf),
    /// `url:URL`: a central token service answering `{"access_token": "...", "expires_in": N}`.
    Url(Url),
    /// `classic`: `/cgi-bin/token`. Only when this exporter owns the account's token: every fetch
    /// invalidates the token the account's other servers hold.
    Classic,
}

/// One `[[account]]`.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// `name`: the `account` label value.
    pub name: String,
    /// `app_id`.
    pub app_id: String,
    /// `app_secret` (with `${VAR}` expansion) or `app_secret_file`; needed by `stable` and `classic`.
    pub app_secret: Option<SecretString>,
    /// `token`.
    pub token: TokenSourceConfig,
    /// `reports`: default all four groups.
    pub reports: BTreeSet<ReportGroup>,
}

impl AccountConfig {
    /// Whether `other` would poll the same account the same way (a reload keeps its state then).
    pub fn same_as(&self, other: &AccountConfig) -> bool {
        use secrecy::ExposeSecret;
        self.name == other.name
            && self.app_id == other.app_id
            && self.token == other.token
            && self.reports == other.reports
            && self.app_secret.as_ref().map(|s| s.expose_secret())
                == other.app_secret.as_ref().map(|s| s.expose_secret())
    }
}

/// One problem in a config file: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key path, e.g. `account[1].app_id`.
    pub key: String,
    pub problem: String,
    pub fix: String,
}

/// Every problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.0 {
            writeln!(f, "  {}: {}; {}", e.key, e.problem, e.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Default for WeChatSettings {
    fn default() -> Self {
        Self {
            api_base_url: Url::parse("https://api.weixin.qq.com").expect("a valid constant URL"),
            timeout: Duration::from_secs(10),
            max_retries: 3,
            retry_backoff: Duration::from_secs(1),
            concurrency: 4,
        }
    }
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            publish_after: Time::constant(8, 0, 0, 0),
            retry_interval: Duration::from_secs(30 * 60),
            empty_is_zero_after: Time::constant(12, 0, 0, 0),
            error_retry_interval: Duration::from_secs(3600),
        }
    }
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            max_articles_per_account: 200,
        }
    }
}

impl Config {
    /// Reads and validates `path`; every problem is reported at once.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                key: "(file)".into(),
                problem: format!("cannot read {}: {e}", path.display()),
                fix: "pass an existing file with --config.file".into(),
            }])
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base, &|name| std::env::var(name).ok())
    }

    /// Parses and validates config text. `base` resolves relative file paths; `env` expands `${VAR}`.
    pub fn parse(
        text: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let table: Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigErrors(vec![ConfigError {
                key: "(syntax)".into(),
                problem: format!("not valid TOML: {}", e.message()),
                fix: match e.span() {
                    Some(span) => format!("fix the syntax at line {}", line_of(text, span.start)),
                    None => "fix the TOML syntax".into(),
                },
            }])
        })?;
        let mut v = Validator {
            errors: Vec::new(),
            base,
            env,
        };
        let config = v.config(table);
        if v.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(v.errors))
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Walks the TOML table, collecting every problem instead of stopping at the first.
struct Validator<'a> {
    errors: Vec<ConfigError>,
    base: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
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
        let accounts = self.accounts(&mut root);
        self.unknown(root, "wechat, schedule, metrics, otlp, account");
        Config {
            wechat,
            schedule,
            metrics,
            otlp,
            accounts,
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
        };
        self.unknown(
            s,
            "api_base_url, timeout, max_retries, retry_backoff, concurrency",
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
        };
        self.unknown(s, "max_articles_per_account");
        settings
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
        if tables.is_empty() {
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
            Some(spec) => self.token(s.key("token"), &spec),
        };
        let reports = self.reports(&mut s);
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
            "name, app_id, app_secret, app_secret_file, token, reports",
        );
        Some(AccountConfig {
            name: name?,
            app_id: app_id?,
            app_secret: secret,
            token: token?,
            reports: reports?,
        })
    }

    /// `app_secret` (with `${VAR}` expansion) or `app_secret_file`. The value is never echoed.
    fn secret(&mut self, s: &mut Section) -> Option<SecretString> {
        let inline = self.string(s, "app_secret");
        let file = self.string(s, "app_secret_file");
        match (inline, file) {
            (Some(_), Some(_)) => {
                self.error(
                    s.key("app_secret_file"),
                    "set together with app_secret",
                    "keep only one of app_secret and app_secret_file",
                );
                None
            }
            (Some(text), None) => match expand(&text, self.env) {
                Ok(v) if v.trim().is_empty() => {
                    self.error(
                        s.key("app_secret"),
                        "empty after ${VAR} expansion",
                        "set the environment variable it names",
                    );
                    None
                }
                Ok(v) => Some(SecretString::from(v)),
                Err(problem) => {
                    self.error(
                        s.key("app_secret"),
                        problem,
                        "export the variable, or use app_secret_file",
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
                            s.key("app_secret_file"),
                            format!("{} is empty", full.display()),
                            "write the AppSecret into the file",
                        );
                        None
                    }
                    Err(e) => {
                        self.error(
                            s.key("app_secret_file"),
                            format!("cannot read {}: {e}", full.display()),
                            "point it at a readable file holding the AppSecret",
                        );
                        None
                    }
                }
            }
            (None, None) => None,
        }
    }

    fn token(&mut self, key: String, spec: &str) -> Option<TokenSourceConfig> {
        let fix = "use \"stable\" (default), \"file:PATH\", \"url:URL\" or \"classic\"";
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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(name: &str) -> Option<String> {
        (name == "BRAND_SECRET").then(|| "s3cr3t-value".to_string())
    }

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        Config::parse(text, Path::new("/etc/wechat"), &env)
    }

    #[test]
    fn a_minimal_config_gets_the_defaults() {
        let c = parse("[[account]]\nname = \"brand\"\napp_id = \"wx0123456789abcdef\"\napp_secret = \"${BRAND_SECRET}\"\n").unwrap();
        assert_eq!(c.accounts.len(), 1);
        let a = &c.accounts[0];
        assert_eq!(
            a.app_secret.as_ref().unwrap().expose_secret(),
            "s3cr3t-value"
        );
        assert_eq!(a.token, TokenSourceConfig::Stable);
        assert_eq!(a.reports.len(), 4);
        assert_eq!(c.wechat.api_base_url.as_str(), "https://api.weixin.qq.com/");
        assert_eq!(c.schedule.retry_interval, Duration::from_secs(1800));
        assert_eq!(c.metrics.max_articles_per_account, 200);
    }

    #[test]
    fn every_key_is_read() {
        let c = parse(
            r#"
[wechat]
api_base_url = "http://127.0.0.1:9865"
timeout = "5s"
max_retries = 2
retry_backoff = "250ms"
concurrency = 8
[schedule]
publish_after = "09:30"
retry_interval = "15m"
empty_is_zero_after = "13:00"
error_retry_interval = "2h"
[metrics]
max_articles_per_account = 50
[[account]]
name = "a"
app_id = "wx0000000000000001"
token = "file:tokens/a"
reports = ["users", "callbacks"]
[[account]]
name = "b"
app_id = "wx0000000000000002"
token = "url:http://tokens.internal/b"
"#,
        )
        .unwrap();
        assert_eq!(c.wechat.timeout, Duration::from_secs(5));
        assert_eq!(c.wechat.max_retries, 2);
        assert_eq!(c.wechat.retry_backoff, Duration::from_millis(250));
        assert_eq!(c.wechat.concurrency, 8);
        assert_eq!(c.schedule.publish_after, Time::constant(9, 30, 0, 0));
        assert_eq!(c.schedule.empty_is_zero_after, Time::constant(13, 0, 0, 0));
        assert_eq!(c.schedule.error_retry_interval, Duration::from_secs(7200));
        assert_eq!(c.metrics.max_articles_per_account, 50);
        assert_eq!(
            c.accounts[0].token,
            TokenSourceConfig::File(PathBuf::from("/etc/wechat/tokens/a"))
        );
        assert_eq!(
            c.accounts[0].reports,
            [ReportGroup::Users, ReportGroup::Callbacks]
                .into_iter()
                .collect()
        );
        assert_eq!(
            c.accounts[1].token,
            TokenSourceConfig::Url(Url::parse("http://tokens.internal/b").unwrap())
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let errors = parse(
            r#"
[wechat]
timeout = "soon"
concurency = 4
[schedule]
publish_after = "9am"
[[account]]
name = "brand"
app_id = "0123"
app_secret = "${MISSING_SECRET}"
token = "force"
reports = ["users", "likes"]
[[account]]
name = "brand"
app_id = "wx0000000000000002"
"#,
        )
        .unwrap_err();
        let keys: Vec<&str> = errors.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "wechat.timeout",
                "wechat.concurency",
                "schedule.publish_after",
                "account[0].app_id",
                "account[0].app_secret",
                "account[0].token",
                "account[0].reports",
                "account[1].app_secret",
                "account[1].name",
            ]
        );
        let text = errors.to_string();
        assert!(text.contains("MISSING_SECRET is not set"), "{text}");
        assert!(text.contains("unknown key"), "{text}");
    }

    #[test]
    fn secrets_are_never_echoed() {
        let errors = parse("[[account]]\nname = \"x\"\napp_id = \"wx0000000000000001\"\napp_secret = \"${BRAND_SECRET}\"\napp_secret_file = \"s\"\n").unwrap_err();
        assert!(
            !format!("{errors} {errors:?}").contains("s3cr3t"),
            "{errors}"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let errors = parse("[wechat]\ntimeout = \n").unwrap_err();
        assert_eq!(errors.0[0].key, "(syntax)");
        assert!(errors.0[0].fix.contains("line 2"), "{errors}");
    }

    #[test]
    fn no_accounts_is_an_error() {
        let errors = parse("").unwrap_err();
        assert_eq!(errors.0[0].key, "account");
    }
}
