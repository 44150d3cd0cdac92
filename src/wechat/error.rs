//! WeChat errcodes, the class each belongs to (what the scheduler does about it), and the client's
//! error type. No error ever carries a URL: WeChat puts the access token in the query string.

use std::fmt;

/// What the scheduler does about an error (docs/wechat-api.md, "Errcodes").
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

/// The class of a WeChat errcode.
pub fn classify(errcode: i64) -> ErrorClass {
    match errcode {
        -1 | 45011 => ErrorClass::Transient,
        40001 | 40014 | 42001 => ErrorClass::Token,
        45009 => ErrorClass::Quota,
        61503 => ErrorClass::NotReady,
        47009 => ErrorClass::Offline,
        48001 | 61007 => ErrorClass::Unauthorized,
        61500 | 61501 | 47001 | 44002 | 43002 | 41001 | 76021 | 76022 => ErrorClass::ClientBug,
        _ => ErrorClass::Permanent,
    }
}

/// What an errcode means and what to do, in words an operator can act on.
pub fn explain(errcode: i64) -> &'static str {
    match errcode {
        -1 => "WeChat system busy; retrying with backoff",
        40001 => {
            "invalid credential: on the token endpoint the app_secret is wrong; on a data endpoint the token was replaced and a fresh one was rejected too (is another party force-refreshing tokens?)"
        }
        40014 => "invalid access token; check the token source",
        42001 => {
            "access token expired and the token source keeps returning it; check the token source"
        }
        40013 => "invalid app_id: check the account's app_id in the config",
        40125 => {
            "invalid app_secret: check the account's app_secret (WeChat console: Settings > Basic configuration)"
        }
        41002 | 41004 => {
            "app_id or app_secret missing from the token request: check the account config"
        }
        40164 => {
            "this host's IP is not in the account's API IP whitelist: add it in the WeChat console"
        }
        40243 => "the AppSecret is frozen: an administrator must unfreeze or reset it",
        45009 => {
            "daily API quota used up: calls stop until the next UTC+8 day (only a human should clear_quota)"
        }
        45011 => "per-minute API limit reached: backing off",
        47009 => {
            "API offline: this legacy endpoint is no longer served; the published-content endpoints carry on"
        }
        48001 => "API unauthorized: the account is not verified or lacks this permission set",
        48004 => "API forbidden for irregularities: the account is banned from this API",
        50001 | 50002 => "user unauthorized or limited: the account is restricted or frozen",
        61007 => "third-party platform lacks the permission set: the merchant must grant it",
        61023 => "refresh_token invalid: the account must re-authorise the third-party platform",
        61500 => "date format error: a bug in this exporter, please report it",
        61501 => {
            "date range error: span too long or end date not before today (UTC+8); a bug or clock skew"
        }
        61503 => "data not ready yet: retrying later",
        47001 | 44002 | 43002 | 41001 => {
            "malformed request: a bug in this exporter, please report it"
        }
        89501 | 89503 | 89504 | 89505 => {
            "the account administrator must confirm API calls from this IP"
        }
        89506 => "the administrator rejected calls from this IP; retry after 24 h",
        89507 => "the administrator rejected calls from this IP; retry after 1 h",
        _ => "unknown errcode: see WeChat's global error code list",
    }
}

/// Everything that can go wrong asking WeChat. Display never includes a URL, token or secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// WeChat answered `{"errcode": N, "errmsg": ...}`.
    #[error("{api}: WeChat errcode {errcode} ({errmsg}): {}", explain(*.errcode))]
    Api {
        api: String,
        errcode: i64,
        errmsg: String,
    },
    /// A non-2xx HTTP status.
    #[error("{api}: HTTP status {status}")]
    Http { api: String, status: u16 },
    /// Connect, timeout or body errors (the URL stripped).
    #[error("{api}: network error: {message}")]
    Transport { api: String, message: String },
    /// The body was not the JSON the endpoint documents.
    #[error("{api}: invalid JSON in the response: {message}")]
    InvalidJson { api: String, message: String },
    /// The configured token source failed (file unreadable, URL service down, ...).
    #[error("token source {source_kind}: {message}")]
    TokenSource {
        source_kind: String,
        message: String,
    },
    /// The request was refused before it was sent (today, over the span, before the earliest date).
    #[error("{api}: request refused: {message}")]
    Request { api: String, message: String },
}

impl Error {
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
        let kind = if err.is_timeout() {
            "timeout"
        } else if err.is_connect() {
            "connection failed"
        } else if err.is_body() || err.is_decode() {
            "reading the body failed"
        } else {
            "request failed"
        };
        let mut message = kind.to_string();
        let mut source = std::error::Error::source(&err);
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
            40013, 40125, 40164, 40243, 48004, 50001, 50002, 61023, 89501, 89506,
        ] {
            assert_eq!(classify(c), ErrorClass::Permanent, "{c}");
        }
        for c in [61500, 61501, 47001] {
            assert_eq!(classify(c), ErrorClass::ClientBug, "{c}");
        }
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
