//! Reading `[[component]]` (a third-party platform: its AppID, AppSecret and ticket source) and the
//! `token = "component"` keys of an account (which platform, its authorizer refresh token).

use std::collections::HashSet;
use std::sync::Arc;

use toml::Value;
use url::Url;

use super::super::{ComponentAccount, ComponentConfig, Discovery, TokenSourceConfig};
use super::{Section, Validator};
use crate::wechat::token::component::TicketSource;

/// Listing the accounts more often than a minute buys nothing (authorisations are rare).
const MIN_DISCOVER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
const ADD_COMPONENT: &str = "add a [[component]] with name, component_appid, component_appsecret and component_verify_ticket";

impl Validator<'_> {
    /// Every `[[component]]`, kept for the accounts that name them.
    pub(super) fn components(&mut self, root: &mut Section) {
        let tables = match root.table.remove("component") {
            None => return,
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error(
                    "component".into(),
                    format!("expected [[component]] tables, found {}", other.type_str()),
                    "write each third-party platform as a [[component]] table",
                );
                return;
            }
        };
        let mut names = HashSet::new();
        for (i, item) in tables.into_iter().enumerate() {
            let path = format!("component[{i}]");
            let Value::Table(table) = item else {
                self.error(
                    path,
                    "expected a table",
                    "write each third-party platform as a [[component]] table",
                );
                continue;
            };
            let Some(component) = self.component(Section { path, table }) else {
                continue;
            };
            if !names.insert(component.name.clone()) {
                self.error(
                    format!("component[{i}].name"),
                    format!("{:?} is used by another [[component]]", component.name),
                    "give every [[component]] a unique name",
                );
                continue;
            }
            self.components.push(Arc::new(component));
        }
    }

    fn component(&mut self, mut s: Section) -> Option<ComponentConfig> {
        let name = self.string(&mut s, "name");
        match &name {
            None => self.error(
                s.key("name"),
                "missing",
                "add name = \"...\" (what accounts put in component = \"...\")",
            ),
            Some(n) if n.trim().is_empty() => self.error(
                s.key("name"),
                "empty",
                "use a short name such as \"agency\"",
            ),
            Some(_) => {}
        }
        let appid = self.string(&mut s, "component_appid");
        match &appid {
            None => self.error(
                s.key("component_appid"),
                "missing",
                "add component_appid = \"wx...\" (open platform console: the third-party platform's AppID)",
            ),
            Some(id) if !looks_like_appid(id) => self.error(
                s.key("component_appid"),
                format!("{id:?} does not look like an AppID"),
                "AppIDs start with \"wx\" followed by letters and digits",
            ),
            Some(_) => {}
        }
        let secret = self.secret_key(&mut s, "component_appsecret", "the platform's AppSecret");
        if secret.is_none() {
            let key = s.key("component_appsecret");
            if !self.errors.iter().any(|e| e.key.starts_with(&key)) {
                self.error(
                    key,
                    "missing",
                    "set component_appsecret = \"${ENV_VAR}\" or component_appsecret_file (open platform console: the third-party platform's AppSecret)",
                );
            }
        }
        let ticket = match self.string(&mut s, "component_verify_ticket") {
            None => {
                self.error(
                    s.key("component_verify_ticket"),
                    "missing",
                    "set component_verify_ticket = \"file:PATH\" or \"url:URL\": where the platform's server keeps the ticket WeChat pushes every 10 minutes",
                );
                None
            }
            Some(spec) => self.ticket(s.key("component_verify_ticket"), &spec),
        };
        let discover = self.discovery(&mut s);
        self.unknown(s, "component");
        Some(ComponentConfig {
            name: name.filter(|n| !n.trim().is_empty())?,
            appid: appid.filter(|id| looks_like_appid(id))?,
            secret: secret?,
            ticket: ticket?,
            discover: discover?,
        })
    }

    /// `discover_accounts`, `discover_interval`, `reports`; `Some(None)` when off.
    fn discovery(&mut self, s: &mut Section) -> Option<Option<Discovery>> {
        let errors = self.errors.len();
        let on = s.boolean(&mut self.errors, "discover_accounts");
        if self.errors.len() > errors {
            return None;
        }
        let on = on.unwrap_or(false);
        let interval = self.duration(s, "discover_interval", MIN_DISCOVER_INTERVAL);
        let reports = self.reports(s);
        if !on {
            return Some(None);
        }
        Some(Some(Discovery {
            interval: interval.unwrap_or(std::time::Duration::from_secs(3600)),
            reports: reports?,
        }))
    }

    fn ticket(&mut self, key: String, spec: &str) -> Option<TicketSource> {
        let fix = "use \"file:PATH\" or \"url:URL\" (where the platform's server keeps the latest component_verify_ticket)";
        if let Some(path) = spec.strip_prefix("file:").filter(|p| !p.is_empty()) {
            return Some(TicketSource::File(self.base.join(path)));
        }
        if let Some(url) = spec.strip_prefix("url:") {
            return match Url::parse(url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Some(TicketSource::Url(url)),
                _ => {
                    self.error(key, "the ticket URL is not an http(s) URL", fix);
                    None
                }
            };
        }
        // The value may be a ticket pasted in by mistake: never echo it.
        self.error(key, "not a ticket source", fix);
        None
    }

    /// The `token = "component"` keys of account section `s`.
    pub(super) fn component_account(&mut self, s: &mut Section) -> Option<TokenSourceConfig> {
        let named = self.string(s, "component");
        // Kept to rewrite the file with a rotated token (secret_key takes the key itself).
        let refresh_file = s
            .table
            .get("authorizer_refresh_token_file")
            .and_then(Value::as_str)
            .map(|p| self.base.join(p));
        let refresh = self.secret_key(
            s,
            "authorizer_refresh_token",
            "the account's authorizer_refresh_token",
        );
        let refresh_file = refresh.as_ref().and(refresh_file);
        let component = match (named, self.components.as_slice()) {
            (_, []) => {
                self.error(
                    s.key("token"),
                    "\"component\" needs a third-party platform, and no [[component]] is configured",
                    ADD_COMPONENT,
                );
                None
            }
            (None, [only]) => Some(only.clone()),
            (None, _) => {
                self.error(
                    s.key("component"),
                    "missing: several [[component]] are configured",
                    "set component = \"NAME\" to the name of the account's [[component]]",
                );
                None
            }
            (Some(name), all) => match all.iter().find(|c| c.name == name) {
                Some(c) => Some(c.clone()),
                None => {
                    let known: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
                    self.error(
                        s.key("component"),
                        format!("no [[component]] is named {name:?}"),
                        format!("use one of: {}", known.join(", ")),
                    );
                    None
                }
            },
        };
        if refresh.is_none() {
            let key = s.key("authorizer_refresh_token");
            if !self.errors.iter().any(|e| e.key.starts_with(&key)) {
                self.error(
                    key,
                    "missing: token = \"component\" needs the account's authorizer_refresh_token",
                    "set authorizer_refresh_token = \"${ENV_VAR}\" or authorizer_refresh_token_file (the refresh token the platform received when the account authorised it)",
                );
            }
        }
        Some(TokenSourceConfig::Component(ComponentAccount {
            component: component?,
            refresh_token: refresh?,
            refresh_token_file: refresh_file,
        }))
    }

    /// The component keys on an account that does not use `token = "component"`.
    pub(super) fn no_component_keys(&mut self, s: &mut Section) {
        for key in [
            "component",
            "authorizer_refresh_token",
            "authorizer_refresh_token_file",
        ] {
            if s.table.remove(key).is_some() {
                self.error(
                    s.key(key),
                    "only used with token = \"component\"",
                    "set token = \"component\" or remove the key",
                );
            }
        }
    }
}

fn looks_like_appid(id: &str) -> bool {
    id.starts_with("wx") && id.len() >= 10 && id.chars().all(|c| c.is_ascii_alphanumeric())
}
