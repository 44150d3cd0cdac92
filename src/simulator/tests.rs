//! The simulator over HTTP on 127.0.0.1: every endpoint, WeChat's rules, tokens, faults, counts.

use std::sync::Arc;

use jiff::SignedDuration;
use jiff::civil::{Date, date};
use serde_json::{Value, json};

use super::*;
use crate::clock::ManualClock;
use crate::wechat::Period;
use crate::wechat::date::{format_date, month_start, week_start};

/// 11:00 UTC+8 on 2026-11-24: 2026-11-23 is published.
const NOON: &str = "2026-11-24T03:00:00Z";

struct Rig {
    sim: Simulator,
    clock: ManualClock,
    base: String,
    http: reqwest::Client,
    config: SimConfig,
}

async fn rig(now: &str) -> Rig {
    let config = SimConfig::demo();
    let clock = ManualClock::new(now.parse().unwrap());
    let sim = Simulator::new(config.clone(), Arc::new(clock.clone()));
    let addr = sim.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    Rig {
        sim,
        clock,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        config,
    }
}

impl Rig {
    fn account(&self, i: usize) -> &SimAccount {
        &self.config.accounts[i]
    }

    async fn stable(&self, app_id: &str, secret: &str, force: bool) -> Value {
        let r = self
            .http
            .post(format!("{}/cgi-bin/stable_token", self.base))
            .body(
                json!({"grant_type":"client_credential","appid":app_id,"secret":secret,"force_refresh":force})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn token(&self, i: usize) -> String {
        let a = self.account(i).clone();
        let v = self.stable(&a.app_id, &a.app_secret, false).await;
        v["access_token"].as_str().unwrap().to_string()
    }

    async fn raw(&self, api: &str, token: Option<&str>, body: &str) -> (u16, Vec<u8>) {
        let mut url = format!("{}/datacube/{api}", self.base);
        if let Some(t) = token {
            url.push_str(&format!("?access_token={t}"));
        }
        let r = self
            .http
            .post(url)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    async fn fetch(&self, endpoint: Endpoint, token: &str, range: DateRange) -> (u16, Vec<u8>) {
        let body =
            json!({"begin_date": format_date(range.begin), "end_date": format_date(range.end)});
        self.raw(endpoint.name(), Some(token), &body.to_string())
            .await
    }

    /// The errcode of a datacube call (0 when it succeeded).
    async fn errcode(&self, endpoint: Endpoint, token: &str, range: DateRange) -> i64 {
        let (status, body) = self.fetch(endpoint, token, range).await;
        assert_eq!(status, 200);
        errcode_of(&body)
    }
}

fn errcode_of(body: &[u8]) -> i64 {
    let v: Value = serde_json::from_slice(body).unwrap();
    v.get("errcode").and_then(Value::as_i64).unwrap_or(0)
}

fn range(begin: Date, end: Date) -> DateRange {
    DateRange::new(begin, end).unwrap()
}

/// A representative valid request of `endpoint` as of NOON.
fn request_for(sim: &Simulator, app_id: &str, endpoint: Endpoint) -> DateRange {
    let yesterday = date(2026, 11, 23);
    match endpoint.period() {
        Period::Week => DateRange::day(week_start(date(2026, 11, 16))),
        Period::Month => DateRange::day(month_start(date(2026, 10, 1))),
        Period::Day => match endpoint {
            Endpoint::ArticleTotal => {
                let d = (0..7)
                    .map(|i| add_days(yesterday, -i))
                    .find(|d| sim.has_mass_send(app_id, *d))
                    .unwrap();
                DateRange::day(d)
            }
            Endpoint::ArticleTotalDetail => {
                let d = (3..30)
                    .map(|i| add_days(yesterday, -i))
                    .find(|d| sim.has_publish(app_id, *d))
                    .unwrap();
                DateRange::day(d)
            }
            _ => range(
                add_days(yesterday, 1 - i64::from(endpoint.max_span_days())),
                yesterday,
            ),
        },
    }
}

#[tokio::test]
async fn every_endpoint_answers_what_report_says() {
    let rig = rig(NOON).await;
    for i in 0..3 {
        let app_id = rig.account(i).app_id.clone();
        let token = rig.token(i).await;
        for endpoint in Endpoint::ALL {
            let range = request_for(&rig.sim, &app_id, endpoint);
            let (status, body) = rig.fetch(endpoint, &token, range).await;
            assert_eq!(status, 200, "{endpoint}");
            let parsed = Report::parse(endpoint, &body)
                .unwrap_or_else(|e| panic!("{endpoint}: {e}: {}", String::from_utf8_lossy(&body)));
            assert_eq!(
                parsed.report,
                rig.sim.report(&app_id, endpoint, range),
                "{endpoint}"
            );
            assert!(!parsed.report.is_empty(), "{app_id} {endpoint} {range}");
            assert_eq!(
                parsed.is_delay,
                endpoint.is_published_content().then_some(false),
                "{endpoint}"
            );
        }
    }
}

#[tokio::test]
async fn answers_are_deterministic_and_differ_between_accounts() {
    let clock: SharedClock = Arc::new(ManualClock::new(NOON.parse().unwrap()));
    let a = Simulator::new(SimConfig::demo(), clock.clone());
    let b = Simulator::new(SimConfig::demo(), clock);
    let ids: Vec<String> = SimConfig::demo()
        .accounts
        .into_iter()
        .map(|a| a.app_id)
        .collect();
    for endpoint in Endpoint::ALL {
        let r = request_for(&a, &ids[0], endpoint);
        assert_eq!(
            a.report(&ids[0], endpoint, r),
            b.report(&ids[0], endpoint, r)
        );
    }
    let followers = |id: &str| {
        let Report::UserCumulate(rows) = a.report(
            id,
            Endpoint::UserCumulate,
            DateRange::day(date(2026, 11, 23)),
        ) else {
            panic!("variant")
        };
        rows[0].cumulate_user.unwrap()
    };
    // Small, medium and large accounts.
    let sizes: Vec<u64> = ids.iter().map(|id| followers(id)).collect();
    assert!(sizes[0] > 2_000 && sizes[0] < 20_000, "{sizes:?}");
    assert!(sizes[1] > 40_000 && sizes[1] < 300_000, "{sizes:?}");
    assert!(sizes[2] > 700_000 && sizes[2] < 5_000_000, "{sizes:?}");
}

#[test]
fn demo_accounts_look_like_wechat() {
    let c = SimConfig::demo();
    assert_eq!(c.accounts.len(), 3);
    assert_eq!(c.publish_at, Time::constant(9, 0, 0, 0));
    assert_eq!(c.token_ttl, Duration::from_secs(7200));
    for a in &c.accounts {
        assert!(
            a.app_id.starts_with("wxdemo") && a.app_id.len() == 16,
            "{}",
            a.app_id
        );
        assert_eq!(a.app_secret.len(), 32);
        assert!(a.app_secret.chars().all(|c| c.is_ascii_hexdigit()));
    }
    assert_eq!(c.accounts[0].app_id, "wxdemo0000000001");
    assert_eq!(c.accounts[2].app_id, "wxdemo0000000003");
    assert_ne!(c.accounts[0].app_secret, c.accounts[1].app_secret);
    assert_eq!(c.accounts, SimConfig::demo().accounts);
}

#[tokio::test]
async fn yesterday_is_published_at_publish_at() {
    // 08:59 UTC+8 on the 24th: the 23rd is not out yet.
    let rig = rig("2026-11-24T00:59:00Z").await;
    let token = rig.token(0).await;
    let two_days = range(date(2026, 11, 22), date(2026, 11, 23));
    let (_, body) = rig.fetch(Endpoint::UserCumulate, &token, two_days).await;
    let Report::UserCumulate(rows) = Report::parse(Endpoint::UserCumulate, &body).unwrap().report
    else {
        panic!("variant")
    };
    assert_eq!(
        rows.iter().map(|r| r.ref_date.unwrap()).collect::<Vec<_>>(),
        vec![date(2026, 11, 22)]
    );
    let yesterday = DateRange::day(date(2026, 11, 23));
    let (_, body) = rig.fetch(Endpoint::BizSummary, &token, yesterday).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"list": [], "is_delay": true})
    );
    let (_, body) = rig.fetch(Endpoint::UserSummary, &token, yesterday).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"list": []})
    );

    assert_eq!(rig.sim.last_published_day(), date(2026, 11, 22));
    // 09:01 UTC+8: it is.
    rig.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(rig.sim.last_published_day(), date(2026, 11, 23));
    let (_, body) = rig.fetch(Endpoint::UserCumulate, &token, two_days).await;
    let parsed = Report::parse(Endpoint::UserCumulate, &body).unwrap().report;
    assert_eq!(parsed.len(), 2);
    let (_, body) = rig.fetch(Endpoint::BizSummary, &token, yesterday).await;
    let parsed = Report::parse(Endpoint::BizSummary, &body).unwrap();
    assert_eq!((parsed.report.len(), parsed.is_delay), (1, Some(false)));
}

#[tokio::test]
async fn broken_requests_get_wechats_errcodes() {
    let rig = rig(NOON).await;
    let token = rig.token(0).await;
    let today = date(2026, 11, 24);
    // end_date today, a span over the limit, begin after end: 61501.
    assert_eq!(
        rig.errcode(Endpoint::UserSummary, &token, DateRange::day(today))
            .await,
        61501
    );
    let eight = range(date(2026, 11, 16), date(2026, 11, 23));
    assert_eq!(
        rig.errcode(Endpoint::UserSummary, &token, eight).await,
        61501
    );
    let seven = range(date(2026, 11, 17), date(2026, 11, 23));
    assert_eq!(rig.errcode(Endpoint::UserSummary, &token, seven).await, 0);
    let two = range(date(2026, 11, 22), date(2026, 11, 23));
    assert_eq!(
        rig.errcode(Endpoint::ArticleTotalDetail, &token, two).await,
        61501
    );
    let backwards = r#"{"begin_date":"2026-11-23","end_date":"2026-11-22"}"#;
    let (_, body) = rig.raw("getusersummary", Some(&token), backwards).await;
    assert_eq!(errcode_of(&body), 61501);
    // Dates not exactly YYYY-MM-DD: 61500.
    for bad in [
        r#"{"begin_date":"2026-11-5","end_date":"2026-11-05"}"#,
        r#"{"begin_date":"20261105","end_date":"20261105"}"#,
        r#"{"begin_date":"2026-02-30","end_date":"2026-02-30"}"#,
        r#"{"begin_date":20261105,"end_date":"2026-11-05"}"#,
    ] {
        let (_, body) = rig.raw("getusersummary", Some(&token), bad).await;
        assert_eq!(errcode_of(&body), 61500, "{bad}");
    }
    // Not JSON, or no dates: 47001.
    for bad in ["not json", r#"{"begin_date":"2026-11-05"}"#, ""] {
        let (_, body) = rig.raw("getusersummary", Some(&token), bad).await;
        assert_eq!(errcode_of(&body), 47001, "{bad}");
    }
    // No token: 41001; unknown token: 40001.
    let ok = r#"{"begin_date":"2026-11-23","end_date":"2026-11-23"}"#;
    let (_, body) = rig.raw("getusersummary", None, ok).await;
    assert_eq!(errcode_of(&body), 41001);
    let (_, body) = rig.raw("getusersummary", Some("forged"), ok).await;
    assert_eq!(errcode_of(&body), 40001);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let msg = v["errmsg"].as_str().unwrap();
    let rid = msg.rsplit("rid: ").next().unwrap();
    assert!(
        msg.starts_with("invalid credential") && rid.len() == 26,
        "{msg}"
    );
    // Unknown path: 404 with an empty body (as WeChat does for /cgi-bin/datacube/...).
    let (status, body) = rig.raw("getnothing", Some(&token), ok).await;
    assert_eq!((status, body.len()), (404, 0));
    let r = rig
        .http
        .post(format!("{}/cgi-bin/datacube/getusersummary", rig.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // GET: 43002.
    let r = rig
        .http
        .get(format!(
            "{}/datacube/getusersummary?access_token={token}",
            rig.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(errcode_of(&r.bytes().await.unwrap()), 43002);
    // Before the earliest date: an empty list.
    let old = DateRange::day(date(2025, 10, 31));
    let (_, body) = rig.fetch(Endpoint::ArticleRead, &token, old).await;
    assert!(
        Report::parse(Endpoint::ArticleRead, &body)
            .unwrap()
            .report
            .is_empty()
    );
}

#[tokio::test]
async fn token_endpoints_follow_wechat() {
    let rig = rig(NOON).await;
    let a = rig.account(0).clone();
    assert_eq!(
        rig.stable("wxnobody", &a.app_secret, false).await["errcode"],
        40013
    );
    assert_eq!(rig.stable(&a.app_id, "0123", false).await["errcode"], 40125);
    let first = rig.stable(&a.app_id, &a.app_secret, false).await;
    assert_eq!(first["expires_in"], 7200);
    let t1 = first["access_token"].as_str().unwrap().to_string();
    assert!(t1.len() > 100);
    let yesterday = DateRange::day(date(2026, 11, 23));

    // Same token while valid, with the time left.
    rig.clock.advance(SignedDuration::from_secs(6800));
    let again = rig.stable(&a.app_id, &a.app_secret, false).await;
    assert_eq!(again["access_token"].as_str().unwrap(), t1);
    assert_eq!(again["expires_in"], 400);
    // In the last 300 s: a new one, and both work.
    rig.clock.advance(SignedDuration::from_secs(200));
    let t2 = rig.token(0).await;
    assert_ne!(t1, t2);
    assert_eq!(rig.errcode(Endpoint::UserCumulate, &t1, yesterday).await, 0);
    assert_eq!(rig.errcode(Endpoint::UserCumulate, &t2, yesterday).await, 0);
    // Expired: 42001.
    rig.clock.advance(SignedDuration::from_secs(200));
    assert_eq!(
        rig.errcode(Endpoint::UserCumulate, &t1, yesterday).await,
        42001
    );
    assert_eq!(rig.errcode(Endpoint::UserCumulate, &t2, yesterday).await, 0);

    // force_refresh: a new token, the old one dead.
    let forced = rig.stable(&a.app_id, &a.app_secret, true).await;
    let t3 = forced["access_token"].as_str().unwrap().to_string();
    assert_ne!(t3, t2);
    assert_eq!(
        rig.errcode(Endpoint::UserCumulate, &t2, yesterday).await,
        40001
    );
    assert_eq!(rig.errcode(Endpoint::UserCumulate, &t3, yesterday).await, 0);

    // Revocation mid-run: 40001, then the next stable_token call issues a working token.
    rig.sim.faults().revoke_tokens();
    assert_eq!(
        rig.errcode(Endpoint::UserCumulate, &t3, yesterday).await,
        40001
    );
    let t4 = rig.token(0).await;
    assert_ne!(t4, t3);
    assert_eq!(rig.errcode(Endpoint::UserCumulate, &t4, yesterday).await, 0);

    // Classic: a new token every call.
    let classic = |secret: &str| {
        format!(
            "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={secret}",
            rig.base, a.app_id
        )
    };
    let c1: Value = rig
        .http
        .get(classic(&a.app_secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c2: Value = rig
        .http
        .get(classic(&a.app_secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(c1["access_token"], c2["access_token"]);
    let bad: Value = rig
        .http
        .get(classic("nope"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["errcode"], 40125);

    assert_eq!(rig.sim.stable_token_requests(), 7);
    assert_eq!(rig.sim.force_refresh_requests(), 1);
    assert_eq!(rig.sim.classic_token_requests(), 3);
}

#[tokio::test]
async fn legacy_article_switch_answers_47009() {
    let rig = rig(NOON).await;
    let token = rig.token(1).await;
    let yesterday = DateRange::day(date(2026, 11, 23));
    rig.sim.faults().set_legacy_articles_offline(true);
    for endpoint in Endpoint::ALL {
        let expected = if endpoint.is_legacy_article() {
            47009
        } else {
            0
        };
        let r = request_for(&rig.sim, &rig.account(1).app_id, endpoint);
        assert_eq!(
            rig.errcode(endpoint, &token, r).await,
            expected,
            "{endpoint}"
        );
    }
    rig.sim.faults().set_legacy_articles_offline(false);
    assert_eq!(rig.errcode(Endpoint::UserRead, &token, yesterday).await, 0);
}

#[tokio::test]
async fn callback_failure_ratio_overrides_fail_count() {
    let rig = rig(NOON).await;
    let token = rig.token(2).await;
    rig.sim.faults().set_callback_failure_ratio(Some(0.25));
    let week = range(date(2026, 11, 17), date(2026, 11, 23));
    let (_, body) = rig.fetch(Endpoint::InterfaceSummary, &token, week).await;
    let Report::InterfaceSummary(rows) = Report::parse(Endpoint::InterfaceSummary, &body)
        .unwrap()
        .report
    else {
        panic!("variant")
    };
    assert_eq!(rows.len(), 7);
    for r in &rows {
        let c = r.callback_count.unwrap() as f64;
        assert_eq!(r.fail_count, Some((0.25 * c).round() as u64));
    }
    let (_, body) = rig
        .fetch(
            Endpoint::InterfaceSummaryHour,
            &token,
            DateRange::day(date(2026, 11, 23)),
        )
        .await;
    let Report::InterfaceSummaryHour(rows) = Report::parse(Endpoint::InterfaceSummaryHour, &body)
        .unwrap()
        .report
    else {
        panic!("variant")
    };
    assert!(!rows.is_empty());
    for r in &rows {
        let c = r.callback_count.unwrap() as f64;
        assert_eq!(r.fail_count, Some((0.25 * c).round() as u64));
    }
    rig.sim.faults().set_callback_failure_ratio(None);
    let Report::InterfaceSummary(rows) =
        rig.sim
            .report(&rig.account(2).app_id, Endpoint::InterfaceSummary, week)
    else {
        panic!("variant")
    };
    // Normally 0.1-1 %.
    for r in &rows {
        let ratio = r.fail_count.unwrap() as f64 / r.callback_count.unwrap() as f64;
        assert!((0.0005..0.012).contains(&ratio), "{ratio}");
    }
}

#[tokio::test]
async fn calls_are_counted_per_account_and_api() {
    let rig = rig(NOON).await;
    let (a0, a1) = (rig.account(0).app_id.clone(), rig.account(1).app_id.clone());
    let t0 = rig.token(0).await;
    let t1 = rig.token(1).await;
    let yesterday = DateRange::day(date(2026, 11, 23));
    let today = DateRange::day(date(2026, 11, 24));
    rig.fetch(Endpoint::UserSummary, &t0, yesterday).await;
    rig.fetch(Endpoint::UserSummary, &t0, today).await; // an errcode still counts
    rig.fetch(Endpoint::BizSummary, &t1, yesterday).await;
    rig.fetch(Endpoint::BizSummary, "forged", yesterday).await;
    assert_eq!(rig.sim.calls_to(&a0, "getusersummary"), 2);
    assert_eq!(rig.sim.calls_to(&a1, "getbizsummary"), 1);
    assert_eq!(rig.sim.calls_to("?", "getbizsummary"), 1);
    assert_eq!(rig.sim.calls_to(&a0, "stable_token"), 1);
    assert_eq!(rig.sim.calls_to(&a0, "getbizsummary"), 0);
    let expected: BTreeMap<(String, String), u64> = [
        ((a0.clone(), "getusersummary".to_string()), 2),
        ((a0.clone(), "stable_token".to_string()), 1),
        ((a1.clone(), "getbizsummary".to_string()), 1),
        ((a1.clone(), "stable_token".to_string()), 1),
        (("?".to_string(), "getbizsummary".to_string()), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(rig.sim.calls(), expected);

    let v: Value = rig
        .http
        .get(format!("{}/_sim/calls", rig.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["stable_token_requests"], 2);
    assert_eq!(v["calls"].as_array().unwrap().len(), 5);
    assert!(
        v["calls"]
            .as_array()
            .unwrap()
            .contains(&json!({"app_id": a0, "api": "getusersummary", "count": 2}))
    );

    rig.sim.reset_calls();
    assert!(rig.sim.calls().is_empty());
    assert_eq!(rig.sim.stable_token_requests(), 0);
}

#[tokio::test]
async fn faults_over_the_api_and_the_control_routes() {
    let rig = rig(NOON).await;
    let a0 = rig.account(0).app_id.clone();
    let token = rig.token(0).await;
    let yesterday = DateRange::day(date(2026, 11, 23));
    let faults = json!({
        "fail": [{"api": "getusersummary", "errcode": -1, "times": 1},
                 {"api": "*", "errcode": 45009, "app_id": a0}],
        "http_status": [{"api": "getupstreammsg", "status": 502, "times": 1}],
        "malformed": [{"api": "getusercumulate", "times": 1}],
        "delay": [{"api": "getbizsummary", "ms": 20}],
        "callback_failure_ratio": 0.5
    });
    let r = rig
        .http
        .post(format!("{}/_sim/faults", rig.base))
        .body(faults.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(rig.sim.faults().callback_failure_ratio(), Some(0.5));
    assert_eq!(
        rig.errcode(Endpoint::UserSummary, &token, yesterday).await,
        -1
    );
    // The once-only rule is used up; the account-wide rule matches every endpoint.
    assert_eq!(
        rig.errcode(Endpoint::UserSummary, &token, yesterday).await,
        45009
    );
    let (status, body) = rig.fetch(Endpoint::UpstreamMsg, &token, yesterday).await;
    assert_eq!((status, body.len()), (502, 0));
    assert_eq!(
        rig.errcode(Endpoint::UpstreamMsg, &token, yesterday).await,
        45009
    );
    let (status, body) = rig.fetch(Endpoint::UserCumulate, &token, yesterday).await;
    assert_eq!(status, 200);
    assert!(!body.is_empty() && serde_json::from_slice::<Value>(&body).is_err());
    // Other accounts are unaffected by the account rule.
    let t1 = rig.token(1).await;
    assert_eq!(rig.errcode(Endpoint::BizSummary, &t1, yesterday).await, 0);
    // Token endpoints can fail too.
    rig.sim.faults().fail("stable_token", 40164, Some(1));
    let a1 = rig.account(1).clone();
    assert_eq!(
        rig.stable(&a1.app_id, &a1.app_secret, false).await["errcode"],
        40164
    );

    // Bad control bodies are refused.
    let r = rig
        .http
        .post(format!("{}/_sim/faults", rig.base))
        .body(r#"{"nonsense": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = rig
        .http
        .post(format!("{}/_sim/faults", rig.base))
        .body(r#"{"callback_failure_ratio": null, "revoke_tokens": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(rig.sim.faults().callback_failure_ratio(), None);
    assert_eq!(
        rig.errcode(Endpoint::BizSummary, &t1, yesterday).await,
        40001
    );

    let r = rig
        .http
        .post(format!("{}/_sim/reset", rig.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(rig.sim.calls().is_empty());
    let token = rig.token(0).await;
    assert_eq!(
        rig.errcode(Endpoint::UserSummary, &token, yesterday).await,
        0
    );
}

#[tokio::test]
async fn article_rows_exist_exactly_on_send_and_publish_days() {
    let rig = rig(NOON).await;
    let app = rig.account(0).app_id.clone();
    let token = rig.token(0).await;
    for back in 1..=20 {
        let day = add_days(date(2026, 11, 24), -back);
        let (_, body) = rig
            .fetch(Endpoint::ArticleTotal, &token, DateRange::day(day))
            .await;
        let rows = Report::parse(Endpoint::ArticleTotal, &body).unwrap().report;
        assert_eq!(!rows.is_empty(), rig.sim.has_mass_send(&app, day), "{day}");
        let (_, body) = rig
            .fetch(Endpoint::ArticleTotalDetail, &token, DateRange::day(day))
            .await;
        let rows = Report::parse(Endpoint::ArticleTotalDetail, &body)
            .unwrap()
            .report;
        assert_eq!(!rows.is_empty(), rig.sim.has_publish(&app, day), "{day}");
    }
}

#[test]
fn publication_follows_the_utc8_clock() {
    let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let nine = Time::constant(9, 0, 0, 0);
    // 08:59:59 and 09:00:00 UTC+8 on the 24th.
    assert_eq!(
        last_published(at("2026-11-24T00:59:59Z"), nine),
        date(2026, 11, 22)
    );
    assert_eq!(
        last_published(at("2026-11-24T01:00:00Z"), nine),
        date(2026, 11, 23)
    );
    // 23:59 UTC+8 on the 24th is still the 24th in China, whatever UTC says.
    assert_eq!(
        last_published(at("2026-11-24T15:59:00Z"), nine),
        date(2026, 11, 23)
    );
    // Publishing at midnight: yesterday is always out.
    assert_eq!(
        last_published(at("2026-11-23T16:00:00Z"), Time::midnight()),
        date(2026, 11, 23)
    );
}

/// The wire faults, set over the control route: broken bodies, a reset, refused and unanswered
/// connects, and serving again once cleared.
#[tokio::test]
async fn body_and_connection_faults_over_the_control_route() {
    let rig = rig(NOON).await;
    let token = rig.token(0).await;
    let yesterday = DateRange::day(date(2026, 11, 23));
    let control = |spec: Value| {
        let (http, url) = (rig.http.clone(), format!("{}/_sim/faults", rig.base));
        async move {
            let r = http.post(url).body(spec.to_string()).send().await.unwrap();
            r.status().as_u16()
        }
    };
    let spec = json!({"body": [
        {"api": "getusersummary", "fault": "wrong_shape", "times": 1},
        {"api": "getusersummary", "fault": "garbage", "times": 1},
        {"api": "getusersummary", "fault": "reset", "times": 1}]});
    assert_eq!(control(spec).await, 200);
    let (status, body) = rig.fetch(Endpoint::UserSummary, &token, yesterday).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"list": "not a list"})
    );
    let (status, body) = rig.fetch(Endpoint::UserSummary, &token, yesterday).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    // A fresh client, so the reset meets a connection of its own.
    let url = format!("{}/datacube/getusersummary?access_token={token}", rig.base);
    let request = json!({"begin_date": "2026-11-23", "end_date": "2026-11-23"}).to_string();
    let client = reqwest::Client::new();
    let answer = client
        .post(&url)
        .body(request.clone())
        .send()
        .await
        .unwrap();
    let err = answer.bytes().await.expect_err("the connection is reset");
    let chain = format!("{:?}", err);
    assert!(chain.contains("ConnectionReset"), "{chain}");
    assert_eq!(
        rig.errcode(Endpoint::UserSummary, &token, yesterday).await,
        0,
        "once-only rules are used up"
    );
    assert_eq!(
        control(json!({"body": [{"api": "*", "fault": "nonsense"}]})).await,
        400
    );

    let addr = rig.base.trim_start_matches("http://").to_string();
    assert_eq!(control(json!({"connections": "refused"})).await, 200);
    let refused = tokio::net::TcpStream::connect(&addr).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    rig.sim
        .faults()
        .set_connections(Connections::ConnectTimeout);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let connect = tokio::net::TcpStream::connect(&addr);
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(500), connect)
            .await
            .is_err(),
        "a connect to the full queue is never answered"
    );
    rig.sim.faults().clear();
    assert_eq!(
        rig.errcode(Endpoint::UserSummary, &token, yesterday).await,
        0,
        "served again"
    );
}
