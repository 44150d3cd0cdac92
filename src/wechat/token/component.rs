//! Third-party platform (开放平台 "component") tokens: the platform's `component_access_token`, from
//! its AppSecret and the `component_verify_ticket` WeChat pushes to the platform's own server, and
//! each authorised account's `authorizer_access_token`, from its `authorizer_refresh_token`. WeChat
//! may hand back a new refresh token; it is persisted at once (temp file, fsync, rename, mode 0600),
//! because the old one stops working (docs/datacube-api.md, "Third-party platform tokens").
//!
//! Both tokens live in ordinary [`TokenCache`]s: one cache of the component token shared by every
//! account of the platform (with a failure hold, so a wrong ticket is asked about once, not once
//! per account), and one cache of the authorizer token per account.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::{
    Fetched, TokenCache, TokenSource, redact_url, token_field_from_json, transport_message,
};
use crate::clock::SharedClock;
use crate::wechat::error::{Error, ErrorClass};
use crate::wechat::transport::{self, CallObserver, Failure, Http, api_url};

/// WeChat's ticket lives 12 h; the last good one is used that long when its source fails.
const TICKET_LIFETIME: SignedDuration = SignedDuration::from_hours(12);
/// The token API that issues the platform's own token.
pub const COMPONENT_TOKEN_API: &str = "api_component_token";
/// The token API that issues an authorised account's token.
pub const AUTHORIZER_TOKEN_API: &str = "api_authorizer_token";
/// The platform API that lists the authorised accounts.
pub const AUTHORIZER_LIST_API: &str = "api_get_authorizer_list";
/// The most accounts one page of `api_get_authorizer_list` may ask for.
const LIST_PAGE: usize = 500;

/// Where the platform's current `component_verify_ticket` is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketSource {
    /// A file the platform's ticket receiver rewrites (the bare ticket, or JSON with
    /// `component_verify_ticket`).
    File(PathBuf),
    /// A service of the platform answering the same.
    Url(Url),
}

/// A third-party platform: what `api_component_token` needs. One per platform, shared.
pub struct Platform {
    appid: String,
    secret: SecretString,
    ticket: TicketSource,
    clock: SharedClock,
    /// The last ticket read, and when: used for 12 h when the source cannot be read.
    last_good: Mutex<Option<(SecretString, Timestamp)>>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("component_appid", &self.appid)
            .field("ticket", &self.ticket_kind())
            .finish()
    }
}

impl Platform {
    /// The platform `appid` with its AppSecret and ticket source.
    pub fn new(
        appid: String,
        secret: SecretString,
        ticket: TicketSource,
        clock: SharedClock,
    ) -> Self {
        Self {
            appid,
            secret,
            ticket,
            clock,
            last_good: Mutex::new(None),
        }
    }

    /// The platform's `component_appid`.
    pub fn appid(&self) -> &str {
        &self.appid
    }

    fn ticket_kind(&self) -> &'static str {
        match self.ticket {
            TicketSource::File(_) => "file",
            TicketSource::Url(_) => "url",
        }
    }

    fn lock_last_good(&self) -> MutexGuard<'_, Option<(SecretString, Timestamp)>> {
        self.last_good.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current ticket; the last good one (if under 12 h old) when the source fails.
    async fn ticket(&self, http: &Http) -> Result<SecretString, Error> {
        let read = match &self.ticket {
            TicketSource::File(path) => read_ticket_file(path).await,
            TicketSource::Url(url) => read_ticket_url(http, url).await,
        };
        let now = self.clock.now();
        match read {
            Ok(ticket) => {
                *self.lock_last_good() = Some((ticket.clone(), now));
                Ok(ticket)
            }
            Err(message) => {
                let fail = Error::TokenSource {
                    source_kind: "component_verify_ticket".into(),
                    message,
                };
                let last = self.lock_last_good().clone();
                match last {
                    Some((ticket, read_at)) if now.duration_since(read_at) < TICKET_LIFETIME => {
                        tracing::warn!(component_appid = %self.appid, error = %fail, "cannot read the component_verify_ticket; using the last one read");
                        Ok(ticket)
                    }
                    _ => Err(fail),
                }
            }
        }
    }

    /// `POST /cgi-bin/component/api_component_token`.
    pub(super) async fn fetch(&self, http: &Http, base_url: &Url) -> Result<Fetched, Error> {
        let ticket = self.ticket(http).await?;
        let url = api_url(
            base_url,
            "/cgi-bin/component/api_component_token",
            COMPONENT_TOKEN_API,
        )?;
        let body = component_token_body(&self.appid, &self.secret, &ticket);
        let bytes = http
            .wechat_body(COMPONENT_TOKEN_API, http.post(url).json(&body))
            .await?;
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| transport::invalid_json(COMPONENT_TOKEN_API, e.to_string()))?;
        token_field_from_json(&json, "component_access_token")
            .map_err(|m| transport::invalid_json(COMPONENT_TOKEN_API, m))
    }
}

/// The body of `api_component_token`.
fn component_token_body(appid: &str, secret: &SecretString, ticket: &SecretString) -> Value {
    serde_json::json!({
        "component_appid": appid,
        "component_appsecret": secret.expose_secret(),
        "component_verify_ticket": ticket.expose_secret(),
    })
}

/// The body of `api_authorizer_token`.
fn authorizer_token_body(component_appid: &str, appid: &str, refresh: &SecretString) -> Value {
    serde_json::json!({
        "component_appid": component_appid,
        "authorizer_appid": appid,
        "authorizer_refresh_token": refresh.expose_secret(),
    })
}

/// A ticket as a file or a service holds it: the bare ticket, or JSON with
/// `component_verify_ticket` (or `ticket`). Errors never quote the content.
fn parse_ticket(text: &str) -> Result<SecretString, String> {
    let text = text.trim();
    let ticket = if text.starts_with('{') {
        let json: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        json.get("component_verify_ticket")
            .or_else(|| json.get("ticket"))
            .and_then(Value::as_str)
            .map(str::trim)
            .ok_or("no \"component_verify_ticket\" string in the JSON")?
            .to_string()
    } else {
        text.to_string()
    };
    if ticket.is_empty() {
        return Err("no ticket in it (empty)".into());
    }
    if ticket.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            "expected the bare ticket or a JSON object, found several words or lines".into(),
        );
    }
    Ok(SecretString::from(ticket))
}

async fn read_ticket_file(path: &Path) -> Result<SecretString, String> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    parse_ticket(&text).map_err(|m| format!("{}: {m}", path.display()))
}

async fn read_ticket_url(http: &Http, url: &Url) -> Result<SecretString, String> {
    let shown = redact_url(url);
    let body = http
        .read_body(http.get(url.clone()))
        .await
        .map_err(|f| match f {
            Failure::Transport(e) => format!("{shown}: {}", transport_message(e)),
            Failure::Status(status) => format!("{shown}: HTTP status {status}"),
            Failure::TooLarge => format!("{shown}: {}", transport::too_large()),
        })?;
    parse_ticket(&String::from_utf8_lossy(&body)).map_err(|m| format!("{shown}: {m}"))
}

/// One account in the platform's list of authorisations.
#[derive(Debug, Clone)]
pub struct Listed {
    /// `authorizer_appid`.
    pub appid: String,
    /// Its `refresh_token` (never logged).
    pub refresh_token: SecretString,
}

/// Every account authorised to the platform whose token `component` caches:
/// `POST /cgi-bin/component/api_get_authorizer_list`, 500 a page. The platform's token is asked
/// of the shared cache (a rejected one is fetched again once).
pub async fn list_authorizers(
    component: &TokenCache,
    http: &Http,
    base_url: &Url,
    observer: &dyn CallObserver,
) -> Result<Vec<Listed>, Error> {
    let TokenSource::ComponentToken(platform) = component.source() else {
        return Err(Error::TokenSource {
            source_kind: "component".into(),
            message: "the component cache does not hold a platform's token".into(),
        });
    };
    let mut listed: Vec<Listed> = Vec::new();
    let mut offset = 0usize;
    let mut retried = false;
    loop {
        let token = component.get_direct_for(observer).await?;
        let mut url = api_url(
            base_url,
            "/cgi-bin/component/api_get_authorizer_list",
            AUTHORIZER_LIST_API,
        )?;
        url.query_pairs_mut()
            .append_pair("component_access_token", token.value.expose_secret());
        let body = serde_json::json!({
            "component_appid": platform.appid,
            "offset": offset,
            "count": LIST_PAGE,
        });
        let bytes = match http
            .wechat_body(AUTHORIZER_LIST_API, http.post(url).json(&body))
            .await
        {
            Ok(bytes) => bytes,
            Err(e) if e.class() == ErrorClass::Token && !retried => {
                retried = true;
                component.invalidate(&token);
                continue;
            }
            Err(e) => return Err(e),
        };
        let page: Value = serde_json::from_slice(&bytes)
            .map_err(|e| transport::invalid_json(AUTHORIZER_LIST_API, e.to_string()))?;
        let total = page.get("total_count").and_then(Value::as_u64).unwrap_or(0) as usize;
        let items = page
            .get("list")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        offset += items.len();
        for item in &items {
            let appid = item.get("authorizer_appid").and_then(Value::as_str);
            let refresh = item.get("refresh_token").and_then(Value::as_str);
            if let (Some(appid), Some(refresh)) = (appid, refresh)
                && !appid.is_empty()
                && !refresh.is_empty()
            {
                listed.push(Listed {
                    appid: appid.to_string(),
                    refresh_token: SecretString::from(refresh.to_string()),
                });
            }
        }
        // An empty page ends the list whatever total_count says (no endless loop on a bad total).
        if items.is_empty() || offset >= total {
            return Ok(listed);
        }
    }
}

/// One account authorised to a platform: what `api_authorizer_token` needs.
pub struct Authorizer {
    appid: String,
    platform: Arc<Platform>,
    /// The platform's token cache, shared with every other account of the platform.
    component: Arc<TokenCache>,
    refresh: RefreshToken,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("authorizer_appid", &self.appid)
            .field("component_appid", &self.platform.appid)
            .finish()
    }
}

impl Authorizer {
    /// Account `appid` of the platform whose token `component` caches (its source must be
    /// `TokenSource::ComponentToken`; anything else is refused here).
    pub fn new(
        appid: String,
        component: Arc<TokenCache>,
        refresh: RefreshToken,
    ) -> Result<Self, String> {
        let super::TokenSource::ComponentToken(platform) = component.source() else {
            return Err("the component cache does not hold a platform's token".into());
        };
        Ok(Self {
            appid,
            platform: platform.clone(),
            component,
            refresh,
        })
    }

    /// The refresh token in use now (tests; never logged).
    pub fn refresh_token(&self) -> SecretString {
        self.refresh.current()
    }

    /// `POST /cgi-bin/component/api_authorizer_token`: a component token rejected there is
    /// fetched again once; a persisted refresh token that WeChat calls invalid (61023) gives way
    /// to the configured one once (the account was authorised again and the config updated).
    pub(super) async fn fetch(
        &self,
        http: &Http,
        base_url: &Url,
        observer: &dyn CallObserver,
    ) -> Result<Fetched, Error> {
        let mut component_retried = false;
        let mut fell_back = false;
        loop {
            let component = self.component.get_direct_for(observer).await?;
            let refresh = self.refresh.current();
            let mut url = api_url(
                base_url,
                "/cgi-bin/component/api_authorizer_token",
                AUTHORIZER_TOKEN_API,
            )?;
            url.query_pairs_mut()
                .append_pair("component_access_token", component.value.expose_secret());
            let body = authorizer_token_body(&self.platform.appid, &self.appid, &refresh);
            let answer = http
                .wechat_body(AUTHORIZER_TOKEN_API, http.post(url).json(&body))
                .await;
            match answer {
                Ok(bytes) => return self.read_answer(&bytes, &refresh, fell_back),
                Err(e) if e.class() == ErrorClass::Token && !component_retried => {
                    component_retried = true;
                    self.component.invalidate(&component);
                }
                Err(e) if e.errcode() == Some(61023) && !fell_back && self.refresh.fall_back() => {
                    fell_back = true;
                    tracing::warn!(
                        authorizer_appid = %self.appid,
                        "the persisted authorizer_refresh_token was refused (61023); trying the configured one"
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn read_answer(
        &self,
        bytes: &[u8],
        sent: &SecretString,
        fell_back: bool,
    ) -> Result<Fetched, Error> {
        let json: Value = serde_json::from_slice(bytes)
            .map_err(|e| transport::invalid_json(AUTHORIZER_TOKEN_API, e.to_string()))?;
        let fetched = token_field_from_json(&json, "authorizer_access_token")
            .map_err(|m| transport::invalid_json(AUTHORIZER_TOKEN_API, m))?;
        let returned = json
            .get("authorizer_refresh_token")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty());
        match returned {
            Some(new) if new != sent.expose_secret() => {
                tracing::info!(authorizer_appid = %self.appid, "WeChat rotated the authorizer_refresh_token");
                self.refresh.replace(new.to_string());
            }
            // The configured token worked after the persisted one was refused: persist it, so
            // the next start does not try the dead one first.
            _ if fell_back => self.refresh.replace(sent.expose_secret().to_string()),
            _ => {}
        }
        Ok(fetched)
    }
}

/// An account's `authorizer_refresh_token`: the one in use, the configured one, and the file each
/// new one is written to at once (`None`: kept in memory only).
pub struct RefreshToken {
    configured: SecretString,
    current: Mutex<SecretString>,
    persist_to: Option<PathBuf>,
}

impl RefreshToken {
    /// Starts from the token persisted at `persist_to` when the file holds one (it is newer than
    /// any config), else from `configured`.
    pub fn load(configured: SecretString, persist_to: Option<PathBuf>) -> Self {
        let persisted = persist_to.as_deref().and_then(|path| {
            match std::fs::read_to_string(path) {
                Ok(text) if !text.trim().is_empty() => {
                    Some(SecretString::from(text.trim().to_string()))
                }
                Ok(_) => None,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot read the persisted authorizer_refresh_token; using the configured one");
                    None
                }
            }
        });
        Self {
            current: Mutex::new(persisted.unwrap_or_else(|| configured.clone())),
            configured,
            persist_to,
        }
    }

    fn lock(&self) -> MutexGuard<'_, SecretString> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token to send now.
    pub fn current(&self) -> SecretString {
        self.lock().clone()
    }

    /// Goes back to the configured token; false when it is the one in use already.
    fn fall_back(&self) -> bool {
        let mut current = self.lock();
        if current.expose_secret() == self.configured.expose_secret() {
            return false;
        }
        *current = self.configured.clone();
        true
    }

    /// Uses `new` from now on and writes it to the persist file at once.
    fn replace(&self, new: String) {
        *self.lock() = SecretString::from(new.clone());
        match &self.persist_to {
            Some(path) => match write_secret_file(path, new.as_bytes()) {
                Ok(()) => {
                    tracing::info!(file = %path.display(), "persisted the new authorizer_refresh_token")
                }
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "cannot persist the new authorizer_refresh_token; it is kept in memory and lost on a restart")
                }
            },
            None => tracing::warn!(
                "the new authorizer_refresh_token is kept in memory only and lost on a restart (set --storage.path or authorizer_refresh_token_file)"
            ),
        }
    }
}

/// Replaces `path` with `bytes` atomically and readable by the owner only: a temp file (mode 0600)
/// beside it, fsync, rename over it, fsync of the directory. A crash leaves the old file or the
/// new one, never a mix; the directory is created if needed.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
