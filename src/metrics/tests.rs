//! Tests of the mapping and the store against the documented example bodies, and of both
//! exposition formats (promtool lints the classic one).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use jiff::civil::date;

use super::*;
use crate::latest::DatedReport;
use crate::wechat::{Endpoint, Report};

const TRICKY_TITLE: &str = "He said \"hi\" \\ back\nslash 🎉 中文标题";

fn example(endpoint: Endpoint) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wechat-examples")
        .join(format!("{}.json", endpoint.name()));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(endpoint: Endpoint, body: &[u8]) -> DatedReport {
    let report = Report::parse(endpoint, body)
        .unwrap_or_else(|e| panic!("{endpoint}: {e}"))
        .report;
    DatedReport {
        date: date(2025, 11, 1),
        report,
    }
}

/// Every endpoint with its documented example body.
fn documented() -> AccountReports {
    let mut reports = AccountReports::default();
    for e in Endpoint::ALL {
        reports.reports.insert(e, parse(e, &example(e)));
    }
    reports
}

/// The documented examples, plus rows that exercise every label vocabulary and awkward titles.
fn realistic() -> AccountReports {
    let mut reports = documented();
    let mut set = |e: Endpoint, body: serde_json::Value| {
        reports
            .reports
            .insert(e, parse(e, body.to_string().as_bytes()));
    };
    set(
        Endpoint::UserSummary,
        serde_json::json!({"list": [
            {"ref_date": "2026-11-23", "user_source": 30, "new_user": 12, "cancel_user": 3},
            {"ref_date": "2026-11-23", "user_source": 999, "new_user": 1, "cancel_user": 0},
            {"ref_date": "2026-11-23", "user_source": 0, "new_user": 5, "cancel_user": 2},
            {"ref_date": "2026-11-22", "user_source": 30, "new_user": 99, "cancel_user": 99}
        ]}),
    );
    set(
        Endpoint::UserCumulate,
        serde_json::json!({"list": [
            {"ref_date": "2026-11-22", "cumulate_user": 1000},
            {"ref_date": "2026-11-23", "cumulate_user": 1009}
        ]}),
    );
    set(
        Endpoint::UserRead,
        serde_json::json!({"list": [
            {"ref_date": "2026-11-23", "user_source": 99999999, "int_page_read_user": 50, "int_page_read_count": 70,
             "ori_page_read_user": 2, "ori_page_read_count": 3, "share_user": 4, "share_count": 5,
             "add_to_fav_user": 6, "add_to_fav_count": 7},
            {"ref_date": "2026-11-23", "user_source": 2, "int_page_read_user": 20, "int_page_read_count": 30,
             "ori_page_read_user": 1, "ori_page_read_count": 1, "share_user": 2, "share_count": 2,
             "add_to_fav_user": 3, "add_to_fav_count": 3},
            {"ref_date": "2026-11-23", "user_source": 7, "int_page_read_user": 1, "int_page_read_count": 1}
        ]}),
    );
    set(
        Endpoint::UserReadHour,
        serde_json::json!({"list": [
            {"ref_date": "2026-11-23", "ref_hour": 1200, "user_source": 99999999, "int_page_read_user": 9,
             "int_page_read_count": 12, "ori_page_read_user": 1, "ori_page_read_count": 1, "share_user": 1,
             "share_count": 1, "add_to_fav_user": 1, "add_to_fav_count": 1},
            {"ref_date": "2026-11-23", "ref_hour": 1200, "user_source": 0, "int_page_read_user": 5,
             "int_page_read_count": 7, "ori_page_read_user": 1, "ori_page_read_count": 1, "share_user": 1,
             "share_count": 1, "add_to_fav_user": 1, "add_to_fav_count": 1}
        ]}),
    );
    set(
        Endpoint::ArticleTotal,
        serde_json::json!({"list": [
            {"ref_date": "2026-11-20", "msgid": "2247490100_1", "title": TRICKY_TITLE, "details": [
                {"stat_date": "2026-11-22", "target_user": 900, "int_page_read_user": 100, "int_page_read_count": 150,
                 "int_page_from_kanyikan_read_user": 8, "int_page_from_souyisou_read_count": 9},
                {"stat_date": "2026-11-23", "target_user": 1000, "int_page_read_user": 120, "int_page_read_count": 180,
                 "int_page_from_kanyikan_read_user": 10, "int_page_from_souyisou_read_count": 11}
            ]},
            serde_json::from_slice::<serde_json::Value>(&example(Endpoint::ArticleTotal)).unwrap()["list"][0].clone()
        ]}),
    );
    let mut detail: serde_json::Value =
        serde_json::from_slice(&example(Endpoint::ArticleTotalDetail)).unwrap();
    detail["list"][0]["title"] = serde_json::Value::from(TRICKY_TITLE);
    detail["list"][0]["detail_list"][0]["read_user_source"]
        .as_array_mut()
        .unwrap()
        .extend([
            serde_json::json!({"user_count": 100, "scene_desc": "朋友圈"}),
            serde_json::json!({"user_count": 7, "scene_desc": "新场景"}),
        ]);
    set(Endpoint::ArticleTotalDetail, detail);
    reports
}

fn full_status() -> AccountStatus {
    AccountStatus {
        up: true,
        last_poll_seconds: Some(1.25),
        last_poll_end: Some(1_795_000_000),
        unavailable: BTreeMap::from([(
            Endpoint::UserRead,
            "api offline (47009): legacy endpoint".to_string(),
        )]),
        last_errors: BTreeMap::new(),
        quota: BTreeMap::from([(
            Endpoint::UserSummary,
            crate::wechat::client::ApiQuota {
                daily_limit: 5000,
                used: 12,
                remain: 4988,
            },
        )]),
    }
}

/// A store with one realistic account, call counters moved, the bodies as strings.
fn realistic_store() -> (Arc<Store>, String, String) {
    let store = Store::new("0.1.0", "abc123");
    store.update_account("brand \"one\"", &realistic(), &full_status(), 100);
    let obs = store.self_metrics().observer("brand \"one\"");
    obs.api_call("getusercumulate", "0");
    obs.api_call("getusercumulate", "0");
    obs.api_call("getuserread", "47009");
    obs.token_fetch("stable", "0");
    use crate::probe::{FailureReason, Outcome, ProbeSink};
    store.probe_added("brand \"one\"");
    for failure in [None, Some(FailureReason::Timeout)] {
        store.probe_result(
            "brand \"one\"",
            &Outcome {
                duration: std::time::Duration::from_millis(1500),
                failure,
            },
        );
    }
    store.self_metrics().add_exporter_count(
        "wechat_mp_exporter_otlp_exports_total",
        ("result", "success"),
        1,
    );
    let e = store.exposition();
    let om = String::from_utf8(e.openmetrics().to_vec()).unwrap();
    let text = String::from_utf8(e.text.to_vec()).unwrap();
    (store, om, text)
}

/// The value of the exact series `series` (name plus label block) in a body.
fn value<'a>(body: &'a str, series: &str) -> Option<&'a str> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
}

fn body(store: &Store, format: text::Format) -> String {
    let e = store.exposition();
    let bytes = match format {
        text::Format::OpenMetrics => e.openmetrics(),
        text::Format::Text => e.text.clone(),
        text::Format::Protobuf => unreachable!("the tests read text bodies"),
    };
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn documented_text() -> String {
    let store = Store::new("0.1.0", "abc123");
    store.update_account("brand", &documented(), &full_status(), 100);
    body(&store, text::Format::Text)
}

#[test]
fn documented_examples_map_to_documented_values() {
    let t = documented_text();
    let v = |s: &str| value(&t, s).unwrap_or_else(|| panic!("missing {s}\n{t}"));
    assert_eq!(v(r#"wechat_mp_followers{account="brand"}"#), "1217056");
    assert_eq!(
        v(r#"wechat_mp_new_followers{account="brand",source="other"}"#),
        "0"
    );
    assert_eq!(
        v(r#"wechat_mp_callback_requests{account="brand"}"#),
        "36974"
    );
    assert_eq!(
        v(r#"wechat_mp_callback_failed_requests{account="brand"}"#),
        "67"
    );
    assert_eq!(
        v(r#"wechat_mp_callback_time_cost_seconds{account="brand"}"#),
        "14994.291"
    );
    assert_eq!(
        v(r#"wechat_mp_callback_max_time_cost_seconds{account="brand"}"#),
        "5.044"
    );
    assert_eq!(
        v(r#"wechat_mp_hourly_callback_max_time_cost_seconds{account="brand",hour="0"}"#),
        "5.042"
    );
    assert_eq!(
        v(r#"wechat_mp_upstream_messages{account="brand",msg_type="text"}"#),
        "817"
    );
    assert_eq!(
        v(r#"wechat_mp_upstream_message_users{account="brand",msg_type="text"}"#),
        "282"
    );
    assert_eq!(
        v(r#"wechat_mp_hourly_upstream_messages{account="brand",msg_type="text",hour="0"}"#),
        "10"
    );
    assert_eq!(
        v(r#"wechat_mp_monthly_upstream_messages{account="brand",msg_type="text"}"#),
        "42206"
    );
    assert_eq!(
        v(r#"wechat_mp_weekly_upstream_message_users{account="brand",msg_type="text"}"#),
        "16"
    );
    assert_eq!(
        v(r#"wechat_mp_upstream_message_distribution_users{account="brand",count_interval="1_5"}"#),
        "246"
    );
    // getuserread rows from before the channel split carry no user_source: they are the total,
    // in the family without `source`.
    assert_eq!(v(r#"wechat_mp_article_reads{account="brand"}"#), "48796");
    assert_eq!(
        v(r#"wechat_mp_article_page_read_users{account="brand"}"#),
        "45524"
    );
    assert_eq!(
        v(r#"wechat_mp_hourly_article_original_page_reads{account="brand",hour="12"}"#),
        "25517"
    );
    assert!(!t.contains("source=\"all\""), "{t}");
    assert_eq!(
        v(r#"wechat_mp_shares{account="brand",scene="friends"}"#),
        "207"
    );
    assert_eq!(
        v(r#"wechat_mp_share_users{account="brand",scene="code_5"}"#),
        "11"
    );
    assert_eq!(
        v(r#"wechat_mp_hourly_shares{account="brand",scene="friends",hour="12"}"#),
        "72"
    );
    assert_eq!(
        v(r#"wechat_mp_massmsg_daily_reads{account="brand",msgid="10000050_1"}"#),
        "25615"
    );
    assert_eq!(
        v(
            r#"wechat_mp_massmsg_info{account="brand",msgid="10000050_1",title="12月27日 DiLi日报",index="1",sent_date="",url=""}"#
        ),
        "1"
    );
    let mm = r#"account="brand",msgid="202457380_1""#;
    assert_eq!(
        v(
            r#"wechat_mp_massmsg_info{account="brand",msgid="202457380_1",title="马航丢画记",index="1",sent_date="2014-12-14",url=""}"#
        ),
        "1"
    );
    assert_eq!(v(&format!("wechat_mp_massmsg_reads{{{mm}}}")), "25615");
    assert_eq!(
        v(&format!(
            "wechat_mp_massmsg_source_reads{{{mm},source=\"moments\"}}"
        )),
        "433422"
    );
    assert_eq!(
        v(&format!(
            "wechat_mp_massmsg_source_read_users{{{mm},source=\"history\"}}"
        )),
        "1669"
    );
    assert_eq!(
        v(&format!("wechat_mp_massmsg_target_users{{{mm}}}")),
        "261917"
    );
    assert_eq!(
        v(&format!(
            "wechat_mp_massmsg_moments_shares{{{mm},source=\"other\"}}"
        )),
        "775"
    );
    // 2014-12-14 00:00 UTC+8.
    assert_eq!(
        v(&format!("wechat_mp_massmsg_sent_timestamp_seconds{{{mm}}}")),
        "1418486400"
    );
    assert_eq!(
        v(r#"wechat_mp_published_read_users{account="brand"}"#),
        "4123"
    );
    assert_eq!(
        v(r#"wechat_mp_published_source_read_users{account="brand",source="session"}"#),
        "234"
    );
    assert_eq!(v(r#"wechat_mp_published_articles{account="brand"}"#), "512");
    assert_eq!(
        v(r#"wechat_mp_published_favourite_users{account="brand"}"#),
        "233"
    );
    assert_eq!(
        v(
            r#"wechat_mp_published_article_source_read_users{account="brand",msgid="10000050_1",source="session"}"#
        ),
        "234"
    );
    assert_eq!(
        v(r#"wechat_mp_published_article_share_users{account="brand",msgid="2247490098_1"}"#),
        "366"
    );
    let pa = r#"account="brand",msgid="2247490098_1""#;
    assert_eq!(
        v(&format!("wechat_mp_article_cumulative_read_users{{{pa}}}")),
        "4123"
    );
    assert_eq!(
        v(&format!("wechat_mp_article_cumulative_tips_yuan{{{pa}}}")),
        "3.61"
    );
    assert_eq!(
        v(&format!(
            "wechat_mp_article_cumulative_new_followers{{{pa}}}"
        )),
        "327"
    );
    assert_eq!(
        v(&format!("wechat_mp_article_read_delivery_ratio{{{pa}}}")),
        "0.0271002"
    );
    assert_eq!(
        v(&format!(
            "wechat_mp_article_read_avg_active_seconds{{{pa}}}"
        ))
        .parse::<f64>()
        .unwrap(),
        1.0588236 * 60.0
    );
    assert_eq!(
        v(&format!(
            "wechat_mp_article_read_exit_position_ratio{{{pa},position=\"20_40\"}}"
        )),
        "0.1023412"
    );
    assert_eq!(
        v(&format!(
            "wechat_mp_article_published_timestamp_seconds{{{pa}}}"
        )),
        "1761926400"
    );
    // The examples' dates are all 2025-11-01 here: 00:00 UTC+8 is 2025-10-31T16:00Z.
    assert_eq!(
        v(r#"wechat_mp_data_date_timestamp_seconds{account="brand",api="getusercumulate"}"#),
        "1761926400"
    );
    assert_eq!(v(r#"wechat_mp_up{account="brand"}"#), "1");
    assert_eq!(
        v(r#"wechat_mp_last_poll_duration_seconds{account="brand"}"#),
        "1.25"
    );
    assert_eq!(
        v(
            r#"wechat_mp_api_unavailable{account="brand",api="getuserread",reason="api offline (47009): legacy endpoint"}"#
        ),
        "1"
    );
    assert_eq!(
        v(r#"wechat_mp_exporter_build_info{version="0.1.0",revision="abc123"}"#),
        "1"
    );
    assert_eq!(
        v(r#"wechat_mp_dropped_articles{account="brand",api="getarticletotal"}"#),
        "0"
    );
}

#[test]
fn latest_day_wins_and_codes_become_names() {
    let (_, _, t) = realistic_store();
    let a = r#"account="brand \"one\"""#;
    let v = |s: String| value(&t, &s).map(str::to_string);
    assert_eq!(
        v(format!("wechat_mp_followers{{{a}}}")).as_deref(),
        Some("1009")
    );
    assert_eq!(
        v(format!("wechat_mp_new_followers{{{a},source=\"qr_code\"}}")).as_deref(),
        Some("12")
    );
    assert_eq!(
        v(format!(
            "wechat_mp_lost_followers{{{a},source=\"qr_code\"}}"
        ))
        .as_deref(),
        Some("3")
    );
    assert_eq!(
        v(format!(
            "wechat_mp_new_followers{{{a},source=\"code_999\"}}"
        ))
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        v(format!(
            "wechat_mp_article_source_reads{{{a},source=\"moments\"}}"
        ))
        .as_deref(),
        Some("30")
    );
    assert_eq!(
        v(format!(
            "wechat_mp_article_source_reads{{{a},source=\"search\"}}"
        ))
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        v(format!("wechat_mp_hourly_article_reads{{{a},hour=\"12\"}}")).as_deref(),
        Some("12")
    );
    assert_eq!(
        v(format!(
            "wechat_mp_hourly_article_source_reads{{{a},source=\"session\",hour=\"12\"}}"
        ))
        .as_deref(),
        Some("7")
    );
    assert_eq!(
        v(format!("wechat_mp_article_favourites{{{a}}}")).as_deref(),
        Some("7")
    );
    // A field absent from the row emits nothing, not a zero.
    assert_eq!(
        v(format!(
            "wechat_mp_article_source_favourites{{{a},source=\"search\"}}"
        )),
        None
    );
    let title = "title=\"He said \\\"hi\\\" \\\\ back\\nslash 🎉 中文标题\"";
    assert_eq!(
        v(format!(
            "wechat_mp_massmsg_info{{{a},msgid=\"2247490100_1\",{title},index=\"1\",sent_date=\"2026-11-20\",url=\"\"}}"
        ))
        .as_deref(),
        Some("1")
    );
    let t1 = format!("{a},msgid=\"2247490100_1\"");
    assert_eq!(
        v(format!("wechat_mp_massmsg_target_users{{{t1}}}")).as_deref(),
        Some("1000")
    );
    assert_eq!(
        v(format!(
            "wechat_mp_massmsg_source_read_users{{{t1},source=\"top_stories\"}}"
        ))
        .as_deref(),
        Some("10")
    );
    assert_eq!(
        v(format!(
            "wechat_mp_massmsg_source_reads{{{t1},source=\"search\"}}"
        ))
        .as_deref(),
        Some("11")
    );
    assert!(t.contains(&format!(
        "wechat_mp_article_info{{{a},msgid=\"2247490098_1\",{title},index=\"1\",published_date=\""
    )));
    let t2 = format!("{a},msgid=\"2247490098_1\"");
    assert_eq!(
        v(format!(
            "wechat_mp_article_cumulative_source_read_users{{{t2},source=\"moments\"}}"
        ))
        .as_deref(),
        Some("100")
    );
    assert_eq!(
        v(format!(
            "wechat_mp_article_cumulative_source_read_users{{{t2},source=\"scene_e696b0e59cbae699af\"}}"
        ))
        .as_deref(),
        Some("7")
    );
    // read_user goes to the total family; the 全部 entry is not a channel beside the others.
    assert_eq!(t.matches("wechat_mp_published_read_users{").count(), 1);
    assert!(!t.contains("source=\"all\""));
    assert!(!t.contains("source=\"全部\""));
}

#[test]
fn no_series_appears_twice() {
    let (_, om, t) = realistic_store();
    for body in [&om, &t] {
        let mut seen = BTreeSet::new();
        for line in body.lines().filter(|l| !l.starts_with('#')) {
            let (series, _) = line.rsplit_once(' ').unwrap();
            assert!(seen.insert(series.to_string()), "duplicate series {series}");
        }
        assert!(seen.len() > 150, "only {} series", seen.len());
    }
}

#[test]
fn escaping_in_both_formats() {
    let (_, om, t) = realistic_store();
    let escaped = r#"title="He said \"hi\" \\ back\nslash 🎉 中文标题""#;
    assert!(t.contains(escaped));
    assert!(om.contains(escaped));
    assert!(t.contains(r#"account="brand \"one\"""#));
    assert!(
        !t.contains("back\nslash"),
        "a raw newline would split the line"
    );
}

#[test]
fn call_counters_appear_and_reencode_only_when_changed() {
    let (store, om, t) = realistic_store();
    assert_eq!(
        value(
            &t,
            r#"wechat_mp_api_requests_total{account="brand \"one\"",api="getusercumulate",errcode="0"}"#
        ),
        Some("2")
    );
    assert_eq!(
        value(
            &om,
            r#"wechat_mp_api_requests_total{account="brand \"one\"",api="getuserread",errcode="47009"}"#
        ),
        Some("1")
    );
    assert_eq!(
        value(
            &t,
            r#"wechat_mp_token_fetches_total{account="brand \"one\"",source="stable",errcode="0"}"#
        ),
        Some("1")
    );
    assert!(om.contains("# TYPE wechat_mp_token_fetches counter\n"));
    assert!(t.contains("# TYPE wechat_mp_token_fetches_total counter\n"));
    // Clean: the same encoded bodies are handed out again.
    // The exporter's counters: the live block's second part, after the business block.
    let block = |e: &Exposition| e.blocks_of(text::Format::Text, true)[2].clone();
    let a = store.exposition();
    let b = store.exposition();
    assert_eq!(block(&a).as_ptr(), block(&b).as_ptr());
    store
        .self_metrics()
        .observer("brand \"one\"")
        .api_call("getusercumulate", "0");
    let c = store.exposition();
    assert_ne!(block(&b).as_ptr(), block(&c).as_ptr());
    let t = String::from_utf8(c.text.to_vec()).unwrap();
    assert_eq!(
        value(
            &t,
            r#"wechat_mp_api_requests_total{account="brand \"one\"",api="getusercumulate",errcode="0"}"#
        ),
        Some("3")
    );
    assert_eq!(
        store.self_metrics().count(
            "wechat_mp_api_requests_total",
            "brand \"one\"",
            "getusercumulate",
            "0"
        ),
        3
    );
}

#[test]
fn removed_accounts_lose_every_series() {
    let store = Store::new("v", "r");
    store.update_account("a", &documented(), &full_status(), 100);
    store.update_account("b", &documented(), &AccountStatus::default(), 100);
    store
        .self_metrics()
        .observer("a")
        .api_call("getusercumulate", "0");
    crate::probe::ProbeSink::probe_added(&*store, "a");
    let t = body(&store, text::Format::Text);
    assert_eq!(
        value(&t, r#"wechat_mp_followers{account="a"}"#),
        Some("1217056")
    );
    assert_eq!(
        value(
            &t,
            r#"wechat_mp_callback_probe_failures_total{account="a",reason="tls"}"#
        ),
        Some("0")
    );
    assert_eq!(value(&t, r#"wechat_mp_up{account="b"}"#), Some("0"));
    store.remove_account("a");
    let t = body(&store, text::Format::Text);
    assert!(!t.contains("account=\"a\""), "{t}");
    assert_eq!(
        value(&t, r#"wechat_mp_followers{account="b"}"#),
        Some("1217056")
    );
    store.update_account("c", &documented(), &AccountStatus::default(), 100);
    store.retain_accounts(&["c".to_string()]);
    let t = body(&store, text::Format::Text);
    assert!(!t.contains("account=\"b\""));
    assert_eq!(
        value(&t, r#"wechat_mp_followers{account="c"}"#),
        Some("1217056")
    );
    store.retain_accounts(&[]);
    let t = body(&store, text::Format::Text);
    assert_eq!(
        t.lines()
            .filter(|l| {
                !l.starts_with('#')
                    && !l.starts_with("wechat_mp_exporter_config_")
                    && !l.starts_with(m::EXPORTER_BUSINESS_ENCODES_TOTAL.name)
            })
            .collect::<Vec<_>>(),
        vec![r#"wechat_mp_exporter_build_info{version="v",revision="r"} 1"#]
    );
}

#[test]
fn max_articles_keeps_the_newest_and_counts_the_rest() {
    let rows: Vec<serde_json::Value> = (1..=5)
        .map(|i| {
            serde_json::json!({"ref_date": format!("2026-11-0{i}"), "msgid": format!("22474901{i:02}_1"),
                "title": format!("t{i}"), "publish_type": 0,
                "detail_list": [{"stat_date": "2026-11-20", "read_user": i}]})
        })
        .collect();
    let mut reports = AccountReports::default();
    reports.reports.insert(
        Endpoint::ArticleTotalDetail,
        parse(
            Endpoint::ArticleTotalDetail,
            serde_json::json!({"list": rows}).to_string().as_bytes(),
        ),
    );
    let share_rows: Vec<serde_json::Value> = ["9_1", "10_1", "10_2"]
        .iter()
        .map(|id| serde_json::json!({"ref_date": "2026-11-20", "msgid": id, "detail": {"share_user": 1}}))
        .collect();
    reports.reports.insert(
        Endpoint::ArticleShare,
        parse(
            Endpoint::ArticleShare,
            serde_json::json!({"list": share_rows})
                .to_string()
                .as_bytes(),
        ),
    );
    let samples = map_account("a", &reports, &AccountStatus::default(), 2);
    let kept: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "wechat_mp_article_cumulative_read_users")
        .map(|s| (s.labels[1].1.as_ref(), s.value))
        .collect();
    assert_eq!(
        kept,
        vec![
            ("2247490105_1", Value::Int(5)),
            ("2247490104_1", Value::Int(4))
        ]
    );
    let shares: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "wechat_mp_published_article_share_users")
        .map(|s| s.labels[1].1.as_ref())
        .collect();
    // Numeric msgid order: 10_2 and 10_1 are newer than 9_1.
    assert_eq!(shares, vec!["10_2", "10_1"]);
    let dropped: BTreeMap<_, _> = samples
        .iter()
        .filter(|s| s.name == "wechat_mp_dropped_articles")
        .map(|s| (s.labels[1].1.as_ref(), s.value))
        .collect();
    assert_eq!(
        dropped,
        BTreeMap::from([
            ("getarticleshare", Value::Int(1)),
            ("getarticletotaldetail", Value::Int(3))
        ])
    );
}

#[test]
fn openmetrics_body_is_well_formed() {
    let (_, om, _) = realistic_store();
    assert!(om.ends_with("# EOF\n"));
    assert_eq!(om.matches("# EOF").count(), 1);
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut units: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in om.lines() {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').unwrap();
            assert!(!families.contains_key(name), "family {name} twice");
            current = Some((name.to_string(), String::new()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            let (cur, _) = current.clone().expect("TYPE after HELP");
            assert_eq!(cur, name);
            assert!(
                kind == "gauge" || kind == "counter" || kind == "histogram",
                "{line}"
            );
            families.insert(name.to_string(), kind.to_string());
            current = Some((cur, kind.to_string()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# UNIT ") {
            let (name, unit) = rest.split_once(' ').unwrap();
            let (cur, _) = current.clone().expect("UNIT after TYPE");
            assert_eq!(cur, name);
            // OpenMetrics: the unit is the family name's suffix (Prometheus rejects it otherwise).
            assert!(name.ends_with(&format!("_{unit}")), "{line}");
            units.insert(name.to_string(), unit.to_string());
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment {line}");
        let (family, kind) = current.clone().expect("sample after TYPE");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let name = series.split('{').next().unwrap();
        if kind == "counter" {
            assert_eq!(name, format!("{family}_total"), "{line}");
            assert!(value.parse::<u64>().is_ok(), "{line}");
        } else if kind == "histogram" {
            let suffix = name.strip_prefix(family.as_str()).unwrap_or(name);
            assert!(["_bucket", "_sum", "_count"].contains(&suffix), "{line}");
        } else {
            assert_eq!(name, family, "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            check_label_block(&labels[1..labels.len() - 1], line);
        }
    }
    assert_eq!(
        families.get("wechat_mp_followers").map(String::as_str),
        Some("gauge")
    );
    assert_eq!(
        families
            .get("wechat_mp_exporter_build_info")
            .map(String::as_str),
        Some("gauge")
    );
    assert_eq!(
        families.get("wechat_mp_api_requests").map(String::as_str),
        Some("counter")
    );
    // Every family with a unit in the catalogue has its UNIT line, and only those.
    for family in families.keys() {
        let info = lookup(family)
            .or_else(|| lookup(&format!("{family}_total")))
            .unwrap();
        assert_eq!(
            units.get(family).map(String::as_str),
            info.unit(),
            "{family}"
        );
    }
    assert_eq!(units["wechat_mp_api_requests"], "requests");
    assert_eq!(units["wechat_mp_callback_time_cost_seconds"], "seconds");
}

/// `name="escaped value"` pairs separated by commas, every escape one of `\\ \" \n`.
fn check_label_block(block: &str, line: &str) {
    let mut chars = block.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        assert_eq!(chars.next(), Some('"'), "{line}");
        loop {
            match chars.next() {
                Some('\\') => assert!(matches!(chars.next(), Some('\\' | '"' | 'n')), "{line}"),
                Some('"') => break,
                Some(c) => assert!(c != '\n', "{line}"),
                None => panic!("unterminated label value: {line}"),
            }
        }
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(c) => panic!("unexpected {c:?} after a label value: {line}"),
        }
    }
}

#[test]
fn promtool_finds_nothing_to_complain_about() {
    let promtool = promtool();
    let (_, _, text) = realistic_store();
    // The lint must be able to fail: a counter without `_total` is reported.
    let (ok, said) = promtool_check(&promtool, "# HELP foo x\n# TYPE foo counter\nfoo 1\n");
    assert!(
        !ok && said.contains("_total"),
        "promtool did not lint: {said}"
    );
    let (ok, said) = promtool_check(&promtool, &text);
    assert!(ok, "promtool failed: {said}");
    assert_eq!(said, "", "promtool complained");
}

/// Runs `promtool check metrics` on `body`: (exit 0, stdout + stderr).
fn promtool_check(promtool: &std::path::Path, body: &str) -> (bool, String) {
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool starts");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(body.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// Prometheus's own OpenMetrics parser (promtool's backfill reader) accepts the body. It wants
/// a timestamp on every sample, so a copy gets one; the served body has none.
#[test]
fn prometheus_parses_the_openmetrics_body() {
    let promtool = promtool();
    let (_, om, _) = realistic_store();
    let mut stamped = String::new();
    let mut samples = 0;
    for line in om.lines() {
        stamped.push_str(line);
        if !line.starts_with('#') {
            stamped.push_str(" 1700000000");
            samples += 1;
        }
        stamped.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("metrics.om");
    std::fs::write(&input, stamped).unwrap();
    let out = std::process::Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(dir.path().join("blocks"))
        .output()
        .expect("promtool starts");
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "promtool rejected the OpenMetrics body: {said}"
    );
    // The block table's NUM SERIES column: every sample line became its own series.
    let series: usize = said
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(6))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected promtool output: {said}"));
    assert_eq!(series, samples);
}

/// Debian's promtool (`apt-get install prometheus`; `.ci/run` installs it). Without it these tests
/// fail rather than pass unchecked.
fn promtool() -> PathBuf {
    let fixed = PathBuf::from("/usr/bin/promtool");
    let found = fixed.exists().then_some(fixed).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join("promtool"))
            .find(|p| p.exists())
    });
    found.expect("promtool not found: apt-get install prometheus (or run bash .ci/run)")
}

/// Every family the mapping can emit is in the catalogue, and every catalogue entry is emitted
/// when every report is filled.
#[test]
fn catalogue_and_output_agree() {
    let (_, _, t) = realistic_store();
    let emitted: BTreeSet<&str> = t
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let listed: BTreeSet<&str> = catalogue().iter().map(|m| m.name).collect();
    let missing_from_catalogue: Vec<_> = emitted.difference(&listed).collect();
    let never_emitted: Vec<_> = listed.difference(&emitted).collect();
    assert!(
        missing_from_catalogue.is_empty(),
        "not in the catalogue: {missing_from_catalogue:?}"
    );
    assert!(
        never_emitted.is_empty(),
        "catalogued but not emitted: {never_emitted:?}"
    );
    // And the labels are the catalogued ones, in order.
    let samples = map_account("a", &realistic(), &full_status(), 100);
    for s in &samples {
        let info = lookup(s.name).unwrap();
        let names: Vec<_> = s.labels.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, info.labels, "{}", s.name);
    }
}

#[test]
fn docs_match_the_catalogue() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("docs/metrics.md");
    // The series counts come from the demo's golden exposition (tests/e2e/golden.rs writes it).
    let demo = std::fs::read_to_string(root.join("tests/golden/demo.txt")).unwrap();
    let want = catalogue_markdown()
        + &crate::catalogue::exclude::series_markdown(
            &demo,
            "the demo's exposition (`tests/golden/demo.txt`: the simulator's three accounts, \
             one poll round, `max_articles_per_account = 200`)",
        );
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/metrics.md is stale: run `UPDATE_DOCS=1 cargo test --lib metrics` to regenerate it"
    );
    assert!(
        want.contains(
            "| `wechat_mp_followers` | gauge | followers (count) | account | stable | getusercumulate.cumulate_user |"
        )
    );
}

#[test]
fn empty_reports_give_only_health() {
    let samples = map_account(
        "a",
        &AccountReports::default(),
        &AccountStatus::default(),
        10,
    );
    assert_eq!(
        samples,
        vec![Sample {
            name: "wechat_mp_up",
            labels: vec![("account", "a".into())].into(),
            value: Value::Int(0)
        }]
    );
}

/// The documented example bodies of every endpoint mapped through the metrics, both formats,
/// byte for byte against `tests/golden/examples.*` (`UPDATE_DOCS=1` rewrites them). The one
/// wall-clock value, the config load time, is pinned to 0.
#[test]
fn documented_examples_match_the_golden_exposition() {
    let store = Store::new("0.1.0", "abc123");
    store.update_account("brand", &documented(), &full_status(), 100);
    let pin = |body: String| {
        body.lines()
            .map(|l| {
                match l.strip_prefix(
                    "wechat_mp_exporter_config_last_reload_success_timestamp_seconds ",
                ) {
                    Some(_) => {
                        "wechat_mp_exporter_config_last_reload_success_timestamp_seconds 0\n"
                            .to_string()
                    }
                    None => format!("{l}\n"),
                }
            })
            .collect::<String>()
    };
    for (file, format) in [
        ("examples.openmetrics.txt", text::Format::OpenMetrics),
        ("examples.txt", text::Format::Text),
    ] {
        let have = pin(body(&store, format));
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(file);
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &have).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            want == have,
            "{} is stale: run `UPDATE_DOCS=1 cargo test --lib metrics` if the change is intended",
            path.display()
        );
    }
}

/// Any Unicode label value goes through our escaping into an OpenMetrics body, through
/// Prometheus's own parser (promtool builds TSDB blocks from it) and comes back out of the
/// database unchanged. One promtool run for a batch of generated values keeps it cheap.
#[test]
fn any_unicode_label_value_round_trips_through_promtool() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut values: Vec<String> = [
        "\\",
        "\"",
        "\n",
        "a\\nb",
        "\\\"",
        "品牌",
        "😀 \t\r\u{1b}\u{7f}",
    ]
    .map(String::from)
    .to_vec();
    let strategy = proptest::string::string_regex("(?s).{1,24}").unwrap();
    for _ in 0..200 {
        values.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    // Backfill's writer, and prometheus-client's OpenMetrics encoder (what `/metrics` sends),
    // given the backfill's timestamp on each line so promtool can store it.
    let mut backfill = String::from("# TYPE roundtrip gauge\n");
    for (i, v) in values.iter().enumerate() {
        let mut escaped = String::new();
        crate::metrics::timestamped::escape_label_value(v, &mut escaped);
        backfill.push_str(&format!(
            "roundtrip{{i=\"{i}\",v=\"{escaped}\"}} 1 1700000000\n"
        ));
    }
    backfill.push_str("# EOF\n");
    let own = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let point = Point {
                labels: vec![("i", i.to_string().into()), ("v", v.as_str().into())].into(),
                value: Value::Int(1),
            };
            ("roundtrip", point)
        })
        .collect();
    let encoded = text::encode(
        text::Format::OpenMetrics,
        text::Families {
            own,
            ..Default::default()
        },
    );
    let mut exposition = String::new();
    for line in String::from_utf8(encoded.to_vec()).unwrap().lines() {
        exposition.push_str(line);
        exposition.push_str(if line.starts_with('#') {
            "\n"
        } else {
            " 1700000000\n"
        });
    }
    exposition.push_str("# EOF\n");
    for body in [backfill, exposition] {
        unicode_round_trip(&values, &body);
    }
}

/// Stores `body` (OpenMetrics, series `roundtrip{i, v}` with timestamps) with promtool and checks
/// every `v` comes back as `values[i]`.
fn unicode_round_trip(values: &[String], body: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.om"), body).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(promtool())
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("promtool starts");
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "promtool {args:?}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        said
    };
    run(&[
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        "m.om",
        "blocks",
    ]);
    // The dump opens the folder as a read-only DB, which wants a (here empty) WAL.
    std::fs::create_dir_all(dir.path().join("blocks/wal")).unwrap();
    let dump = run(&["tsdb", "dump", "blocks"]);
    let mut back = vec![None; values.len()];
    for line in dump.lines() {
        let labels = go_quoted_labels(line);
        let i: usize = labels["i"].parse().unwrap();
        back[i] = Some(labels["v"].clone());
    }
    for (i, v) in values.iter().enumerate() {
        assert_eq!(back[i].as_ref(), Some(v), "value {i}");
    }
}

/// The labels of a `promtool tsdb dump` line, `{a="x", b="y"} value ts`, whose values Go's
/// strconv.Quote wrote.
fn go_quoted_labels(line: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = line.strip_prefix('{').expect("a dump line");
    while let Some((key, after)) = rest.split_once("=\"") {
        let key = key.trim_start_matches([',', ' ']).to_string();
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (at, c) = chars.next().expect("a closed quote");
            match c {
                '"' => break at,
                '\\' => {
                    let (_, e) = chars.next().unwrap();
                    let hex = |chars: &mut std::str::CharIndices, n: usize| {
                        let s: String = (0..n).map(|_| chars.next().unwrap().1).collect();
                        char::from_u32(u32::from_str_radix(&s, 16).unwrap()).unwrap()
                    };
                    value.push(match e {
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'v' => '\u{b}',
                        'x' => hex(&mut chars, 2),
                        'u' => hex(&mut chars, 4),
                        'U' => hex(&mut chars, 8),
                        other => other,
                    });
                }
                c => value.push(c),
            }
        };
        out.insert(key, value);
        rest = &after[end + 1..];
        if rest.starts_with('}') {
            break;
        }
    }
    out
}

#[test]
fn excluded_families_are_never_made_and_a_reload_drops_them_at_once() {
    let (store, om, text) = realistic_store();
    assert!(text.contains("\nwechat_mp_hourly_article_reads{"));
    assert!(text.contains("\nwechat_mp_callback_probe_latency_seconds_bucket{"));
    let exclude = Exclusions::parse(["hourly", "callback_probe"]).unwrap();
    // Already-mapped snapshots lose the families at once (a reload).
    store.set_exclusions(exclude.clone());
    let after = String::from_utf8(store.exposition().text.to_vec()).unwrap();
    assert!(!after.contains("wechat_mp_hourly_"), "hourly families gone");
    assert!(
        !after.contains("wechat_mp_callback_probe_"),
        "probe families gone"
    );
    assert!(after.contains("\nwechat_mp_followers{"), "the rest stays");
    assert!(after.contains("\nwechat_mp_up{"));
    // The lines left are exactly the old ones without the excluded families.
    let kept = |body: &str| -> Vec<String> {
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| {
                let name = l.split(['{', ' ']).next().unwrap();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| lookup(f).is_some()))
                    .unwrap_or(name);
                !exclude.drops(family) && family != m::EXPORTER_BUSINESS_ENCODES_TOTAL.name
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(kept(&after), kept(&text));
    assert!(kept(&after).len() < text.lines().filter(|l| !l.starts_with('#')).count());
    // A new update maps without them: nothing excluded is made.
    let samples = map_account_excluding(
        "a",
        &realistic(),
        &full_status(),
        100,
        Arc::new(exclude.clone()),
    );
    assert!(!samples.is_empty());
    assert!(samples.iter().all(|s| !exclude.drops(s.name)));
    assert!(
        map_account("a", &realistic(), &full_status(), 100)
            .iter()
            .any(|s| exclude.drops(s.name))
    );
    // Lifting the exclusion brings them back with the next update.
    store.set_exclusions(Exclusions::default());
    store.update_account("brand \"one\"", &realistic(), &full_status(), 100);
    let back = String::from_utf8(store.exposition().text.to_vec()).unwrap();
    assert!(back.contains("\nwechat_mp_hourly_article_reads{"));
    assert!(om.contains("\nwechat_mp_hourly_article_reads{"));
}
