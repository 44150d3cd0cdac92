//! Reading `[[account]]`: names and AppIDs, secrets (inline, `${VAR}` or `_file`), the token
//! source and the report groups of each account.

use std::collections::{BTreeSet, HashSet};

use secrecy::SecretString;
use toml::Value;

use super::{Section, Validator};
use crate::config::*;
use crate::wechat::ReportGroup;

impl Validator<'_> {
    pub(super) fn accounts(&mut self, root: &mut Section) -> Vec<AccountConfig> {
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
            // Problems name the account as operators know it; by position only when unnamed.
            // A repeated name adds the position, so the duplicate is found.
            let path = match item.get("name").and_then(Value::as_str) {
                Some(name) if !names.contains(name) => format!("account {name:?}"),
                Some(name) => format!("account {name:?} #{}", i + 1),
                None => format!("account #{}", i + 1),
            };
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

    pub(super) fn account(&mut self, mut s: Section) -> Option<AccountConfig> {
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
        self.unknown(s, "account");
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
    pub(super) fn secret(&mut self, s: &mut Section) -> Option<SecretString> {
        self.secret_key(s, "app_secret", "the AppSecret")
    }

    /// `<key>` (with `${VAR}` expansion) or `<key>_file`; `what` names the secret in fixes. The
    /// value is never echoed.
    pub(super) fn secret_key(
        &mut self,
        s: &mut Section,
        key: &str,
        what: &str,
    ) -> Option<SecretString> {
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

    pub(super) fn token(&mut self, key: String, spec: &str) -> Option<TokenSourceConfig> {
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

    pub(super) fn reports(&mut self, s: &mut Section) -> Option<BTreeSet<ReportGroup>> {
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
