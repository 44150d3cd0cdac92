//! The one reader of the config file's TOML: a section (a table with its key path) read key by
//! key with typed getters that record every problem with its key and fix, and the table of the
//! keys each section knows, which also writes the "unknown key" message. `validate` and
//! `otlp.rs` both read through it.

use toml::{Table, Value};

use super::ConfigError;

/// The keys every section knows, by section: the one list the "unknown key" message names.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "wechat",
            "schedule",
            "metrics",
            "otlp",
            "component",
            "account",
        ],
    ),
    (
        "wechat",
        &[
            "api_base_url",
            "timeout",
            "max_retries",
            "retry_backoff",
            "concurrency",
            "rate_limit",
        ],
    ),
    (
        "schedule",
        &[
            "publish_after",
            "retry_interval",
            "empty_is_zero_after",
            "error_retry_interval",
        ],
    ),
    ("metrics", &["max_articles_per_account", "exclude"]),
    (
        "otlp",
        &[
            "endpoint",
            "protocol",
            "interval",
            "timeout",
            "headers",
            "resource_attributes",
        ],
    ),
    (
        "component",
        &[
            "name",
            "component_appid",
            "component_appsecret",
            "component_appsecret_file",
            "component_verify_ticket",
            "discover_accounts",
            "discover_interval",
            "reports",
        ],
    ),
    (
        "account",
        &[
            "name",
            "app_id",
            "app_secret",
            "app_secret_file",
            "token",
            "component",
            "authorizer_refresh_token",
            "authorizer_refresh_token_file",
            "reports",
            "callback_probe",
        ],
    ),
    (
        "callback_probe",
        &[
            "url",
            "token",
            "token_file",
            "interval",
            "timeout",
            "encoding_aes_key",
            "encoding_aes_key_file",
            "message_probe",
            "message_mode",
        ],
    ),
];

/// The keys `section` knows, as the "unknown key" message lists them.
pub(super) fn known(section: &str) -> String {
    KNOWN
        .iter()
        .find(|(name, _)| *name == section)
        .map(|(_, keys)| keys.join(", "))
        .unwrap_or_default()
}

pub(super) fn error(
    key: String,
    problem: impl Into<String>,
    fix: impl Into<String>,
) -> ConfigError {
    ConfigError {
        key,
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// One TOML table being read: the keys left at the end are unknown.
pub(super) struct Section {
    pub(super) path: String,
    pub(super) table: Table,
}

impl Section {
    /// The full key path of `key` in this section.
    pub(super) fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(super) fn string(&mut self, errors: &mut Vec<ConfigError>, key: &str) -> Option<String> {
        match self.table.remove(key)? {
            Value::String(v) => Some(v),
            other => {
                errors.push(error(
                    self.key(key),
                    format!("expected a string, found {}", other.type_str()),
                    "quote the value",
                ));
                None
            }
        }
    }

    pub(super) fn integer(
        &mut self,
        errors: &mut Vec<ConfigError>,
        key: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let value = self.table.remove(key)?;
        let problem = match value {
            Value::Integer(v) if (min..=max).contains(&v) => return Some(v),
            Value::Integer(v) => format!("{v} is out of range"),
            other => format!("expected an integer, found {}", other.type_str()),
        };
        errors.push(error(
            self.key(key),
            problem,
            format!("use a whole number from {min} to {max}"),
        ));
        None
    }

    /// `true` or `false`; `None` when absent or not a boolean (an error then).
    pub(super) fn boolean(&mut self, errors: &mut Vec<ConfigError>, key: &str) -> Option<bool> {
        match self.table.remove(key)? {
            Value::Boolean(b) => Some(b),
            other => {
                errors.push(error(
                    self.key(key),
                    format!("expected true or false, found {}", other.type_str()),
                    format!("write {key} = true or false"),
                ));
                None
            }
        }
    }

    /// One of `choices` by name; `what` names the setting in the "unknown" problem.
    pub(super) fn choice<T: Copy>(
        &mut self,
        errors: &mut Vec<ConfigError>,
        key: &str,
        what: &str,
        choices: &[(&str, T)],
        fix: &str,
    ) -> Option<T> {
        let text = self.string(errors, key)?;
        let found = choices.iter().find(|(name, _)| *name == text);
        if found.is_none() {
            errors.push(error(
                self.key(key),
                format!("unknown {what} {text:?}"),
                fix,
            ));
        }
        found.map(|(_, value)| *value)
    }

    /// Reports every key left in this section as unknown, naming the keys of `section`.
    pub(super) fn finish(self, errors: &mut Vec<ConfigError>, section: &str) {
        let known = known(section);
        for key in self.table.keys() {
            errors.push(error(
                self.key(key),
                "unknown key",
                format!("remove it or use one of: {known}"),
            ));
        }
    }
}
