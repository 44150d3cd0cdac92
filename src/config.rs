//! The TOML configuration: accounts, schedule, WeChat client settings, and its validation.
//!
//! Loading reports every problem at once, each with its key path and the fix; a bad config never
//! starts half-way.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::civil::Time;
use secrecy::SecretString;
use toml::Table;
use url::Url;

use crate::wechat::ReportGroup;
pub use crate::wechat::pace::{Concurrency, MAX_IN_FLIGHT};

pub use aes_key::AesKey;

mod aes_key;
pub mod otlp;
mod read;
mod validate;

pub(crate) use validate::expand;

/// The whole configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[wechat]`
    pub wechat: WeChatSettings,
    /// `[schedule]`
    pub schedule: ScheduleSettings,
    /// `[metrics]`
    pub metrics: MetricsSettings,
    /// `[otlp]` and the `OTEL_*` variables: the OTLP push, `None` when off.
    pub otlp: Option<otlp::OtlpSettings>,
    /// `[[account]]`, in file order.
    pub accounts: Vec<AccountConfig>,
    /// `[[component]]`: third-party platforms, whether accounts name them or they list their own.
    pub components: Vec<std::sync::Arc<ComponentConfig>>,
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
    /// `concurrency`: upstream requests in flight across all accounts, a number or `"auto"`
    /// (the default: sized to `rate_limit` and WeChat's answer time; 4 without a rate limit).
    pub concurrency: Concurrency,
    /// `rate_limit`: upstream requests per second across all accounts (datacube, quota and token
    /// calls, evenly spaced), default 0 = no limit.
    pub rate_limit: u32,
}

/// What a datacube client needs of `[wechat]` (`wechat` sits below `config`, so the
/// conversion lives here).
impl From<&WeChatSettings> for crate::wechat::client::ClientSettings {
    fn from(w: &WeChatSettings) -> Self {
        Self {
            base_url: w.api_base_url.clone(),
            max_retries: w.max_retries,
            retry_backoff: w.retry_backoff,
        }
    }
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
    /// `exclude`: families dropped by name, `prefix*` or selector (`hourly`, `per_article`, a
    /// report group); none by default.
    pub exclude: crate::catalogue::exclude::Exclusions,
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
    /// `component`: the account is authorised to a third-party platform (`[[component]]`).
    Component(ComponentAccount),
}

/// `[[component]]`: a third-party platform (开放平台) whose authorised accounts are polled.
#[derive(Debug, Clone)]
pub struct ComponentConfig {
    /// `name`: what accounts put in `component`.
    pub name: String,
    /// `component_appid`.
    pub appid: String,
    /// `component_appsecret` (with `${VAR}` expansion) or `component_appsecret_file`.
    pub secret: SecretString,
    /// `component_verify_ticket`: `file:PATH` or `url:URL`.
    pub ticket: crate::wechat::token::component::TicketSource,
    /// `discover_accounts = true`: also poll every account the platform lists as authorised.
    pub discover: Option<Discovery>,
}

/// How a platform's authorised accounts are listed (`api_get_authorizer_list`).
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    /// `discover_interval`: how often the list is read again, default 1h.
    pub interval: Duration,
    /// `reports`: the report groups of the listed accounts, default all.
    pub reports: BTreeSet<ReportGroup>,
}

impl PartialEq for ComponentConfig {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        self.name == other.name
            && self.appid == other.appid
            && self.secret.expose_secret() == other.secret.expose_secret()
            && self.ticket == other.ticket
            && self.discover == other.discover
    }
}

/// The `token = "component"` part of an `[[account]]`.
#[derive(Debug, Clone)]
pub struct ComponentAccount {
    /// The platform (`component`, which may be left out when there is one `[[component]]`).
    pub component: std::sync::Arc<ComponentConfig>,
    /// `authorizer_refresh_token` (with `${VAR}` expansion) or `authorizer_refresh_token_file`.
    pub refresh_token: SecretString,
    /// `authorizer_refresh_token_file`, rewritten with a rotated token when there is no state
    /// directory.
    pub refresh_token_file: Option<PathBuf>,
}

impl PartialEq for ComponentAccount {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        *self.component == *other.component
            && self.refresh_token.expose_secret() == other.refresh_token.expose_secret()
            && self.refresh_token_file == other.refresh_token_file
    }
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
    /// `[account.callback_probe]`: the signed probe of the account's callback server, if any.
    pub callback_probe: Option<CallbackProbeConfig>,
}

/// How the message probe encodes its message (WeChat's 消息加解密方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageMode {
    /// Plain XML, signed in the query like the URL check.
    Plain,
    /// AES-256-CBC with the EncodingAESKey, `encrypt_type=aes` and `msg_signature`.
    Safe,
}

/// `[account.callback_probe]`
#[derive(Debug, Clone)]
pub struct CallbackProbeConfig {
    /// `url`: the callback URL configured in the MP console.
    pub url: Url,
    /// `token` (with `${VAR}` expansion) or `token_file`: the callback Token.
    pub token: SecretString,
    /// `interval`: time between probes, default 1m.
    pub interval: Duration,
    /// `timeout`: how long an answer may take, default 5s (WeChat's own limit).
    pub timeout: Duration,
    /// `encoding_aes_key` or `encoding_aes_key_file`: the 43-character EncodingAESKey.
    pub encoding_aes_key: Option<AesKey>,
    /// `message_probe`: also POST a signed text message, default false.
    pub message_probe: bool,
    /// `message_mode`: default `safe` when an EncodingAESKey is set, else `plain`.
    pub message_mode: MessageMode,
}

impl CallbackProbeConfig {
    /// Whether `other` probes the same way (a reload keeps the running probe then).
    pub fn same_as(&self, other: &CallbackProbeConfig) -> bool {
        use secrecy::ExposeSecret;
        self.url == other.url
            && self.token.expose_secret() == other.token.expose_secret()
            && self.interval == other.interval
            && self.timeout == other.timeout
            && self.encoding_aes_key == other.encoding_aes_key
            && self.message_probe == other.message_probe
            && self.message_mode == other.message_mode
    }
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
    /// The key path, e.g. `account "brand".app_id`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
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
            concurrency: Concurrency::Auto,
            rate_limit: 0,
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
            exclude: crate::catalogue::exclude::Exclusions::default(),
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
        validate::validate(table, base, env).map_err(ConfigErrors)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests;
