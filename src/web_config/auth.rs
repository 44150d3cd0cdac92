//! `basic_auth_users`: HTTP basic auth against bcrypt hashes, as the toolkit does it.
//!
//! bcrypt is slow on purpose (tens of ms at cost 10), so a successful check is cached. The cache
//! holds SHA-256 digests of (per-process salt, user, password), never the password itself.
//! Passwords and hashes are never logged.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use anyhow::bail;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

/// Successful checks kept before the cache is emptied (each valid pair takes one slot, so this
/// only fills up if passwords keep changing).
const CACHE_LIMIT: usize = 1024;

pub(super) struct BasicAuth {
    /// User name -> bcrypt hash.
    users: BTreeMap<String, SecretString>,
    /// Hash checked when the user is unknown, so unknown and known users take the same time.
    decoy: SecretString,
    salt: [u8; 32],
    cache: Mutex<HashSet<[u8; 32]>>,
    /// Bounds CPU spent on bcrypt at once; excess requests wait their turn.
    bcrypt_slots: Semaphore,
}

impl BasicAuth {
    pub(super) fn new(users: BTreeMap<String, SecretString>) -> anyhow::Result<BasicAuth> {
        for (user, hash) in &users {
            if user.is_empty() {
                bail!("empty user name");
            }
            if user.contains(':') {
                bail!("user {user:?}: a ':' cannot be sent in basic auth");
            }
            // Checked now so a typo fails at start instead of locking the user out silently.
            if bcrypt::HashParts::from_str(hash.expose_secret()).is_err() {
                bail!(
                    "user {user:?}: the password is not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                );
            }
        }
        let Some(decoy) = users.values().next().cloned() else {
            bail!("no users");
        };
        let mut salt = [0u8; 32];
        rand::fill(&mut salt);
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(BasicAuth {
            users,
            decoy,
            salt,
            cache: Mutex::new(HashSet::new()),
            bcrypt_slots: Semaphore::new(parallel),
        })
    }

    pub(super) fn users(&self) -> Vec<&str> {
        self.users.keys().map(String::as_str).collect()
    }

    fn cache_key(&self, user: &str, password: &str) -> [u8; 32] {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(&self.salt);
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        ctx.update(&(user.len() as u64).to_be_bytes());
        ctx.update(user.as_bytes());
        ctx.update(&(password.len() as u64).to_be_bytes());
        ctx.update(password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    /// Whether `password` is right for `user`.
    pub(super) async fn check(&self, user: &str, password: String) -> bool {
        let key = self.cache_key(user, &password);
        if self.cache_lock().contains(&key) {
            return true;
        }
        let (known, hash) = match self.users.get(user) {
            Some(hash) => (true, hash.clone()),
            None => (false, self.decoy.clone()),
        };
        let Ok(_slot) = self.bcrypt_slots.acquire().await else {
            return false;
        };
        let matches = tokio::task::spawn_blocking(move || {
            bcrypt::verify(password.as_bytes(), hash.expose_secret()).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let ok = known && matches;
        if ok {
            let mut cache = self.cache_lock();
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key);
        }
        ok
    }

    fn cache_lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    pub(super) fn cached(&self) -> usize {
        self.cache_lock().len()
    }
}

/// The (user, password) of an `Authorization: Basic ...` header, if well formed.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Middleware: 401 with `WWW-Authenticate: Basic` unless the request carries valid credentials.
pub(super) async fn require_basic_auth(
    State(auth): State<Arc<BasicAuth>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some((user, password)) = credentials(request.headers()) {
        if auth.check(&user, password).await {
            return next.run(request).await;
        }
        // Not the name itself: people do type passwords into the user field.
        let known_user = auth.users.contains_key(&user);
        tracing::debug!(known_user, path = %request.uri().path(), "basic auth: wrong user or password");
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"))],
        "Unauthorized\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_with(user: &str, password: &str) -> BasicAuth {
        let hash = bcrypt::hash(password, 4).unwrap();
        BasicAuth::new(BTreeMap::from([(
            user.to_string(),
            SecretString::from(hash),
        )]))
        .unwrap()
    }

    fn basic(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[tokio::test]
    async fn right_password_passes_and_is_cached_wrong_ones_are_not() {
        let auth = auth_with("prom", "s3cret");
        assert!(!auth.check("prom", "wrong".into()).await);
        assert!(!auth.check("nobody", "s3cret".into()).await, "unknown user");
        assert_eq!(auth.cached(), 0, "failures are not cached");
        assert!(auth.check("prom", "s3cret".into()).await);
        assert_eq!(auth.cached(), 1);
        assert!(auth.check("prom", "s3cret".into()).await);
        assert_eq!(auth.cached(), 1, "second success is a cache hit");
    }

    #[tokio::test]
    async fn unknown_user_with_a_known_users_password_fails() {
        // The decoy hash is a real user's: its password must not open other names.
        let auth = auth_with("prom", "s3cret");
        assert!(!auth.check("other", "s3cret".into()).await);
        assert_eq!(auth.cached(), 0);
    }

    #[test]
    fn cache_key_depends_on_both_parts_and_is_not_the_plaintext() {
        let auth = auth_with("u", "p");
        let k = auth.cache_key("ab", "c");
        assert_ne!(k, auth.cache_key("a", "bc"));
        assert_ne!(k, auth.cache_key("ab", "d"));
        assert_eq!(k, auth.cache_key("ab", "c"));
        assert!(!k.windows(2).any(|w| w == b"ab"));
    }

    #[test]
    fn parses_basic_credentials() {
        // "prom:pa:ss" -> the password may contain ':'.
        let encoded = base64::engine::general_purpose::STANDARD.encode("prom:pa:ss");
        assert_eq!(
            credentials(&basic(&format!("Basic {encoded}"))),
            Some(("prom".to_string(), "pa:ss".to_string()))
        );
        assert_eq!(
            credentials(&basic(&format!("basic {encoded}"))),
            Some(("prom".to_string(), "pa:ss".to_string()))
        );
        assert_eq!(credentials(&basic(&format!("Bearer {encoded}"))), None);
        assert_eq!(credentials(&basic("Basic !!!notbase64")), None);
        let no_colon = base64::engine::general_purpose::STANDARD.encode("prom");
        assert_eq!(credentials(&basic(&format!("Basic {no_colon}"))), None);
        assert_eq!(credentials(&HeaderMap::new()), None);
    }

    #[test]
    fn rejects_bad_hashes_and_names_without_printing_the_hash() {
        let err = BasicAuth::new(BTreeMap::from([(
            "prom".to_string(),
            SecretString::from("plaintext-password"),
        )]))
        .err()
        .unwrap();
        let msg = format!("{err:#}");
        assert!(msg.contains("\"prom\""), "{msg}");
        assert!(!msg.contains("plaintext-password"), "{msg}");
        let hash = bcrypt::hash("x", 4).unwrap();
        let err = BasicAuth::new(BTreeMap::from([(
            "a:b".to_string(),
            SecretString::from(hash),
        )]))
        .err()
        .unwrap();
        assert!(err.to_string().contains("':'"), "{err}");
    }
}
