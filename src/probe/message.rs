//! The opt-in message probe: a text message signed (plain mode) or encrypted (safe mode) as
//! WeChat sends it, and what counts as an answer to it.

use url::Url;

use super::crypto::AesKey;
use super::signature::{msg_signature, signature};
use crate::config::MessageMode;

/// The `FromUserName` of probe messages: an OpenID no follower has, so a server can ignore it.
pub const PROBE_OPENID: &str = "wechat-mp-exporter-probe";

/// One probe message, ready to send.
pub struct Message<'k> {
    key: Option<&'k AesKey>,
    app_id: String,
    timestamp: String,
    nonce: String,
    msg_id: u64,
}

/// What the server's answer must be.
pub struct Check<'k> {
    key: Option<&'k AesKey>,
    token: String,
}

impl<'k> Message<'k> {
    /// A fresh message (new timestamp, nonce and MsgId). Safe mode without a key falls back to
    /// plain (the config check refuses that combination).
    pub fn new(mode: MessageMode, key: Option<&'k AesKey>, app_id: &str) -> Self {
        Message {
            key: key.filter(|_| mode == MessageMode::Safe),
            app_id: app_id.to_string(),
            timestamp: super::unix_now().to_string(),
            nonce: rand::random::<u32>().to_string(),
            msg_id: rand::random::<u64>() >> 1,
        }
    }

    /// The plain XML WeChat sends for a text message. ToUserName is the account's original ID
    /// (gh_...), which the config does not hold; the AppID stands in.
    pub fn xml(&self) -> String {
        format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{PROBE_OPENID}]]></FromUserName>\
             <CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[wechat-mp-exporter callback probe]]></Content><MsgId>{}</MsgId></xml>",
            self.app_id, self.timestamp, self.msg_id
        )
    }

    /// The POST request and the check of its answer.
    pub fn request(
        &self,
        http: &reqwest::Client,
        url: &Url,
        token: &str,
    ) -> (reqwest::RequestBuilder, Check<'k>) {
        let mut url = url.clone();
        let sig = signature(token, &self.timestamp, &self.nonce);
        url.query_pairs_mut()
            .append_pair("signature", &sig)
            .append_pair("timestamp", &self.timestamp)
            .append_pair("nonce", &self.nonce)
            .append_pair("openid", PROBE_OPENID);
        let body = match self.key {
            None => self.xml(),
            Some(key) => {
                let encrypt = key.encrypt(rand::random(), self.xml().as_bytes(), &self.app_id);
                url.query_pairs_mut()
                    .append_pair("encrypt_type", "aes")
                    .append_pair(
                        "msg_signature",
                        &msg_signature(token, &self.timestamp, &self.nonce, &encrypt),
                    );
                format!(
                    "<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
                    self.app_id
                )
            }
        };
        let request = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(body);
        (
            request,
            Check {
                key: self.key,
                token: token.to_string(),
            },
        )
    }
}

impl Check<'_> {
    /// The check of a plain-mode answer.
    #[cfg(test)]
    pub fn plain() -> Check<'static> {
        Check {
            key: None,
            token: String::new(),
        }
    }

    /// `success`, an empty body, a plain XML reply, or (safe mode) an encrypted reply that
    /// decrypts with the key and carries a valid `MsgSignature`.
    pub fn accepts(&self, body: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(body) else {
            return false;
        };
        let text = text.trim();
        if text.is_empty() || text == "success" {
            return true;
        }
        if !text.starts_with("<xml>") {
            return false;
        }
        let Some(key) = self.key else { return true };
        let (Some(encrypt), Some(sig), Some(ts), Some(nonce)) = (
            field(text, "Encrypt"),
            field(text, "MsgSignature"),
            field(text, "TimeStamp"),
            field(text, "Nonce"),
        ) else {
            return false;
        };
        msg_signature(&self.token, ts, nonce, encrypt) == sig && key.decrypt(encrypt).is_ok()
    }
}

/// The text of `<name>` in a flat WeChat XML body, with or without CDATA.
pub fn field<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    let inner = &xml[start..end];
    Some(
        inner
            .strip_prefix("<![CDATA[")
            .and_then(|s| s.strip_suffix("]]>"))
            .unwrap_or(inner),
    )
}
