//! WeChat errcodes, the class each belongs to (what the scheduler does about it), and the client's
//! error type. No error ever carries a URL: WeChat puts the access token in the query string.

use std::fmt;

/// What the scheduler does about an error (docs/datacube-api.md, "Errcodes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Busy, per-minute limit, network, 5xx: retry with jittered backoff.
    Transient,
    /// The access token was rejected (40001/40014/42001) even after one refetch and one retry.
    Token,
    /// 45009: the daily quota of this API is used up; stop until the next UTC+8 day.
    Quota,
    /// 61503 (or `is_delay`): the day is not computed yet.
    NotReady,
    /// 47009: the endpoint is offline for good.
    Offline,
    /// 48001 / 61007: the account may not call this API.
    Unauthorized,
    /// Configuration, credentials, IP whitelist, frozen or banned account: an operator must act.
    Permanent,
    /// 61500 / 61501 / 47001 ...: this exporter sent a bad request.
    ClientBug,
}

impl ErrorClass {
    /// The class as logs and the landing page name it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Token => "token",
            ErrorClass::Quota => "quota",
            ErrorClass::NotReady => "not_ready",
            ErrorClass::Offline => "offline",
            ErrorClass::Unauthorized => "unauthorized",
            ErrorClass::Permanent => "permanent",
            ErrorClass::ClientBug => "client_bug",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One errcode the exporter knows: its class, the errmsg WeChat usually sends with it, and what
/// an operator should do (docs/datacube-api.md, "Errcodes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errcode {
    /// WeChat's `errcode`.
    pub code: i64,
    /// What the scheduler does about it.
    pub class: ErrorClass,
    /// The `errmsg` WeChat sends (before the request id); empty where none was recorded.
    pub errmsg: &'static str,
    /// What it means and what to do, in words an operator can act on.
    pub advice: &'static str,
}

/// Advice shared by the request-format errcodes.
const MALFORMED: &str = "malformed request: a bug in this exporter, please report it";
/// Advice shared by the API-security confirmation errcodes.
const CONFIRM_IP: &str = "the account administrator must confirm API calls from this IP";

macro_rules! errcodes {
    ($($code:literal $class:ident $errmsg:literal $advice:expr;)+) => {
        /// Every errcode the exporter acts on; `classify`, `explain` and the simulator read it.
        pub const ERRCODES: &[Errcode] = &[$(Errcode {
            code: $code,
            class: ErrorClass::$class,
            errmsg: $errmsg,
            advice: $advice,
        },)+];
    };
}

#[rustfmt::skip]
errcodes! {
    -1    Transient    "system error"
        "WeChat system busy; retrying with backoff";
    40001 Token        "invalid credential, access_token is invalid or not latest"
        "invalid credential: on the token endpoint the app_secret is wrong; on a data endpoint the token was replaced and a fresh one was rejected too (is another party force-refreshing tokens?)";
    40014 Token        "invalid access token"
        "invalid access token; check the token source";
    42001 Token        "access_token expired"
        "access token expired and the token source keeps returning it; check the token source";
    40013 Permanent    "invalid appid"
        "invalid app_id: check the account's app_id in the config";
    40125 Permanent    "invalid appsecret"
        "invalid AppSecret: check the account's app_secret (WeChat console: Settings > Basic configuration), or on api_component_token the platform's component_appsecret";
    41002 Permanent    "appid missing"
        "app_id or app_secret missing from the token request: check the account config";
    41004 Permanent    "appsecret missing"
        "app_id or app_secret missing from the token request: check the account config";
    40164 Permanent    ""
        "this host's IP is not in the account's API IP whitelist: add it in the WeChat console";
    40243 Permanent    ""
        "the AppSecret is frozen: an administrator must unfreeze or reset it";
    45009 Quota        "reach max api daily quota limit"
        "daily API quota used up: calls stop until the next UTC+8 day (only a human should clear_quota)";
    45011 Transient    "api minute-quota reach limit  mustslower  retry next minute"
        "per-minute API limit reached: backing off";
    47009 Offline      "api offline"
        "API offline: this legacy endpoint is no longer served; the published-content endpoints carry on";
    48001 Unauthorized "api unauthorized"
        "API unauthorized: the account is not verified or lacks this permission set";
    48004 Permanent    ""
        "API forbidden for irregularities: the account is banned from this API";
    50001 Permanent    ""
        "user unauthorized or limited: the account is restricted or frozen";
    50002 Permanent    ""
        "user unauthorized or limited: the account is restricted or frozen";
    61007 Unauthorized ""
        "third-party platform lacks the permission set: the merchant must grant it";
    61023 Permanent    "refresh_token is invalid"
        "authorizer_refresh_token invalid: the account must re-authorise the third-party platform, then put the new refresh token in authorizer_refresh_token";
    61003 Permanent    "component is not authorized by this account"
        "the account has not authorised the third-party platform (or withdrew it): it must authorise the platform again";
    61004 Permanent    "access clientip is not registered"
        "this host's IP is not registered on the third-party platform: add it to the platform's IP whitelist (open platform console)";
    61005 Permanent    "component ticket is expired"
        "component_verify_ticket expired (a ticket lives 12 h): check that the platform's server still receives WeChat's ticket pushes and updates the ticket source";
    61006 Permanent    "component ticket is invalid"
        "component_verify_ticket invalid: the ticket source holds a wrong ticket or one of another platform; point component_verify_ticket at the ticket WeChat pushes";
    61011 Permanent    "invalid component"
        "invalid component_appid: check component_appid of the [[component]]";
    61500 ClientBug    "date format error"
        "date format error: a bug in this exporter, please report it";
    61501 ClientBug    "date range error"
        "date range error: span too long or end date not before today (UTC+8); a bug or clock skew";
    61503 NotReady     "data not ready, please try later"
        "data not ready yet: retrying later";
    47001 ClientBug    "data format error"      MALFORMED;
    44002 ClientBug    ""                       MALFORMED;
    43002 ClientBug    "require POST method"    MALFORMED;
    41001 ClientBug    "access_token missing"   MALFORMED;
    76021 ClientBug    "cgi_path not found"
        "getApiQuota does not know this cgi_path: a bug in this exporter, please report it";
    76022 ClientBug    "could not use this cgi_path, no permission"
        "getApiQuota refused this cgi_path for this token (the quota of an API is read with a token of the account that owns it): a bug in this exporter, please report it";
    89501 Permanent    ""                       CONFIRM_IP;
    89503 Permanent    ""                       CONFIRM_IP;
    89504 Permanent    ""                       CONFIRM_IP;
    89505 Permanent    ""                       CONFIRM_IP;
    89506 Permanent    ""
        "the administrator rejected calls from this IP; retry after 24 h";
    89507 Permanent    ""
        "the administrator rejected calls from this IP; retry after 1 h";
    40002 Permanent    "invalid grant_type"
        "invalid grant_type in the token request: a bug in this exporter, please report it";
}

/// The table row of `errcode`, if the exporter knows it.
pub fn lookup(errcode: i64) -> Option<&'static Errcode> {
    ERRCODES.iter().find(|e| e.code == errcode)
}

/// The class of a WeChat errcode; an unknown one is permanent (report it, retry slowly).
pub fn classify(errcode: i64) -> ErrorClass {
    lookup(errcode).map_or(ErrorClass::Permanent, |e| e.class)
}

/// What an errcode means and what to do, in words an operator can act on.
pub fn explain(errcode: i64) -> &'static str {
    lookup(errcode).map_or(
        "unknown errcode: see WeChat's global error code list",
        |e| e.advice,
    )
}

/// Everything that can go wrong asking WeChat. Display never includes a URL, token or secret.
/// Clone: a shared token source hands one failure to every account waiting on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// WeChat answered `{"errcode": N, "errmsg": ...}`.
    #[error("{api}: WeChat errcode {errcode} ({errmsg}): {}", explain(*.errcode))]
    Api {
        /// The endpoint or token API asked.
        api: String,
        /// WeChat's errcode.
        errcode: i64,
        /// WeChat's errmsg (it ends with a request id).
        errmsg: String,
    },
    /// A non-2xx HTTP status.
    #[error("{api}: HTTP status {status}")]
    Http {
        /// The endpoint or token API asked.
        api: String,
        /// The HTTP status.
        status: u16,
    },
    /// Connect, timeout or body errors (the URL stripped).
    #[error("{api}: network error: {message}")]
    Transport {
        /// The endpoint or token API asked.
        api: String,
        /// What failed (without the URL).
        message: String,
    },
    /// The body was not the JSON the endpoint documents.
    #[error("{api}: invalid JSON in the response: {message}")]
    InvalidJson {
        /// The endpoint or token API asked.
        api: String,
        /// The parser's message (never the body, which may hold a token).
        message: String,
    },
    /// The configured token source failed (file unreadable, URL service down, ...).
    #[error("token source {source_kind}: {message}")]
    TokenSource {
        /// `TokenSource::kind()`.
        source_kind: String,
        /// What failed (never the token).
        message: String,
    },
    /// The request was refused before it was sent (today, over the span, before the earliest date).
    #[error("{api}: request refused: {message}")]
    Request {
        /// The endpoint.
        api: String,
        /// Why it was not sent.
        message: String,
    },
}

impl Error {
    /// What the scheduler does about this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Api { errcode, .. } => classify(*errcode),
            Error::Http { status, .. } if *status >= 500 || *status == 429 => ErrorClass::Transient,
            Error::Http { .. } => ErrorClass::Permanent,
            Error::Transport { .. } | Error::InvalidJson { .. } => ErrorClass::Transient,
            Error::TokenSource { .. } => ErrorClass::Token,
            Error::Request { .. } => ErrorClass::ClientBug,
        }
    }

    /// WeChat's errcode, if WeChat answered with one.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            Error::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// The `errcode` label of `wechat_mp_api_requests_total`: the errcode, or a word for errors
    /// that have none.
    pub fn label(&self) -> String {
        match self {
            Error::Api { errcode, .. } => errcode.to_string(),
            Error::Http { status, .. } => format!("http_{status}"),
            Error::Transport { .. } => "network".into(),
            Error::InvalidJson { .. } => "invalid_json".into(),
            Error::TokenSource { .. } => "token_source".into(),
            Error::Request { .. } => "refused".into(),
        }
    }

    /// A transport error from reqwest, with the URL (and so the token) removed.
    pub fn transport(api: &str, err: reqwest::Error) -> Self {
        let err = err.without_url();
        let kind = if err.is_timeout() && err.is_connect() {
            "connect timeout"
        } else if err.is_timeout() {
            "timeout"
        } else if err.is_connect() {
            "connection failed"
        } else if err.is_body() || err.is_decode() {
            "reading the body failed"
        } else {
            "request failed"
        };
        let mut message = kind.to_string();
        // The cause of a connect timeout is whichever timer fired first (hyper's "deadline has
        // elapsed" or the OS's "operation timed out"): it adds nothing, so it is left out.
        let mut source = std::error::Error::source(&err).filter(|_| kind != "connect timeout");
        if kind == "connect timeout" {
            message.push_str(": the server accepted no connection in time");
        }
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Error::Transport {
            api: api.to_string(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_design() {
        assert_eq!(classify(-1), ErrorClass::Transient);
        assert_eq!(classify(45011), ErrorClass::Transient);
        for c in [40001, 40014, 42001] {
            assert_eq!(classify(c), ErrorClass::Token);
        }
        assert_eq!(classify(45009), ErrorClass::Quota);
        assert_eq!(classify(61503), ErrorClass::NotReady);
        assert_eq!(classify(47009), ErrorClass::Offline);
        assert_eq!(classify(48001), ErrorClass::Unauthorized);
        for c in [
            40013, 40125, 40164, 40243, 48004, 50001, 50002, 61004, 61005, 61006, 61011, 61023,
            89501, 89506,
        ] {
            assert_eq!(classify(c), ErrorClass::Permanent, "{c}");
        }
        for c in [61500, 61501, 47001] {
            assert_eq!(classify(c), ErrorClass::ClientBug, "{c}");
        }
    }

    #[test]
    fn the_table_has_each_code_once() {
        let mut codes: Vec<_> = ERRCODES.iter().map(|e| e.code).collect();
        codes.sort();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "an errcode is listed twice");
        assert_eq!(classify(12345), ErrorClass::Permanent);
        assert!(explain(12345).starts_with("unknown errcode"));
        assert_eq!(lookup(45011).unwrap().class, ErrorClass::Transient);
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = Error::Api {
            api: "getusersummary".into(),
            errcode: 40164,
            errmsg: "invalid ip 1.2.3.4".into(),
        };
        let text = e.to_string();
        assert!(
            text.contains("40164") && text.contains("whitelist") && text.contains("1.2.3.4"),
            "{text}"
        );
        assert_eq!(e.label(), "40164");
        assert_eq!(
            Error::Http {
                api: "x".into(),
                status: 502
            }
            .label(),
            "http_502"
        );
        assert_eq!(
            Error::Http {
                api: "x".into(),
                status: 502
            }
            .class(),
            ErrorClass::Transient
        );
    }
}
