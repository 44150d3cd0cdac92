//! Reading `[account.callback_probe]`: the URL, the callback Token and EncodingAESKey (secrets,
//! never echoed), the schedule bounds and the message probe's mode.

use std::time::Duration;

use secrecy::ExposeSecret;
use url::Url;

use super::super::{AesKey, CallbackProbeConfig, MessageMode};
use super::{Section, Validator};

/// Shortest probe interval: a probe a second is plenty even for tests.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Longest interval: beyond an hour the probe is no faster than the datacube report.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
const MIN_TIMEOUT: Duration = Duration::from_millis(100);
/// WeChat waits 5 s; a longer timeout would pass servers WeChat gives up on, so 30 s is the cap
/// for diagnosing slow servers only.
const MAX_TIMEOUT: Duration = Duration::from_secs(30);

impl Validator<'_> {
    /// `Some(Some(probe))` when valid, `None` after reporting a problem (the account is invalid).
    pub(super) fn callback_probe(&mut self, mut s: Section) -> Option<Option<CallbackProbeConfig>> {
        let before = self.errors.len();
        let url = match self.string(&mut s, "url") {
            None => {
                self.error(
                    s.key("url"),
                    "missing",
                    "add url = \"https://...\" (the callback URL set in the MP console)",
                );
                None
            }
            Some(text) => match Url::parse(&text) {
                Ok(url)
                    if matches!(url.scheme(), "http" | "https")
                        && url.host().is_some()
                        && url.fragment().is_none() =>
                {
                    Some(url)
                }
                _ => {
                    self.error(
                        s.key("url"),
                        format!("{text:?} is not an http(s) URL"),
                        "use the callback URL as set in the MP console, e.g. \"https://example.com/wechat/callback\"",
                    );
                    None
                }
            },
        };
        let token = self.secret_key(&mut s, "token", "the callback Token");
        match &token {
            None if !self.errors.iter().any(|e| e.key.starts_with(&s.key("token"))) => self.error(
                s.key("token"),
                "missing",
                "set token = \"${ENV_VAR}\" or token_file to the callback Token of the MP console",
            ),
            Some(t) if !valid_token(t.expose_secret()) => self.error(
                s.key("token"),
                "not a callback Token (WeChat allows 3 to 32 letters and digits)",
                "copy the Token from the MP console (Settings > Basic configuration > Server configuration)",
            ),
            _ => {}
        }
        let interval = self.bounded(&mut s, "interval", MIN_INTERVAL, MAX_INTERVAL);
        let timeout = self.bounded(&mut s, "timeout", MIN_TIMEOUT, MAX_TIMEOUT);
        let interval = interval.unwrap_or(Duration::from_secs(60));
        let timeout = timeout.unwrap_or(Duration::from_secs(5));
        if timeout > interval {
            self.error(
                s.key("timeout"),
                "longer than the interval",
                "use a timeout no longer than the interval",
            );
        }
        let aes_key = self.secret_key(&mut s, "encoding_aes_key", "the EncodingAESKey");
        // Parsed here once: the probe encrypts with this key.
        let aes_key = aes_key.map(|key| AesKey::parse(key.expose_secret()).ok_or(()));
        if let Some(Err(())) = aes_key {
            self.error(
                s.key("encoding_aes_key"),
                "not an EncodingAESKey (43 base64 characters)",
                "copy the EncodingAESKey from the MP console (Settings > Basic configuration > Server configuration)",
            );
        }
        let message_probe = s
            .boolean(&mut self.errors, "message_probe")
            .unwrap_or(false);
        let default_mode = if aes_key.is_some() {
            MessageMode::Safe
        } else {
            MessageMode::Plain
        };
        let message_mode = s
            .choice(
                &mut self.errors,
                "message_mode",
                "message mode",
                &[("plain", MessageMode::Plain), ("safe", MessageMode::Safe)],
                "use \"plain\" or \"safe\" (as set in the MP console)",
            )
            .unwrap_or(default_mode);
        if message_probe && message_mode == MessageMode::Safe && aes_key.is_none() {
            let key = s.key("encoding_aes_key");
            if !self.errors.iter().any(|e| e.key.starts_with(&key)) {
                self.error(
                    key,
                    "missing: the message probe in safe mode encrypts with it",
                    "set encoding_aes_key = \"${ENV_VAR}\" or encoding_aes_key_file, or message_mode = \"plain\"",
                );
            }
        }
        self.unknown(s, "callback_probe");
        if self.errors.len() > before {
            return None;
        }
        Some(Some(CallbackProbeConfig {
            url: url?,
            token: token?,
            interval,
            timeout,
            encoding_aes_key: aes_key.and_then(Result::ok),
            message_probe,
            message_mode,
        }))
    }

    fn bounded(
        &mut self,
        s: &mut Section,
        key: &str,
        min: Duration,
        max: Duration,
    ) -> Option<Duration> {
        let d = self.duration(s, key, min)?;
        if d > max {
            self.error(
                s.key(key),
                format!("{} is too long", humantime::format_duration(d)),
                format!("use at most {}", humantime::format_duration(max)),
            );
            return None;
        }
        Some(d)
    }
}

/// WeChat's rule for the callback Token: 3 to 32 letters and digits.
fn valid_token(token: &str) -> bool {
    (3..=32).contains(&token.len()) && token.chars().all(|c| c.is_ascii_alphanumeric())
}
