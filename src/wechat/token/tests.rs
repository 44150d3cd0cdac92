//! Unit tests of `token`.

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::wechat::error::ErrorClass;
use crate::wechat::fake::{Fake, Recorder};
use crate::wechat::transport::http_client;
use std::time::Duration;

const APP_SECRET: &str = "APP-SECRET-456";

fn clock() -> ManualClock {
    ManualClock::new("2026-11-25T02:00:00Z".parse().unwrap())
}

fn stable() -> TokenSource {
    TokenSource::Stable {
        app_id: "wx-app".into(),
        secret: SecretString::from(APP_SECRET),
    }
}

fn new_cache(source: TokenSource, fake: &Fake, clock: &ManualClock) -> (TokenCache, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let cache = TokenCache::new(
        source,
        http_client(Duration::from_secs(5)),
        fake.base_url(),
        Arc::new(clock.clone()),
        recorder.clone(),
    );
    (cache, recorder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_gets_make_one_fetch() {
    let fake = Fake::start().await;
    fake.set_token_delay(Duration::from_millis(50));
    let clock = clock();
    let (cache, recorder) = new_cache(stable(), &fake, &clock);
    let cache = Arc::new(cache);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get().await })
        })
        .collect();
    for task in tasks {
        let token = task.await.unwrap().unwrap();
        assert_eq!(token.value.expose_secret(), "TOKEN-SECRET-123");
    }
    assert_eq!(fake.stable_token_calls(), 1);
    assert_eq!(
        recorder.token_fetches(),
        vec![("stable".into(), "0".into())]
    );
    let bodies = fake.stable_bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["force_refresh"], Value::Bool(false));
    assert_eq!(bodies[0]["grant_type"], "client_credential");
    assert_eq!(bodies[0]["appid"], "wx-app");
    assert_eq!(bodies[0]["secret"], APP_SECRET);
}

#[tokio::test]
async fn cached_until_300_s_before_expiry() {
    let fake = Fake::start().await;
    let clock = clock();
    let start = clock.now();
    let (cache, _) = new_cache(stable(), &fake, &clock);
    let first = cache.get().await.unwrap();
    // The fake says expires_in 7200: cached for 6900 s.
    assert_eq!(
        first.expires_at,
        start.checked_add(SignedDuration::from_secs(6900)).unwrap()
    );
    clock.advance(SignedDuration::from_secs(6899));
    cache.get().await.unwrap();
    assert_eq!(fake.stable_token_calls(), 1);
    clock.advance(SignedDuration::from_secs(2));
    cache.get().await.unwrap();
    assert_eq!(fake.stable_token_calls(), 2);
    cache.get().await.unwrap();
    assert_eq!(fake.stable_token_calls(), 2);
}

#[tokio::test]
async fn short_lifetimes_are_cached_at_least_60_s() {
    let fake = Fake::start().await;
    fake.set_expires_in(200);
    let clock = clock();
    let start = clock.now();
    let (cache, _) = new_cache(stable(), &fake, &clock);
    let token = cache.get().await.unwrap();
    assert_eq!(
        token.expires_at,
        start.checked_add(SignedDuration::from_secs(60)).unwrap()
    );
}

#[tokio::test]
async fn invalidate_drops_only_the_same_token() {
    let fake = Fake::start().await;
    let clock = clock();
    let (cache, _) = new_cache(stable(), &fake, &clock);
    let old = cache.get().await.unwrap();
    let stranger = AccessToken {
        value: SecretString::from("SOMEONE-ELSE"),
        expires_at: old.expires_at,
    };
    cache.invalidate(&stranger);
    cache.get().await.unwrap();
    assert_eq!(fake.stable_token_calls(), 1, "another token: kept");
    cache.invalidate(&old);
    cache.get().await.unwrap();
    assert_eq!(fake.stable_token_calls(), 2, "the same token: dropped");
    assert!(
        fake.stable_bodies()
            .iter()
            .all(|b| b["force_refresh"] == Value::Bool(false))
    );
}

#[tokio::test]
async fn classic_token_is_a_get_with_the_credentials_in_the_query() {
    let fake = Fake::start().await;
    let clock = clock();
    let source = TokenSource::Classic {
        app_id: "wx-app".into(),
        secret: SecretString::from(APP_SECRET),
    };
    let (cache, recorder) = new_cache(source, &fake, &clock);
    let token = cache.get().await.unwrap();
    assert_eq!(token.value.expose_secret(), "TOKEN-SECRET-123");
    let queries = fake.classic_queries();
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0]["grant_type"], "client_credential");
    assert_eq!(queries[0]["appid"], "wx-app");
    assert_eq!(queries[0]["secret"], APP_SECRET);
    assert_eq!(fake.stable_token_calls(), 0);
    assert_eq!(
        recorder.token_fetches(),
        vec![("classic".into(), "0".into())]
    );
}

#[tokio::test]
async fn token_endpoint_errcodes_become_api_errors() {
    let fake = Fake::start().await;
    fake.set_token_reply(Some(
        serde_json::json!({"errcode": 40125, "errmsg": "invalid appsecret rid: 1-2-3"}),
    ));
    let clock = clock();
    let (cache, recorder) = new_cache(stable(), &fake, &clock);
    let err = cache.get().await.unwrap_err();
    assert!(
        matches!(&err, Error::Api { api, errcode: 40125, .. } if api == "stable_token"),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(
        recorder.token_fetches(),
        vec![("stable".into(), "40125".into())]
    );
    // Failures are not cached: the next call asks again.
    fake.set_token_reply(None);
    cache.get().await.unwrap();
    assert_eq!(fake.stable_token_calls(), 2);
}

#[tokio::test]
async fn file_source_reads_bare_and_json_tokens_and_uses_a_rewrite_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "  FILE-TOKEN-1\n").unwrap();
    let fake = Fake::start().await;
    let clock = clock();
    let (cache, recorder) = new_cache(TokenSource::File(path.clone()), &fake, &clock);
    assert_eq!(
        cache.get().await.unwrap().value.expose_secret(),
        "FILE-TOKEN-1"
    );
    // Unchanged: the same token, not counted as a new read.
    clock.advance(SignedDuration::from_secs(30));
    assert_eq!(
        cache.get().await.unwrap().value.expose_secret(),
        "FILE-TOKEN-1"
    );
    assert_eq!(recorder.token_fetches().len(), 1);
    // Rewritten in place, well within the minute: the next call has the new token.
    std::fs::write(
        &path,
        r#"{"access_token":"FILE-TOKEN-2","expires_in":7200}"#,
    )
    .unwrap();
    let fresh = cache.get().await.unwrap();
    assert_eq!(fresh.value.expose_secret(), "FILE-TOKEN-2");
    assert_eq!(
        fresh.expires_at,
        clock
            .now()
            .checked_add(SignedDuration::from_secs(60))
            .unwrap(),
        "a file's token is trusted for at most 60 s even when expires_in is long"
    );
    // Caught mid-write (truncated, then half the JSON): the last good token, for its 60 s.
    for partial in ["", "{\"access_token\":\"FILE-TOK"] {
        std::fs::write(&path, partial).unwrap();
        assert_eq!(
            cache.get().await.unwrap().value.expose_secret(),
            "FILE-TOKEN-2",
            "{partial:?}"
        );
    }
    clock.advance(SignedDuration::from_secs(61));
    let err = cache.get().await.unwrap_err();
    assert!(
        matches!(&err, Error::TokenSource { source_kind, .. } if source_kind == "file"),
        "{err}"
    );
    // Invalidating re-reads at once.
    std::fs::write(&path, "FILE-TOKEN-3").unwrap();
    let third = cache.get().await.unwrap();
    assert_eq!(third.value.expose_secret(), "FILE-TOKEN-3");
    cache.invalidate(&third);
    std::fs::write(&path, "FILE-TOKEN-4").unwrap();
    assert_eq!(
        cache.get().await.unwrap().value.expose_secret(),
        "FILE-TOKEN-4"
    );
    let codes: Vec<String> = recorder
        .token_fetches()
        .into_iter()
        .map(|(_, code)| code)
        .collect();
    assert_eq!(codes, ["0", "0", "token_source", "0", "0"]);
    assert_eq!(fake.stable_token_calls(), 0);
}

#[tokio::test]
async fn file_source_errors_name_the_file_not_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let fake = Fake::start().await;
    let cases = [
        ("missing", None),
        ("empty", Some("  \n")),
        ("two-lines", Some("FILE-TOKEN-A\nFILE-TOKEN-B")),
        ("bad-json", Some(r#"{"access_token":"FILE-TOKEN-A""#)),
        ("no-token", Some(r#"{"expires_in":7200}"#)),
        (
            "bad-expiry",
            Some(r#"{"access_token":"FILE-TOKEN-A","expires_in":[1]}"#),
        ),
    ];
    for (name, content) in cases {
        let path = dir.path().join(name);
        if let Some(content) = content {
            std::fs::write(&path, content).unwrap();
        }
        let (cache, recorder) = new_cache(TokenSource::File(path), &fake, &clock);
        let err = cache.get().await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            matches!(&err, Error::TokenSource { source_kind, .. } if source_kind == "file"),
            "{name}: {text}"
        );
        assert!(text.contains(name), "{name}: names the file: {text}");
        assert!(!text.contains("FILE-TOKEN"), "{name}: leaks: {text}");
        assert_eq!(err.class(), ErrorClass::Token);
        assert_eq!(
            recorder.token_fetches(),
            vec![("file".into(), "token_source".into())]
        );
    }
}

#[tokio::test]
async fn url_source_fetches_and_hides_the_query_on_errors() {
    let fake = Fake::start().await;
    let clock = clock();
    let mut url = fake.base_url().join("/central/token").unwrap();
    url.set_query(Some("key=CENTRAL-KEY-789"));
    let (cache, recorder) = new_cache(TokenSource::Url(url.clone()), &fake, &clock);
    let token = cache.get().await.unwrap();
    assert_eq!(token.value.expose_secret(), "TOKEN-SECRET-123");
    assert_eq!(
        token.expires_at,
        clock
            .now()
            .checked_add(SignedDuration::from_secs(6900))
            .unwrap()
    );
    assert_eq!(fake.central_keys(), vec!["CENTRAL-KEY-789".to_string()]);

    cache.invalidate(&token);
    for (reply, expect) in [
        (
            Some(serde_json::json!({"errcode": 40001, "errmsg": "invalid credential"})),
            "errcode 40001",
        ),
        (Some(serde_json::json!({"token": "x"})), "access_token"),
    ] {
        fake.set_token_reply(reply);
        let err = cache.get().await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains(expect), "{text}");
        assert!(text.contains("/central/token"), "{text}");
        assert!(!text.contains("CENTRAL-KEY-789"), "{text}");
        assert!(!text.contains("TOKEN-SECRET-123"), "{text}");
    }
    fake.set_token_status(503);
    let err = cache.get().await.unwrap_err();
    assert!(err.to_string().contains("HTTP status 503"), "{err}");
    assert!(!format!("{err:?}").contains("CENTRAL-KEY-789"));
    assert_eq!(recorder.token_fetches()[0], ("url".into(), "0".into()));
    assert!(
        recorder.token_fetches()[1..]
            .iter()
            .all(|(k, l)| k == "url" && l == "token_source")
    );

    // A service that is down: connection refused, the URL's query still hidden.
    let mut closed = fake.closed_port_url().join("/central/token").unwrap();
    closed.set_query(Some("key=CENTRAL-KEY-789"));
    let (down, _) = new_cache(TokenSource::Url(closed), &fake, &clock);
    let err = down.get().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("connection failed"), "{text}");
    assert!(!text.contains("CENTRAL-KEY-789"), "{text}");
}

#[test]
fn redacted_urls_lose_credentials_and_query() {
    let url = Url::parse("https://user:pw@tokens.example/v1/token?key=k#frag").unwrap();
    assert_eq!(redact_url(&url), "https://tokens.example/v1/token");
}

#[test]
fn debug_never_shows_the_token_or_secret() {
    let token = AccessToken {
        value: SecretString::from("TOKEN-SECRET-123"),
        expires_at: Timestamp::UNIX_EPOCH,
    };
    let source = stable();
    let text = format!("{token:?} {source:?}");
    assert!(!text.contains("TOKEN-SECRET-123"), "{text}");
    assert!(!text.contains(APP_SECRET), "{text}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// A token file of any bytes or JSON shape: a token or an error that never repeats the
        /// file's content (it may be a token).
        #[test]
        fn any_token_file_reads_or_fails_without_echoing_it(
            bytes in prop::collection::vec(any::<u8>(), 0..256),
            value in crate::proptest_support::json(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("token");
            for content in [bytes.clone(), serde_json::to_vec(&value).unwrap()] {
                std::fs::write(&path, &content).unwrap();
                if let Err(e) = rt.block_on(read_token_file(&path)) {
                    let text = String::from_utf8_lossy(&content).trim().to_string();
                    if text.len() >= 16 {
                        prop_assert!(!e.to_string().contains(&text), "{e}");
                    }
                }
            }
        }
    }
}

/// A failure hold answers every caller from memory until it ends; transient failures are held
/// for at most 10 s; a success clears it. Without a hold (the default) every get asks again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_hold_asks_once_per_hold() {
    let fake = Fake::start().await;
    fake.set_token_reply(Some(
        serde_json::json!({"errcode": 40125, "errmsg": "invalid appsecret"}),
    ));
    let clock = clock();
    let (plain, _) = new_cache(stable(), &fake, &clock);
    assert!(plain.get().await.is_err() && plain.get().await.is_err());
    assert_eq!(fake.stable_token_calls(), 2, "no hold by default");

    let (cache, recorder) = new_cache(stable(), &fake, &clock);
    let cache = cache.with_failure_hold(Duration::from_secs(600));
    for _ in 0..5 {
        let e = cache.get().await.unwrap_err();
        assert_eq!(e.errcode(), Some(40125));
    }
    assert_eq!(fake.stable_token_calls(), 3, "one call for five gets");
    assert_eq!(
        recorder.token_fetches(),
        vec![("stable".into(), "40125".into())]
    );
    clock.advance(SignedDuration::from_secs(599));
    assert!(cache.get().await.is_err());
    assert_eq!(fake.stable_token_calls(), 3);
    clock.advance(SignedDuration::from_secs(1));
    assert!(cache.get().await.is_err());
    assert_eq!(
        fake.stable_token_calls(),
        4,
        "asked again when the hold ends"
    );

    // The source is fixed: asked again at the end of the hold, the token is cached again.
    fake.set_token_reply(None);
    clock.advance(SignedDuration::from_secs(600));
    assert_eq!(
        cache.get().await.unwrap().value.expose_secret(),
        "TOKEN-SECRET-123"
    );
    assert_eq!(fake.stable_token_calls(), 5);

    // A 502 is held for 10 s only.
    fake.set_token_status(502);
    let (cache, _) = new_cache(stable(), &fake, &clock);
    let cache = cache.with_failure_hold(Duration::from_secs(600));
    assert_eq!(
        cache.get().await.unwrap_err().class(),
        ErrorClass::Transient
    );
    assert_eq!(fake.stable_token_calls(), 6);
    clock.advance(SignedDuration::from_secs(9));
    assert!(cache.get().await.is_err());
    assert_eq!(fake.stable_token_calls(), 6);
    clock.advance(SignedDuration::from_secs(1));
    assert!(cache.get().await.is_err());
    assert_eq!(fake.stable_token_calls(), 7);
}
