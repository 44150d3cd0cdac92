//! The TOML configuration: accounts, schedule, WeChat client settings, and its validation.
//!
//! Loading reports every problem at once, each with its key path and the fix; a bad config never
//! starts half-way.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::Time;
use secrecy::SecretString;
use url::Url;

use crate::wechat::ReportGroup;

/// The whole configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    pub wechat: WeChatSettings,
    pub schedule: ScheduleSettings,
    pub metrics: MetricsSettings,
    pub accounts: Vec<AccountConfig>,
}

/// `[wechat]`
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
            writeln!(f, "  {}: {} ({})", e.key, e.problem, e.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Reads and validates `path`; every problem is reported at once.
    pub fn load(_path: &std::path::Path) -> Result<Config, ConfigErrors> {
        todo!("config loading")
    }
}
