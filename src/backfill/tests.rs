//! Unit tests of `backfill`.

use super::*;
use crate::metrics::Value;
use crate::wechat::rows::{
    ArticleTotalDetail, ArticleTotalRow, UpstreamMsgRow, UserCumulateRow, UserSummaryRow,
};
use jiff::civil::date;

fn range(a: Date, b: Date) -> DateRange {
    DateRange::new(a, b).unwrap()
}

#[test]
fn the_range_must_end_before_today() {
    let today = date(2026, 11, 25);
    assert_eq!(
        check_range(date(2026, 11, 1), date(2026, 11, 24), today),
        Ok(range(date(2026, 11, 1), date(2026, 11, 24)))
    );
    let err = check_range(date(2026, 11, 1), date(2026, 11, 25), today).unwrap_err();
    assert!(err.contains("--to 2026-11-25 is not before today"), "{err}");
    assert!(err.contains("yesterday (2026-11-24)"), "{err}");
    let err = check_range(date(2026, 11, 5), date(2026, 11, 4), today).unwrap_err();
    assert_eq!(err, "--from 2026-11-05 is after --to 2026-11-04");
    let err = check_range(date(-9999, 1, 1), date(2026, 11, 4), today).unwrap_err();
    assert_eq!(
        err,
        "--from -009999-01-01 is before 2014-12-01, the first day WeChat keeps any report for"
    );
}

#[test]
fn fetch_ranges_per_kind_of_endpoint() {
    let today = date(2026, 11, 25);
    let r = range(date(2026, 11, 14), date(2026, 11, 23));
    // Daily: the whole range once (the client splits it by span).
    assert_eq!(fetch_ranges(Endpoint::UserSummary, r, today), vec![r]);
    // Windows: the send/publish dates whose running totals reach into the range.
    assert_eq!(
        fetch_ranges(Endpoint::ArticleTotal, r, today),
        vec![range(date(2026, 11, 8), date(2026, 11, 23))]
    );
    assert_eq!(
        fetch_ranges(Endpoint::ArticleTotalDetail, r, today),
        vec![range(date(2026, 10, 16), date(2026, 11, 23))]
    );
    // Weeks: Mondays 16th and 23rd are in range; the week of the 23rd has not ended.
    assert_eq!(
        fetch_ranges(Endpoint::UpstreamMsgWeek, r, today),
        vec![DateRange::day(date(2026, 11, 16))]
    );
    assert_eq!(fetch_ranges(Endpoint::UpstreamMsgMonth, r, today), vec![]);
    let months = range(date(2026, 9, 20), date(2026, 11, 3));
    assert_eq!(
        fetch_ranges(Endpoint::UpstreamMsgDistMonth, months, today),
        vec![
            DateRange::day(date(2026, 10, 1)),
            // November has not ended.
        ]
    );
    // Nothing before the day WeChat keeps data from.
    let early = range(date(2025, 10, 20), date(2025, 11, 3));
    assert_eq!(
        fetch_ranges(Endpoint::BizSummary, early, today),
        vec![range(date(2025, 11, 1), date(2025, 11, 3))]
    );
    let too_early = range(date(2025, 10, 1), date(2025, 10, 5));
    assert_eq!(
        fetch_ranges(Endpoint::ArticleRead, too_early, today),
        vec![]
    );
}

fn total_row(msgid: &str, sent: Date, stats: &[(Date, u64)]) -> ArticleTotalRow {
    ArticleTotalRow {
        ref_date: Some(sent),
        msgid: Some(msgid.into()),
        title: Some(format!("title {msgid}")),
        details: stats
            .iter()
            .map(|(d, reads)| ArticleTotalDetail {
                stat_date: Some(*d),
                target_user: Some(1000),
                counters: crate::wechat::rows::ArticleCounters {
                    int_page_read_user: Some(*reads),
                    ..Default::default()
                },
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn windows_split_by_stat_date_keeping_one_total_per_article() {
    let (d1, d2, d3) = (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3));
    let report = Report::ArticleTotal(vec![
        total_row("1_1", d1, &[(d1, 10), (d2, 25), (d3, 30)]),
        total_row("2_1", d2, &[(d2, 7), (d3, 9)]),
    ]);
    let (days, undated) = report.split_by_day();
    assert_eq!(undated, 0);
    assert_eq!(days.keys().copied().collect::<Vec<_>>(), vec![d1, d2, d3]);
    let Report::ArticleTotal(on_d2) = &days[&d2] else {
        panic!("wrong variant")
    };
    let got: Vec<_> = on_d2
        .iter()
        .map(|r| {
            (
                r.msgid.clone().unwrap(),
                r.ref_date.unwrap(),
                r.details.len(),
                r.details[0].counters.int_page_read_user,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("1_1".into(), d1, 1, Some(25)),
            ("2_1".into(), d2, 1, Some(7))
        ]
    );
}

#[test]
fn daily_rows_split_by_ref_date_and_undated_rows_are_counted() {
    let (d1, d2) = (date(2026, 11, 1), date(2026, 11, 2));
    let row = |d: Option<Date>, n| UserCumulateRow {
        ref_date: d,
        cumulate_user: Some(n),
        user_source: Some(0),
    };
    let (days, undated) =
        Report::UserCumulate(vec![row(Some(d1), 100), row(Some(d2), 105), row(None, 7)])
            .split_by_day();
    assert_eq!(undated, 1);
    assert_eq!(days[&d1], Report::UserCumulate(vec![row(Some(d1), 100)]));
    assert_eq!(days[&d2], Report::UserCumulate(vec![row(Some(d2), 105)]));
}

fn find<'a>(
    samples: &'a [TimedSample],
    name: &str,
    labels: &[(&str, &str)],
) -> Vec<(i64, &'a Value)> {
    samples
        .iter()
        .filter(|s| {
            s.sample.name == name
                && labels.iter().all(|(k, v)| {
                    s.sample
                        .labels
                        .iter()
                        .any(|(lk, lv)| lk == k && &**lv == *v)
                })
        })
        .map(|s| (s.timestamp, &s.sample.value))
        .collect()
}

#[test]
fn each_day_is_mapped_alone_and_stamped_at_china_midnight() {
    let (d1, d2, d3) = (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3));
    let mut reports = BTreeMap::new();
    reports.insert(
        Endpoint::UserCumulate,
        Report::UserCumulate(
            [(d1, 100), (d2, 105), (d3, 111)]
                .iter()
                .map(|(d, n)| UserCumulateRow {
                    ref_date: Some(*d),
                    cumulate_user: Some(*n),
                    user_source: Some(0),
                })
                .collect(),
        ),
    );
    reports.insert(
        Endpoint::UserSummary,
        Report::UserSummary(vec![UserSummaryRow {
            ref_date: Some(d2),
            user_source: Some(30),
            new_user: Some(6),
            cancel_user: Some(1),
        }]),
    );
    // A week row labelled with a Monday outside the range is left out.
    reports.insert(
        Endpoint::UpstreamMsgWeek,
        Report::UpstreamMsgWeek(vec![UpstreamMsgRow {
            ref_date: Some(date(2026, 10, 26)),
            msg_type: Some(1),
            msg_user: Some(3),
            msg_count: Some(4),
        }]),
    );
    // Window totals: the one on d1 is inside the range, the one on d3 is not.
    reports.insert(
        Endpoint::ArticleTotal,
        Report::ArticleTotal(vec![total_row(
            "9_1",
            date(2026, 10, 31),
            &[(d1, 40), (d3, 60)],
        )]),
    );
    // `[metrics] exclude` applies here as on /metrics: no per-article series is written.
    let exclude = Arc::new(crate::metrics::Exclusions::parse(["hourly", "per_article"]).unwrap());
    let excluded = account_samples("brand", reports.clone(), range(d1, d2), 200, &exclude);
    assert!(!excluded.is_empty());
    assert!(
        excluded.iter().all(|s| !s
            .sample
            .labels
            .iter()
            .any(|(k, _)| *k == "msgid" || *k == "hour")),
        "{excluded:?}"
    );
    let samples = account_samples("brand", reports, range(d1, d2), 200, &Default::default());
    assert!(
        samples
            .iter()
            .any(|s| s.sample.name == "wechat_mp_massmsg_info")
    );
    // 2026-11-01 00:00 UTC+8 = 2026-10-31T16:00:00Z.
    let t1 = 1_793_462_400;
    assert_eq!(china_midnight(d1).as_second(), t1);
    let t2 = t1 + 86_400;
    assert_eq!(
        find(&samples, "wechat_mp_followers", &[("account", "brand")]),
        vec![(t1, &Value::Int(100)), (t2, &Value::Int(105))]
    );
    assert_eq!(
        find(
            &samples,
            "wechat_mp_new_followers",
            &[("source", "qr_code")]
        ),
        vec![(t2, &Value::Int(6))]
    );
    assert_eq!(
        find(
            &samples,
            "wechat_mp_massmsg_target_users",
            &[("msgid", "9_1")]
        ),
        vec![(t1, &Value::Int(1000))]
    );
    assert!(find(&samples, "wechat_mp_upstream_messages", &[]).is_empty());
    // No self-metrics: they describe a running exporter.
    for s in &samples {
        assert!(
            !matches!(
                s.sample.name,
                "wechat_mp_up"
                    | "wechat_mp_data_date_timestamp_seconds"
                    | "wechat_mp_dropped_articles"
            ),
            "{}",
            s.sample.name
        );
        assert!(s.timestamp == t1 || s.timestamp == t2);
    }
}

#[test]
fn writes_atomically_without_leaving_a_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.om");
    std::fs::write(&path, "old").unwrap();
    write_atomically(&path, b"new\n# EOF\n").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n# EOF\n");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["out.om".to_string()]);
    let err = write_atomically(&dir.path().join("missing/out.om"), b"x").unwrap_err();
    assert!(format!("{err:#}").contains("cannot write"), "{err:#}");
}
