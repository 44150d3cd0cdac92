//! Unit tests of `client`.

use super::*;
use crate::clock::ManualClock;
use crate::wechat::date::add_days;
use crate::wechat::fake::{Fake, Recorder, Reply};
use crate::wechat::token::TokenSource;
use crate::wechat::transport::{NoopObserver, http_client};
use jiff::civil::{Date, date};
use secrecy::SecretString;

const TOKEN: &str = "TOKEN-SECRET-123";
const APP_SECRET: &str = "APP-SECRET-456";

/// 10:00 UTC+8 on 2026-11-25: yesterday is 2026-11-24.
fn clock() -> ManualClock {
    ManualClock::new("2026-11-25T02:00:00Z".parse().unwrap())
}

fn yesterday() -> Date {
    date(2026, 11, 24)
}

struct Setup {
    client: Client,
    recorder: Arc<Recorder>,
}

fn setup_with(fake: &Fake, source: TokenSource, base_url: Url, max_retries: u32) -> Setup {
    let clock: SharedClock = Arc::new(clock());
    let recorder = Arc::new(Recorder::default());
    let http = http_client(Duration::from_secs(5));
    let tokens = Arc::new(TokenCache::new(
        source,
        http.clone(),
        fake.base_url(),
        clock.clone(),
        recorder.clone(),
    ));
    let settings = ClientSettings {
        base_url,
        max_retries,
        retry_backoff: Duration::from_millis(1),
    };
    let client = Client::new(http, settings, tokens, clock, recorder.clone());
    Setup { client, recorder }
}

fn stable() -> TokenSource {
    TokenSource::Stable {
        app_id: "wx-app".into(),
        secret: SecretString::from(APP_SECRET),
    }
}

fn setup(fake: &Fake) -> Setup {
    setup_with(fake, stable(), fake.base_url(), 3)
}

fn day(d: Date) -> DateRange {
    DateRange::day(d)
}

fn ref_dates(parsed: &Parsed) -> Vec<Date> {
    let Report::UserCumulate(rows) = &parsed.report else {
        panic!("variant {:?}", parsed.report.endpoint())
    };
    rows.iter().map(|r| r.ref_date.unwrap()).collect()
}

fn assert_no_force_refresh(fake: &Fake) {
    let bodies = fake.stable_bodies();
    assert!(!bodies.is_empty());
    for body in bodies {
        assert_eq!(
            body["force_refresh"],
            serde_json::Value::Bool(false),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_plain_fetch_posts_the_dates_with_the_token() {
    let fake = Fake::start().await;
    let s = setup(&fake);
    let range = DateRange::new(date(2026, 11, 18), yesterday()).unwrap();
    let parsed = s.client.fetch(Endpoint::UserCumulate, range).await.unwrap();
    assert_eq!(ref_dates(&parsed), range.days().collect::<Vec<_>>());
    assert_eq!(parsed.is_delay, None);
    let calls = fake.data_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].api, "getusercumulate");
    assert_eq!(calls[0].begin, "2026-11-18");
    assert_eq!(calls[0].end, "2026-11-24");
    assert_eq!(calls[0].token.as_deref(), Some(TOKEN));
    assert_eq!(
        calls[0].user_agent,
        format!("wechat-mp-exporter/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        s.recorder.api_calls(),
        vec![("getusercumulate".into(), "0".into())]
    );
    assert_eq!(fake.stable_token_calls(), 1);
}

#[tokio::test]
async fn one_rejected_token_is_fetched_again_and_retried_once() {
    let fake = Fake::start().await;
    fake.push_data_replies([Reply::Errcode(40001)]);
    let s = setup(&fake);
    let parsed = s
        .client
        .fetch(Endpoint::UserCumulate, day(yesterday()))
        .await
        .unwrap();
    assert_eq!(ref_dates(&parsed), vec![yesterday()]);
    assert_eq!(fake.stable_token_calls(), 2);
    assert_eq!(fake.data_calls().len(), 2);
    assert_eq!(
        s.recorder.api_calls(),
        vec![
            ("getusercumulate".into(), "40001".into()),
            ("getusercumulate".into(), "0".into())
        ]
    );
    assert_eq!(s.recorder.token_fetches().len(), 2);
    assert_no_force_refresh(&fake);
}

#[tokio::test]
async fn a_token_rejected_twice_is_an_error_of_class_token() {
    let fake = Fake::start().await;
    fake.set_default_reply(Reply::Errcode(40001));
    let s = setup(&fake);
    let err = s
        .client
        .fetch(Endpoint::UserCumulate, day(yesterday()))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Token);
    assert_eq!(err.errcode(), Some(40001));
    assert_eq!(fake.stable_token_calls(), 2);
    assert_eq!(fake.data_calls().len(), 2);
    assert_no_force_refresh(&fake);

    // 42001 and 40014 are the same class and get the same single retry.
    for code in [42001, 40014] {
        let fake = Fake::start().await;
        fake.set_default_reply(Reply::Errcode(code));
        let s = setup(&fake);
        let err = s
            .client
            .fetch(Endpoint::UserCumulate, day(yesterday()))
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(code));
        assert_eq!(fake.stable_token_calls(), 2, "{code}");
        assert_eq!(fake.data_calls().len(), 2, "{code}");
    }
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff() {
    let fake = Fake::start().await;
    fake.push_data_replies([Reply::Errcode(-1), Reply::Errcode(-1)]);
    let s = setup(&fake);
    let parsed = s
        .client
        .fetch(Endpoint::UserCumulate, day(yesterday()))
        .await
        .unwrap();
    assert_eq!(ref_dates(&parsed), vec![yesterday()]);
    assert_eq!(fake.data_calls().len(), 3);
    assert_eq!(fake.stable_token_calls(), 1);
    assert_eq!(
        s.recorder.api_calls(),
        vec![
            ("getusercumulate".into(), "-1".into()),
            ("getusercumulate".into(), "-1".into()),
            ("getusercumulate".into(), "0".into())
        ]
    );
}

#[tokio::test]
async fn transient_retries_stop_after_max_retries() {
    for (reply, label) in [
        (Reply::Status(502), "http_502"),
        (Reply::Raw("{\"list\":[{\"ref_date\":"), "invalid_json"),
        (Reply::Errcode(-1), "-1"),
    ] {
        let fake = Fake::start().await;
        fake.set_default_reply(reply);
        let s = setup_with(&fake, stable(), fake.base_url(), 2);
        let err = s
            .client
            .fetch(Endpoint::UserCumulate, day(yesterday()))
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient, "{label}");
        assert_eq!(err.label(), label);
        assert_eq!(fake.data_calls().len(), 3, "{label}: 1 + max_retries");
        assert_eq!(s.recorder.api_calls().len(), 3, "{label}");
    }
}

#[tokio::test]
async fn quota_and_rate_limits_are_not_retried_in_call() {
    for (code, class) in [
        (45009, ErrorClass::Quota),
        (45011, ErrorClass::Transient),
        (61501, ErrorClass::ClientBug),
        (47009, ErrorClass::Offline),
        (40164, ErrorClass::Permanent),
    ] {
        let fake = Fake::start().await;
        fake.set_default_reply(Reply::Errcode(code));
        let s = setup(&fake);
        let err = s
            .client
            .fetch(Endpoint::UserCumulate, day(yesterday()))
            .await
            .unwrap_err();
        assert_eq!(err.class(), class, "{code}");
        assert_eq!(err.errcode(), Some(code));
        assert_eq!(fake.data_calls().len(), 1, "{code}");
        assert_eq!(
            s.recorder.api_calls(),
            vec![("getusercumulate".into(), code.to_string())]
        );
    }
}

#[tokio::test]
async fn token_endpoint_errors_are_not_mistaken_for_a_rejected_token() {
    // 40001 from stable_token means a wrong secret: asking again cannot help.
    let fake = Fake::start().await;
    fake.set_token_reply(Some(
        serde_json::json!({"errcode": 40001, "errmsg": "invalid credential"}),
    ));
    let s = setup(&fake);
    let err = s
        .client
        .fetch(Endpoint::UserCumulate, day(yesterday()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Api { api, errcode: 40001, .. } if api == "stable_token"),
        "{err:?}"
    );
    assert_eq!(fake.stable_token_calls(), 1);
    assert_eq!(fake.data_calls().len(), 0);
    assert_eq!(
        s.recorder.token_fetches(),
        vec![("stable".into(), "40001".into())]
    );
    assert!(s.recorder.api_calls().is_empty());

    // A busy token endpoint (-1) shares the transient retries: 1 + 3 attempts.
    let fake = Fake::start().await;
    fake.set_token_reply(Some(
        serde_json::json!({"errcode": -1, "errmsg": "system busy"}),
    ));
    let s = setup(&fake);
    let err = s
        .client
        .fetch(Endpoint::UserCumulate, day(yesterday()))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(-1));
    assert_eq!(fake.stable_token_calls(), 4);
    assert_eq!(fake.data_calls().len(), 0);
}

#[tokio::test]
async fn a_4xx_status_is_permanent_and_not_retried() {
    let fake = Fake::start().await;
    fake.set_default_reply(Reply::Status(404));
    let s = setup(&fake);
    let err = s
        .client
        .fetch(Endpoint::UserCumulate, day(yesterday()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http { status: 404, .. }), "{err:?}");
    assert_eq!(fake.data_calls().len(), 1);
}

#[tokio::test]
async fn every_endpoint_splits_40_days_into_spans() {
    let fake = Fake::start().await;
    let s = setup(&fake);
    let end = yesterday();
    for endpoint in Endpoint::ALL {
        let begin = add_days(end, -39).max(endpoint.earliest_date());
        let range = DateRange::new(begin, end).unwrap();
        let before = fake.data_calls().len();
        let parsed = s.client.fetch_range(endpoint, range).await.unwrap();
        let calls: Vec<_> = fake.data_calls()[before..].to_vec();
        let span = i64::from(endpoint.max_span_days());
        let days = range.len_days();
        assert_eq!(days, 40);
        assert_eq!(calls.len() as i64, (days + span - 1) / span, "{endpoint}");
        let mut next = begin;
        for call in &calls {
            assert_eq!(call.api, endpoint.name());
            let b: Date = call.begin.parse().unwrap();
            let e: Date = call.end.parse().unwrap();
            assert_eq!(b, next, "{endpoint}: contiguous, no overlap");
            let len = DateRange::new(b, e).unwrap().len_days();
            assert!((1..=span).contains(&len), "{endpoint}: {len} > {span}");
            next = add_days(e, 1);
        }
        assert_eq!(next, add_days(end, 1), "{endpoint}: covers the range");
        // The fake answers one row per day: the merge keeps all 40, in order.
        assert_eq!(parsed.report.len(), 40, "{endpoint}");
        assert_eq!(parsed.report.endpoint(), endpoint);
        assert_eq!(
            parsed.is_delay,
            endpoint.is_published_content().then_some(false),
            "{endpoint}"
        );
    }
    let range = DateRange::new(add_days(end, -39), end).unwrap();
    let parsed = s
        .client
        .fetch_range(Endpoint::UserCumulate, range)
        .await
        .unwrap();
    assert_eq!(ref_dates(&parsed), range.days().collect::<Vec<_>>());
    assert_eq!(fake.stable_token_calls(), 1, "one token for all of it");
}

#[tokio::test]
async fn a_delayed_part_marks_the_whole_range_delayed() {
    let fake = Fake::start().await;
    fake.push_data_replies([Reply::Rows, Reply::Delayed]);
    let s = setup(&fake);
    let range = DateRange::new(add_days(yesterday(), -1), yesterday()).unwrap();
    let parsed = s
        .client
        .fetch_range(Endpoint::ArticleRead, range)
        .await
        .unwrap();
    assert_eq!(fake.data_calls().len(), 2);
    assert_eq!(parsed.is_delay, Some(true));
    assert_eq!(parsed.report.len(), 2);
}

#[tokio::test]
async fn the_first_failing_part_aborts_the_range() {
    let fake = Fake::start().await;
    fake.push_data_replies([Reply::Rows, Reply::Errcode(45009)]);
    let s = setup(&fake);
    let range = DateRange::new(add_days(yesterday(), -20), yesterday()).unwrap();
    let err = s
        .client
        .fetch_range(Endpoint::UserCumulate, range)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Quota);
    assert_eq!(fake.data_calls().len(), 2, "the third part is never asked");
}

#[tokio::test]
async fn refused_requests_make_no_call() {
    let fake = Fake::start().await;
    let s = setup(&fake);
    let today = date(2026, 11, 25);
    let cases = [
        (Endpoint::UserCumulate, day(today), "today"),
        (
            Endpoint::UserCumulate,
            DateRange::new(add_days(today, -3), today).unwrap(),
            "today",
        ),
        (Endpoint::UserCumulate, day(add_days(today, 1)), "today"),
        (
            Endpoint::UserCumulate,
            DateRange::new(add_days(yesterday(), -7), yesterday()).unwrap(),
            "more than the 7 days",
        ),
        (
            Endpoint::UserRead,
            DateRange::new(add_days(yesterday(), -3), yesterday()).unwrap(),
            "more than the 3 days",
        ),
        (Endpoint::ArticleRead, day(date(2025, 10, 31)), "2025-11-01"),
        (Endpoint::UserSummary, day(date(2014, 11, 30)), "2014-12-01"),
        (
            Endpoint::UserSummary,
            DateRange {
                begin: yesterday(),
                end: add_days(yesterday(), -1),
            },
            "after end",
        ),
    ];
    for (endpoint, range, why) in cases {
        let err = s.client.fetch(endpoint, range).await.unwrap_err();
        assert!(matches!(err, Error::Request { .. }), "{range}: {err:?}");
        assert!(err.to_string().contains(why), "{range}: {err}");
        assert_eq!(err.label(), "refused");
    }
    // Ranges that only fetch_range may split are still refused before any call when their
    // dates are wrong.
    let err = s
        .client
        .fetch_range(
            Endpoint::UserCumulate,
            DateRange::new(add_days(today, -20), today).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Request { .. }), "{err:?}");
    assert_eq!(fake.data_calls().len(), 0);
    assert_eq!(fake.stable_token_calls(), 0);
    assert!(s.recorder.api_calls().is_empty());
}

#[tokio::test]
async fn a_base_url_path_prefix_is_kept() {
    let fake = Fake::start().await;
    let base = fake.base_url().join("/prefix/").unwrap();
    let s = setup_with(&fake, stable(), base, 0);
    s.client
        .fetch(Endpoint::UserCumulate, day(yesterday()))
        .await
        .unwrap();
    assert_eq!(
        fake.data_calls()[0].path,
        "/prefix/datacube/getusercumulate"
    );
}

#[tokio::test]
async fn no_error_shows_a_token_secret_or_url_query() {
    let mut errors: Vec<Error> = Vec::new();
    let one_day = day(yesterday());

    // Connection refused, for the data call (token in the query) and for the classic token
    // call (app secret in the query).
    let fake = Fake::start().await;
    let closed = fake.closed_port_url();
    let s = setup_with(&fake, stable(), closed.clone(), 0);
    errors.push(
        s.client
            .fetch(Endpoint::UserCumulate, one_day)
            .await
            .unwrap_err(),
    );
    let classic = TokenSource::Classic {
        app_id: "wx-app".into(),
        secret: SecretString::from(APP_SECRET),
    };
    let clock: SharedClock = Arc::new(clock());
    let tokens = TokenCache::new(
        classic,
        http_client(Duration::from_secs(5)),
        closed,
        clock,
        Arc::new(NoopObserver),
    );
    errors.push(tokens.get().await.unwrap_err());
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, Error::Transport { .. })
                && e.to_string().contains("connection failed")),
        "{errors:?}"
    );

    // 40001 twice, 5xx, bad JSON.
    for reply in [
        Reply::Errcode(40001),
        Reply::Status(500),
        Reply::Raw("{\"list\": [} access_token=TOKEN-SECRET-123"),
    ] {
        let fake = Fake::start().await;
        fake.set_default_reply(reply);
        let s = setup_with(&fake, stable(), fake.base_url(), 0);
        errors.push(
            s.client
                .fetch(Endpoint::UserCumulate, one_day)
                .await
                .unwrap_err(),
        );
    }

    // The token endpoint refusing the secret, on both WeChat token sources.
    for source in [
        stable(),
        TokenSource::Classic {
            app_id: "wx-app".into(),
            secret: SecretString::from(APP_SECRET),
        },
    ] {
        let fake = Fake::start().await;
        fake.set_token_reply(Some(
            serde_json::json!({"errcode": 40125, "errmsg": "invalid appsecret rid: 6a-1"}),
        ));
        let s = setup_with(&fake, source, fake.base_url(), 0);
        let err = s
            .client
            .fetch(Endpoint::UserCumulate, one_day)
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(40125));
        assert_eq!(fake.data_calls().len(), 0);
        errors.push(err);
    }

    assert_eq!(errors.len(), 7);
    for err in &errors {
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(TOKEN), "{text}");
            assert!(!text.contains(APP_SECRET), "{text}");
            assert!(!text.contains("access_token="), "{text}");
        }
    }
}

#[test]
fn backoff_is_jittered_below_an_exponential_ceiling() {
    let base = Duration::from_millis(100);
    for retry in 0..6 {
        let ceiling = base * (1 << retry);
        for _ in 0..50 {
            assert!(backoff(base, retry) <= ceiling, "retry {retry}");
        }
    }
    for _ in 0..50 {
        assert!(backoff(base, 40) <= MAX_BACKOFF);
    }
    // Full jitter spreads the waits: 50 draws from [0, 100 ms] are not all equal.
    let draws: std::collections::HashSet<_> = (0..50).map(|_| backoff(base, 0)).collect();
    assert!(draws.len() > 1);
}
