//! Access tokens as WeChat issues them: stable tokens shared while valid and rotated in their last
//! 300 s, force refresh, classic tokens with a 5-minute overlap, third-party authorizer tokens
//! (rotated like classic ones, per account), expiry by the injected clock, and revocation.

use std::collections::HashMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rand::Rng as _;

/// How long before expiry a stable token is rotated, and how long a replaced classic token lives on.
const OVERLAP: SignedDuration = SignedDuration::from_secs(300);
/// Issued tokens kept before expired ones are pruned.
const MAX_REMEMBERED: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Stable,
    Classic,
    Authorizer,
}

#[derive(Debug, Clone)]
struct Issued {
    app_id: String,
    kind: TokenKind,
    expires_at: Timestamp,
    revoked: bool,
}

/// Why a token was refused on a data endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// 40001: unknown, replaced or revoked.
    Invalid,
    /// 42001: past its lifetime.
    Expired,
}

impl TokenError {
    pub(crate) fn errcode(self) -> i64 {
        match self {
            TokenError::Invalid => 40001,
            TokenError::Expired => 42001,
        }
    }
}

/// Every token issued so far.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: HashMap<String, Issued>,
    /// The current stable token per account.
    stable: HashMap<String, String>,
    /// The latest classic token per account, and the one before it.
    classic: HashMap<String, (String, Option<String>)>,
    /// The same for authorizer tokens (`api_authorizer_token`).
    authorizer: HashMap<String, (String, Option<String>)>,
}

pub(crate) fn new_token() -> String {
    // Real tokens are ~150 characters of [0-9A-Za-z_-] starting with a version number.
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";
    let mut r = rand::rng();
    let body: String = (0..136)
        .map(|_| ALPHABET[r.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("93_{body}")
}

fn ttl(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::from_secs(7200))
}

fn seconds_left(expires_at: Timestamp, now: Timestamp) -> u64 {
    expires_at.duration_since(now).as_secs().max(0) as u64
}

impl Tokens {
    fn issue(
        &mut self,
        app_id: &str,
        kind: TokenKind,
        now: Timestamp,
        lifetime: Duration,
    ) -> String {
        // Load tests can fetch many classic tokens: forget those dead for a day (a presented
        // forgotten token gets 40001 instead of 42001, which no client can tell apart usefully).
        if self.issued.len() >= MAX_REMEMBERED {
            self.prune(now);
        }
        let token = new_token();
        self.issued.insert(
            token.clone(),
            Issued {
                app_id: app_id.to_string(),
                kind,
                expires_at: now.saturating_add(ttl(lifetime)).unwrap_or(now),
                revoked: false,
            },
        );
        token
    }

    fn prune(&mut self, now: Timestamp) {
        let horizon = now
            .saturating_sub(SignedDuration::from_hours(24))
            .unwrap_or(now);
        self.issued.retain(|_, t| t.expires_at > horizon);
    }

    fn usable(&self, token: &str, now: Timestamp) -> Option<&Issued> {
        self.issued
            .get(token)
            .filter(|t| !t.revoked && now < t.expires_at)
    }

    /// `/cgi-bin/stable_token`: (token, expires_in seconds).
    pub(crate) fn stable(
        &mut self,
        app_id: &str,
        force_refresh: bool,
        now: Timestamp,
        lifetime: Duration,
    ) -> (String, u64) {
        if force_refresh {
            // The previous stable tokens stop working at once.
            for t in self.issued.values_mut() {
                if t.app_id == app_id && t.kind == TokenKind::Stable {
                    t.revoked = true;
                }
            }
        } else if let Some(current) = self.stable.get(app_id)
            && let Some(t) = self.usable(current, now)
            && t.expires_at.duration_since(now) > OVERLAP
        {
            return (current.clone(), seconds_left(t.expires_at, now));
        }
        // None yet, expired, revoked, in its last 300 s (the old one stays valid until it
        // expires), or force-refreshed.
        let token = self.issue(app_id, TokenKind::Stable, now, lifetime);
        self.stable.insert(app_id.to_string(), token.clone());
        (token, lifetime.as_secs())
    }

    /// `/cgi-bin/token`: always a new token; the previous one lives on for at most 5 minutes and
    /// any older one dies.
    pub(crate) fn classic(
        &mut self,
        app_id: &str,
        now: Timestamp,
        lifetime: Duration,
    ) -> (String, u64) {
        self.replace(TokenKind::Classic, app_id, now, lifetime)
    }

    /// `/cgi-bin/component/api_authorizer_token`: a new token each time, like classic ones (an
    /// authorizer token and a classic one of the same account do not affect each other).
    pub(crate) fn authorizer(
        &mut self,
        app_id: &str,
        now: Timestamp,
        lifetime: Duration,
    ) -> (String, u64) {
        self.replace(TokenKind::Authorizer, app_id, now, lifetime)
    }

    fn replace(
        &mut self,
        kind: TokenKind,
        app_id: &str,
        now: Timestamp,
        lifetime: Duration,
    ) -> (String, u64) {
        let chain = match kind {
            TokenKind::Authorizer => &self.authorizer,
            _ => &self.classic,
        };
        // Every earlier call already capped or revoked everything older than its predecessor, so
        // only the latest two tokens need touching.
        if let Some((latest, before)) = chain.get(app_id).cloned() {
            if let Some(t) = before.and_then(|b| self.issued.get_mut(&b)) {
                t.revoked = true;
            }
            if let Some(t) = self.issued.get_mut(&latest) {
                let cap = now.saturating_add(OVERLAP).unwrap_or(now);
                t.expires_at = t.expires_at.min(cap);
            }
        }
        let token = self.issue(app_id, kind, now, lifetime);
        let chain = match kind {
            TokenKind::Authorizer => &mut self.authorizer,
            _ => &mut self.classic,
        };
        let previous = chain.get(app_id).map(|(latest, _)| latest.clone());
        chain.insert(app_id.to_string(), (token.clone(), previous));
        (token, lifetime.as_secs())
    }

    /// The account a token belongs to, if it was ever issued (for counting calls).
    pub(crate) fn owner(&self, token: &str) -> Option<&str> {
        self.issued.get(token).map(|t| t.app_id.as_str())
    }

    /// Checks a token presented to a data endpoint; Ok(app_id).
    pub(crate) fn check(&self, token: &str, now: Timestamp) -> Result<String, TokenError> {
        match self.issued.get(token) {
            None => Err(TokenError::Invalid),
            Some(t) if t.revoked => Err(TokenError::Invalid),
            Some(t) if now >= t.expires_at => Err(TokenError::Expired),
            Some(t) => Ok(t.app_id.clone()),
        }
    }

    /// Every issued token stops working; the next token call issues new ones.
    /// Every token still remembered (tests check none of them leaks).
    pub(crate) fn all(&self) -> Vec<String> {
        self.issued.keys().cloned().collect()
    }

    pub(crate) fn revoke_all(&mut self) {
        for t in self.issued.values_mut() {
            t.revoked = true;
        }
        self.stable.clear();
        self.classic.clear();
        self.authorizer.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s as i64).unwrap()
    }

    const TTL: Duration = Duration::from_secs(7200);

    #[test]
    fn stable_is_shared_then_rotated_with_overlap() {
        let mut t = Tokens::default();
        let (a, exp) = t.stable("wx1", false, at(0), TTL);
        assert_eq!(exp, 7200);
        assert!(a.starts_with("93_") && a.len() > 100);
        let (same, exp) = t.stable("wx1", false, at(1000), TTL);
        assert_eq!((same.as_str(), exp), (a.as_str(), 6200));
        // In the last 300 s a new token comes out and the old one stays valid.
        let (b, exp) = t.stable("wx1", false, at(6950), TTL);
        assert_ne!(a, b);
        assert_eq!(exp, 7200);
        assert_eq!(t.check(&a, at(6960)), Ok("wx1".to_string()));
        assert_eq!(t.check(&b, at(6960)), Ok("wx1".to_string()));
        assert_eq!(t.check(&a, at(7200)), Err(TokenError::Expired));
        // Another account is unaffected.
        let (c, _) = t.stable("wx2", false, at(6960), TTL);
        assert_ne!(c, b);
    }

    #[test]
    fn force_refresh_invalidates_previous_stable_tokens() {
        let mut t = Tokens::default();
        let (a, _) = t.stable("wx1", false, at(0), TTL);
        let (b, _) = t.stable("wx1", true, at(10), TTL);
        assert_ne!(a, b);
        assert_eq!(t.check(&a, at(11)), Err(TokenError::Invalid));
        assert_eq!(t.check(&b, at(11)), Ok("wx1".to_string()));
        assert_eq!(t.stable("wx1", false, at(12), TTL).0, b);
    }

    #[test]
    fn classic_keeps_only_the_previous_token_for_five_minutes() {
        let mut t = Tokens::default();
        let (a, _) = t.classic("wx1", at(0), TTL);
        let (b, _) = t.classic("wx1", at(100), TTL);
        assert_eq!(t.check(&a, at(399)), Ok("wx1".to_string()));
        assert_eq!(t.check(&a, at(400)), Err(TokenError::Expired));
        let (_c, _) = t.classic("wx1", at(200), TTL);
        assert_eq!(t.check(&a, at(201)), Err(TokenError::Invalid));
        assert_eq!(t.check(&b, at(201)), Ok("wx1".to_string()));
        // Authorizer tokens rotate on their own chain.
        let (x, _) = t.authorizer("wx1", at(202), TTL);
        assert_eq!(t.check(&b, at(203)), Ok("wx1".to_string()));
        t.authorizer("wx1", at(204), TTL);
        t.authorizer("wx1", at(205), TTL);
        assert_eq!(t.check(&x, at(206)), Err(TokenError::Invalid));
        // Classic and stable tokens are independent.
        let (s, _) = t.stable("wx1", false, at(300), TTL);
        t.classic("wx1", at(301), TTL);
        assert_eq!(t.check(&s, at(302)), Ok("wx1".to_string()));
    }

    #[test]
    fn tokens_dead_for_a_day_are_forgotten() {
        let mut t = Tokens::default();
        let (old, _) = t.classic("wx1", at(0), TTL);
        let (young, _) = t.stable("wx1", false, at(90_000), TTL);
        t.prune(at(7200 + 86_401));
        assert_eq!(t.owner(&old), None);
        assert_eq!(t.check(&young, at(90_001)), Ok("wx1".to_string()));
    }

    #[test]
    fn revocation_and_unknown_tokens() {
        let mut t = Tokens::default();
        let (a, _) = t.stable("wx1", false, at(0), TTL);
        assert_eq!(t.check("nope", at(1)), Err(TokenError::Invalid));
        t.revoke_all();
        assert_eq!(t.check(&a, at(1)), Err(TokenError::Invalid));
        assert_eq!(t.owner(&a), Some("wx1"));
        let (b, _) = t.stable("wx1", false, at(2), TTL);
        assert_ne!(a, b);
        assert_eq!(t.check(&b, at(3)), Ok("wx1".to_string()));
    }
}
