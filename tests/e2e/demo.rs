//! `wechat-mp-exporter demo` end to end: the simulator and the exporter in one process; every
//! metric the README names for every demo account, with the values the simulator served, and
//! the text exposition accepted by Debian's `promtool check metrics`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use jiff::civil::Date;
use wechat_mp_exporter::clock;
use wechat_mp_exporter::demo::{Demo, demo_sim_config};
use wechat_mp_exporter::wechat::date::{add_days, china_midnight};
use wechat_mp_exporter::wechat::{DateRange, Endpoint, Report};

use crate::support::harness::promtool_stdin;
use crate::support::{Sample, get, of, parse_text, value, wait_until_ok};

/// The README's metric table: the names dashboards, alerts and outside checks rely on.
const NAMED_METRICS: [&str; 17] = [
    "wechat_mp_followers",
    "wechat_mp_new_followers",
    "wechat_mp_lost_followers",
    "wechat_mp_published_read_users",
    "wechat_mp_article_reads",
    "wechat_mp_article_cumulative_read_users",
    "wechat_mp_massmsg_read_users",
    "wechat_mp_massmsg_reads",
    "wechat_mp_callback_requests",
    "wechat_mp_callback_failed_requests",
    "wechat_mp_callback_time_cost_seconds",
    "wechat_mp_callback_max_time_cost_seconds",
    "wechat_mp_upstream_messages",
    "wechat_mp_upstream_message_users",
    "wechat_mp_data_date_timestamp_seconds",
    "wechat_mp_up",
    "wechat_mp_api_requests_total",
];

/// The label vocabularies of docs/datacube-api.md ("Label codes"), written out independently
/// of the exporter's own tables.
fn follower_source(code: u64) -> String {
    let name = match code {
        0 => "other",
        1 => "account_search",
        17 => "name_card",
        30 => "qr_code",
        35 => "number_search",
        39 => "account_query",
        43 => "article_menu",
        51 => "after_payment",
        57 => "article_account_name",
        100 => "ads",
        149 => "mini_program",
        161 => "repost",
        176 => "album",
        200 => "channels",
        201 => "live",
        _ => return format!("code_{code}"),
    };
    name.to_string()
}

/// The read channel of a getuserread code; `None` for 99999999, the all-channel row.
fn read_source(code: u64) -> Option<String> {
    let name = match code {
        99999999 => return None,
        0 => "session",
        1 => "friends",
        2 => "moments",
        3 => "tencent_weibo",
        4 => "history",
        5 => "other",
        6 => "top_stories",
        7 => "search",
        _ => return Some(format!("code_{code}")),
    };
    Some(name.to_string())
}

fn msg_type(code: u64) -> String {
    let name = match code {
        1 => "text",
        2 => "image",
        3 => "voice",
        4 => "video",
        6 => "app_link",
        _ => return format!("code_{code}"),
    };
    name.to_string()
}

fn date_of(samples: &[Sample], account: &str, e: Endpoint) -> Date {
    let seconds = value(
        samples,
        "wechat_mp_data_date_timestamp_seconds",
        account,
        &[("api", e.name())],
    )
    .unwrap_or_else(|| panic!("{account} has no data date for {}", e.name()));
    jiff::Timestamp::from_second(seconds as i64)
        .unwrap()
        .to_zoned(wechat_mp_exporter::wechat::date::china())
        .date()
}

fn assert_value(samples: &[Sample], name: &str, account: &str, labels: &[(&str, &str)], want: f64) {
    let got = value(samples, name, account, labels);
    assert_eq!(got, Some(want), "{name}{{account={account:?},{labels:?}}}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_every_design_metric_with_the_simulators_values() {
    let started = Instant::now();
    let demo = Demo::start(SocketAddr::from(([127, 0, 0, 1], 0)), clock::system())
        .await
        .expect("demo starts");
    let base = format!("http://{}", demo.exporter_addr);
    wait_until_ok(&format!("{base}/-/ready")).await;
    println!("demo ready after {:?}", started.elapsed());

    let (status, content_type, body) = get(&format!("{base}/metrics"), None).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let samples = parse_text(&body);
    let sim_accounts = demo_sim_config().accounts;
    assert_eq!(demo.account_names.len(), 3);

    for (i, account) in demo.account_names.iter().enumerate() {
        let app = &sim_accounts[i].app_id;
        for name in NAMED_METRICS {
            assert!(
                !of(&samples, name, account).is_empty(),
                "{name} missing for {account}"
            );
        }
        assert_value(&samples, "wechat_mp_up", account, &[], 1.0);
        let report = |e: Endpoint, day: Date| demo.simulator.report(app, e, DateRange::day(day));

        let day = date_of(&samples, account, Endpoint::UserCumulate);
        let Report::UserCumulate(rows) = report(Endpoint::UserCumulate, day) else {
            unreachable!()
        };
        assert_value(
            &samples,
            "wechat_mp_followers",
            account,
            &[],
            rows[0].cumulate_user.unwrap() as f64,
        );

        let day = date_of(&samples, account, Endpoint::UserSummary);
        let Report::UserSummary(rows) = report(Endpoint::UserSummary, day) else {
            unreachable!()
        };
        assert!(!rows.is_empty());
        for row in &rows {
            let source = follower_source(row.user_source.unwrap());
            assert_value(
                &samples,
                "wechat_mp_new_followers",
                account,
                &[("source", &source)],
                row.new_user.unwrap() as f64,
            );
            assert_value(
                &samples,
                "wechat_mp_lost_followers",
                account,
                &[("source", &source)],
                row.cancel_user.unwrap() as f64,
            );
        }
        assert_eq!(
            of(&samples, "wechat_mp_new_followers", account).len(),
            rows.len()
        );

        let day = date_of(&samples, account, Endpoint::InterfaceSummary);
        let Report::InterfaceSummary(rows) = report(Endpoint::InterfaceSummary, day) else {
            unreachable!()
        };
        let row = &rows[0];
        assert_value(
            &samples,
            "wechat_mp_callback_requests",
            account,
            &[],
            row.callback_count.unwrap() as f64,
        );
        assert_value(
            &samples,
            "wechat_mp_callback_failed_requests",
            account,
            &[],
            row.fail_count.unwrap() as f64,
        );
        assert_value(
            &samples,
            "wechat_mp_callback_time_cost_seconds",
            account,
            &[],
            row.total_time_cost.unwrap() as f64 / 1000.0,
        );
        assert_value(
            &samples,
            "wechat_mp_callback_max_time_cost_seconds",
            account,
            &[],
            row.max_time_cost.unwrap() as f64 / 1000.0,
        );

        let day = date_of(&samples, account, Endpoint::UpstreamMsg);
        let Report::UpstreamMsg(rows) = report(Endpoint::UpstreamMsg, day) else {
            unreachable!()
        };
        assert!(!rows.is_empty());
        for row in &rows {
            let t = msg_type(row.msg_type.unwrap());
            assert_value(
                &samples,
                "wechat_mp_upstream_messages",
                account,
                &[("msg_type", &t)],
                row.msg_count.unwrap() as f64,
            );
            assert_value(
                &samples,
                "wechat_mp_upstream_message_users",
                account,
                &[("msg_type", &t)],
                row.msg_user.unwrap() as f64,
            );
        }

        let day = date_of(&samples, account, Endpoint::UserRead);
        let Report::UserRead(rows) = report(Endpoint::UserRead, day) else {
            unreachable!()
        };
        assert!(
            rows.iter().any(|r| r.user_source == Some(99_999_999)),
            "getuserread has the all-channel row"
        );
        for row in &rows {
            let want = row.counters.int_page_read_count.unwrap() as f64;
            match read_source(row.user_source.unwrap()) {
                None => assert_value(&samples, "wechat_mp_article_reads", account, &[], want),
                Some(source) => assert_value(
                    &samples,
                    "wechat_mp_article_source_reads",
                    account,
                    &[("source", &source)],
                    want,
                ),
            }
        }

        let day = date_of(&samples, account, Endpoint::BizSummary);
        let Report::BizSummary(rows) = report(Endpoint::BizSummary, day) else {
            unreachable!()
        };
        assert_value(
            &samples,
            "wechat_mp_published_read_users",
            account,
            &[],
            rows[0].detail.read_user.unwrap() as f64,
        );

        // Per mass-sent article (getarticletotal, 7-day window): the running total at the latest stat_date.
        let as_of = date_of(&samples, account, Endpoint::ArticleTotal);
        let mut articles = 0;
        for d in DateRange::new(add_days(as_of, -6), as_of).unwrap().days() {
            let Report::ArticleTotal(rows) = report(Endpoint::ArticleTotal, d) else {
                unreachable!()
            };
            for row in rows {
                let latest = row.details.iter().max_by_key(|x| x.stat_date).unwrap();
                let labels = [("msgid", row.msgid.as_deref().unwrap())];
                let s: Vec<_> = of(&samples, "wechat_mp_massmsg_read_users", account)
                    .into_iter()
                    .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(v)))
                    .collect();
                assert_eq!(s.len(), 1, "{account} {labels:?}");
                let info: Vec<_> = of(&samples, "wechat_mp_massmsg_info", account)
                    .into_iter()
                    .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(v)))
                    .collect();
                assert_eq!(info.len(), 1, "{account} {labels:?}");
                assert_eq!(
                    info[0].label("title"),
                    row.title.as_deref(),
                    "the title survives escaping"
                );
                let sent = row.ref_date.map(|d| d.to_string());
                assert_eq!(info[0].label("sent_date"), sent.as_deref());
                assert_eq!(
                    s[0].value,
                    latest.counters.int_page_read_user.unwrap() as f64
                );
                assert_value(
                    &samples,
                    "wechat_mp_massmsg_reads",
                    account,
                    &labels,
                    latest.counters.int_page_read_count.unwrap() as f64,
                );
                articles += 1;
            }
        }
        assert!(articles > 0, "the simulator sends articles every few days");

        // Per published article (getarticletotaldetail, 30-day window).
        let as_of = date_of(&samples, account, Endpoint::ArticleTotalDetail);
        let mut published = BTreeMap::new();
        for d in DateRange::new(add_days(as_of, -29), as_of).unwrap().days() {
            let Report::ArticleTotalDetail(rows) = report(Endpoint::ArticleTotalDetail, d) else {
                unreachable!()
            };
            for row in rows {
                let latest = row.detail_list.iter().max_by_key(|x| x.stat_date).unwrap();
                published.insert(row.msgid.clone().unwrap(), latest.read_user.unwrap());
            }
        }
        assert!(!published.is_empty());
        for (msgid, readers) in &published {
            assert_value(
                &samples,
                "wechat_mp_article_cumulative_read_users",
                account,
                &[("msgid", msgid)],
                *readers as f64,
            );
        }

        // Data dates are China midnights of a day before today.
        for s in of(&samples, "wechat_mp_data_date_timestamp_seconds", account) {
            let d = jiff::Timestamp::from_second(s.value as i64).unwrap();
            let day = d.to_zoned(wechat_mp_exporter::wechat::date::china()).date();
            assert_eq!(china_midnight(day), d, "{:?}", s.labels);
        }
    }
    demo.stop().await;
}

/// What the OpenMetrics body of the demo breaks of the metric model's rules (empty when none):
/// no label value standing for "all the others" beside other values of that label, titles only in
/// `*_info` families, an info series for every msgid of a value family, and a `# UNIT` line for
/// every `*_seconds` / `*_bytes` family.
fn model_violations(body: &str) -> Vec<String> {
    const AGGREGATE_VALUES: [&str; 4] = ["all", "total", "sum", "any"];
    let mut bad = Vec::new();
    let mut units: BTreeMap<String, String> = BTreeMap::new();
    let mut families = std::collections::BTreeSet::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# UNIT ") {
            let (family, unit) = rest.split_once(' ').unwrap();
            units.insert(family.to_string(), unit.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            families.insert(rest.split(' ').next().unwrap().to_string());
        }
    }
    for family in &families {
        for unit in ["seconds", "bytes"] {
            if family.ends_with(&format!("_{unit}"))
                && units.get(family).map(String::as_str) != Some(unit)
            {
                bad.push(format!("{family} has no `# UNIT {family} {unit}` line"));
            }
        }
    }
    // The classic parser reads OpenMetrics sample lines as well (no timestamps, no exemplars).
    let samples = parse_text(body);
    // (family, label) -> values seen.
    let mut values: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    // (account, msgid) of the info series, and of the value series with their family.
    let mut infos = Vec::new();
    let mut valued = Vec::new();
    for s in &samples {
        let is_info = s.name.ends_with("_info");
        for (k, v) in &s.labels {
            values
                .entry((s.name.as_str(), k.as_str()))
                .or_default()
                .push(v.as_str());
        }
        if s.labels.contains_key("title") && !is_info {
            bad.push(format!(
                "{} has a title label outside an info family",
                s.name
            ));
        }
        if let (Some(account), Some(msgid)) = (s.label("account"), s.label("msgid")) {
            if is_info {
                infos.push((s.name.as_str(), account, msgid));
            } else {
                valued.push((s.name.as_str(), account, msgid));
            }
        }
    }
    for ((family, label), seen) in &values {
        for agg in AGGREGATE_VALUES {
            if seen.contains(&agg) && seen.iter().any(|v| *v != agg) {
                bad.push(format!(
                    "{family}: {label}=\"{agg}\" sits beside other {label} values"
                ));
            }
        }
    }
    for (family, account, msgid) in valued {
        // The info family of the value family's group: massmsg or (published) article.
        let info = if family.starts_with("wechat_mp_massmsg_") {
            "wechat_mp_massmsg_info"
        } else {
            "wechat_mp_article_info"
        };
        if !infos.contains(&(info, account, msgid)) {
            bad.push(format!(
                "{family}{{account={account:?},msgid={msgid:?}}} has no {info} series"
            ));
        }
    }
    bad.sort();
    bad.dedup();
    bad
}

#[test]
fn the_model_check_catches_each_kind_of_violation() {
    let body = "# TYPE wechat_mp_x_seconds gauge\n\
        wechat_mp_x_seconds 1\n\
        # TYPE wechat_mp_r gauge\n\
        wechat_mp_r{account=\"a\",source=\"all\"} 3\n\
        wechat_mp_r{account=\"a\",source=\"moments\"} 1\n\
        # TYPE wechat_mp_article_v gauge\n\
        wechat_mp_article_v{account=\"a\",msgid=\"1_1\",title=\"t\"} 1\n\
        # EOF\n";
    assert_eq!(
        model_violations(body),
        [
            "wechat_mp_article_v has a title label outside an info family",
            "wechat_mp_article_v{account=\"a\",msgid=\"1_1\"} has no wechat_mp_article_info series",
            "wechat_mp_r: source=\"all\" sits beside other source values",
            "wechat_mp_x_seconds has no `# UNIT wechat_mp_x_seconds seconds` line",
        ]
    );
}

/// The demo's OpenMetrics exposition follows the metric model (docs/metrics.md, "Conventions").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_exposition_sums_correctly_carries_units_and_keeps_titles_in_info_families() {
    let demo = Demo::start(SocketAddr::from(([127, 0, 0, 1], 0)), clock::system())
        .await
        .expect("demo starts");
    let base = format!("http://{}", demo.exporter_addr);
    wait_until_ok(&format!("{base}/-/ready")).await;
    let (status, _, body) = get(
        &format!("{base}/metrics"),
        Some("application/openmetrics-text;version=1.0.0"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(model_violations(&body), Vec::<String>::new());
    // The walk saw what it checks: per-article families, info series, seconds families.
    assert!(body.contains("\nwechat_mp_article_info{"));
    assert!(body.contains("\nwechat_mp_massmsg_info{"));
    assert!(body.contains("# UNIT wechat_mp_callback_time_cost_seconds seconds\n"));
    assert!(body.contains("\nwechat_mp_article_source_reads{"));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_negotiated_and_promtool_finds_nothing_to_report() {
    let demo = Demo::start(SocketAddr::from(([127, 0, 0, 1], 0)), clock::system())
        .await
        .expect("demo starts");
    let base = format!("http://{}", demo.exporter_addr);
    wait_until_ok(&format!("{base}/-/ready")).await;

    let (status, content_type, body) = get(
        &format!("{base}/metrics"),
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    );
    assert!(body.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");

    let (_, _, text) = get(&format!("{base}/metrics"), Some("text/plain")).await;
    let (ok, report) = promtool_stdin(&["check", "metrics"], &text);
    assert!(ok, "promtool check metrics failed:\n{report}");
    assert_eq!(report, "", "promtool check metrics reported problems");

    let (status, _, page) = get(&format!("{base}/"), None).await;
    assert_eq!(status, 200);
    for name in &demo.account_names {
        assert!(
            page.contains(name.as_str()),
            "the landing page lists {name}"
        );
    }
    let first = &demo.account_names[0];
    let (status, _, own) = get(&format!("{base}/account/{first}"), None).await;
    assert_eq!(status, 200);
    assert!(
        own.contains("getusersummary"),
        "the account's page lists reports"
    );
    let sim = format!("http://{}/", demo.simulator_addr);
    assert!(page.contains(&sim), "the demo's page links the simulator");
    let (status, _, sim_page) = get(&sim, None).await;
    assert_eq!(status, 200);
    assert!(sim_page.contains("AppSecret"), "{sim_page}");
    let (status, _, healthy) = get(&format!("{base}/-/healthy"), None).await;
    assert_eq!((status, healthy.as_str()), (200, "Healthy.\n"));
    demo.stop().await;
}

/// The README lists the AppIDs and AppSecrets the simulator accepts, exactly.
#[test]
fn the_readme_lists_the_simulators_credentials() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let accounts = wechat_mp_exporter::simulator::SimConfig::demo().accounts;
    assert!(!accounts.is_empty());
    for a in accounts {
        let row = format!("| `{}` | `{}` |", a.app_id, a.app_secret);
        assert!(readme.contains(&row), "README lacks {row}");
    }
}
