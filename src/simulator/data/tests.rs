//! Unit tests of the simulated rows.

use super::articles::*;
use super::callbacks::*;
use super::messages::*;
use super::users::*;
use super::*;

const APP: &str = "wxdemo0000000002";

fn ctx(last_published: Date) -> Ctx {
    Ctx {
        last_published,
        callback_failure_ratio: None,
    }
}

fn day(d: Date) -> DateRange {
    DateRange::day(d)
}

#[test]
fn split_is_exact() {
    assert_eq!(split(10, &[1.0, 1.0, 1.0], 0), vec![4, 3, 3]);
    assert_eq!(split(7, &[0.0, 2.0], 1), vec![0, 7]);
    assert_eq!(split(5, &[], 0), Vec::<u64>::new());
    assert_eq!(
        split(1_000_003, &[0.3, 0.3, 0.4], 2).iter().sum::<u64>(),
        1_000_003
    );
}

#[test]
fn followers_add_up_day_by_day() {
    let last = date(2026, 11, 23);
    let week = DateRange::new(date(2026, 11, 17), last).unwrap();
    let (Report::UserCumulate(cumulative), None) =
        answer(APP, Endpoint::UserCumulate, week, ctx(last))
    else {
        panic!("variant")
    };
    let (Report::UserSummary(summary), None) = answer(APP, Endpoint::UserSummary, week, ctx(last))
    else {
        panic!("variant")
    };
    assert_eq!(cumulative.len(), 7);
    for pair in cumulative.windows(2) {
        let d = pair[1].ref_date.unwrap();
        let rows: Vec<_> = summary.iter().filter(|r| r.ref_date == Some(d)).collect();
        assert!(rows.len() >= 4, "{d}: {} sources", rows.len());
        let net: i64 = rows
            .iter()
            .map(|r| r.new_user.unwrap() as i64 - r.cancel_user.unwrap() as i64)
            .sum();
        assert_eq!(
            pair[1].cumulate_user.unwrap() as i64,
            pair[0].cumulate_user.unwrap() as i64 + net,
            "{d}"
        );
        // A range answer equals single-day answers.
        assert_eq!(cumulate(APP, d), pair[1].cumulate_user.unwrap());
    }
    // Also across the anchor, and before it.
    for d in [date(2026, 1, 1), date(2025, 12, 31), date(2024, 3, 1)] {
        let net: i64 = user_summary(APP, d)
            .iter()
            .map(|r| r.new_user.unwrap() as i64 - r.cancel_user.unwrap() as i64)
            .sum();
        assert_eq!(
            cumulate(APP, d) as i64,
            cumulate(APP, add_days(d, -1)) as i64 + net,
            "{d}"
        );
    }
    // Source 51 was folded into 0 in 2023-06.
    assert!(
        (0..60)
            .flat_map(|i| user_summary(APP, add_days(date(2023, 6, 1), i)))
            .all(|r| r.user_source != Some(51))
    );
}

#[test]
fn sends_and_publishes_are_frequent_and_never_three_days_apart() {
    for (name, f) in [
        ("mass", has_mass_send as fn(&str, Date) -> bool),
        ("publish", has_publish),
    ] {
        let days: Vec<bool> = (0..365)
            .map(|i| f(APP, add_days(date(2025, 11, 1), i)))
            .collect();
        let share = days.iter().filter(|b| **b).count() as f64 / days.len() as f64;
        assert!((0.5..0.75).contains(&share), "{name}: {share}");
        assert!(
            days.windows(3).all(|w| w.iter().any(|b| *b)),
            "{name}: three quiet days in a row"
        );
    }
    assert!(!has_publish(APP, date(2025, 10, 31)));
    assert!(!has_mass_send(APP, date(2014, 11, 30)));
}

#[test]
fn mass_sent_articles_saturate_over_seven_days() {
    let send = (0..10)
        .map(|i| add_days(date(2026, 11, 1), i))
        .find(|d| has_mass_send(APP, *d))
        .unwrap();
    let far = add_days(send, 40);
    let (Report::ArticleTotal(rows), None) =
        answer(APP, Endpoint::ArticleTotal, day(send), ctx(far))
    else {
        panic!("variant")
    };
    assert!(!rows.is_empty());
    let first = rows[0].title.as_deref().unwrap();
    for needle in ["\"", "\\", "\n", "🎉", "限时"] {
        assert!(first.contains(needle), "{first:?} lacks {needle:?}");
    }
    for row in &rows {
        assert_eq!(row.details.len(), 7);
        let target = row.details[0].target_user;
        for d in &row.details {
            assert_eq!(d.target_user, target);
            let c = &d.counters;
            let by_source = [
                d.int_page_from_session_read_user,
                d.int_page_from_hist_msg_read_user,
                d.int_page_from_feed_read_user,
                d.int_page_from_friends_read_user,
                d.int_page_from_other_read_user,
            ];
            assert_eq!(
                by_source.iter().map(|v| v.unwrap()).sum::<u64>(),
                c.int_page_read_user.unwrap()
            );
            let counts = [
                d.int_page_from_session_read_count,
                d.int_page_from_hist_msg_read_count,
                d.int_page_from_feed_read_count,
                d.int_page_from_friends_read_count,
                d.int_page_from_other_read_count,
            ];
            assert_eq!(
                counts.iter().map(|v| v.unwrap()).sum::<u64>(),
                c.int_page_read_count.unwrap()
            );
        }
        let reads: Vec<u64> = row
            .details
            .iter()
            .map(|d| d.counters.int_page_read_user.unwrap())
            .collect();
        assert!(reads.windows(2).all(|w| w[0] <= w[1]), "{reads:?}");
        let shares: Vec<u64> = row
            .details
            .iter()
            .map(|d| d.counters.share_count.unwrap())
            .collect();
        assert!(shares.windows(2).all(|w| w[0] <= w[1]), "{shares:?}");
        // Most readers come on the first days; the last day adds almost nothing.
        let last = reads[6] as f64;
        assert!(
            reads[0] as f64 > 0.5 * last && reads[0] as f64 <= 0.7 * last,
            "{reads:?}"
        );
        assert!(reads[5] as f64 >= 0.995 * last, "{reads:?}");
    }
    // Details stop at the last published day.
    let (Report::ArticleTotal(rows), None) = answer(
        APP,
        Endpoint::ArticleTotal,
        day(send),
        ctx(add_days(send, 2)),
    ) else {
        panic!("variant")
    };
    assert_eq!(rows[0].details.len(), 3);
}

#[test]
fn published_articles_saturate_over_thirty_days() {
    let publish = (0..10)
        .map(|i| add_days(date(2026, 9, 1), i))
        .find(|d| has_publish(APP, *d))
        .unwrap();
    let (Report::ArticleTotalDetail(rows), Some(false)) = answer(
        APP,
        Endpoint::ArticleTotalDetail,
        day(publish),
        ctx(date(2026, 11, 23)),
    ) else {
        panic!("variant")
    };
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(row.detail_list.len(), 30);
        assert!(matches!(row.publish_type, Some(0 | 1)));
        let reads: Vec<u64> = row
            .detail_list
            .iter()
            .map(|s| s.read_user.unwrap())
            .collect();
        assert!(reads.windows(2).all(|w| w[0] <= w[1]), "{reads:?}");
        let cap = reads[29] as f64;
        assert!((reads[0] as f64) < 0.4 * cap && reads[28] as f64 >= 0.999 * cap);
        for s in &row.detail_list {
            assert_eq!(s.read_user_source[0].scene_desc.as_deref(), Some("全部"));
            assert_eq!(s.read_user_source[0].user_count, s.read_user);
            let parts: u64 = s.read_user_source[1..]
                .iter()
                .map(|x| x.user_count.unwrap())
                .sum();
            assert_eq!(Some(parts), s.read_user);
            for rate in [s.read_delivery_rate, s.read_finish_rate] {
                assert!((0.0..=1.0).contains(&rate.unwrap()));
            }
            let jump: f64 = s.read_jump_position.iter().map(|j| j.rate.unwrap()).sum();
            assert!((jump - 1.0).abs() < 1e-5, "{jump}");
        }
        let likes: Vec<u64> = row
            .detail_list
            .iter()
            .map(|s| s.like_user.unwrap())
            .collect();
        assert!(likes.windows(2).all(|w| w[0] <= w[1]));
    }
    // Before 2025-11-01 there is nothing.
    let (report, _) = answer(
        APP,
        Endpoint::ArticleTotalDetail,
        day(date(2025, 10, 31)),
        ctx(date(2026, 11, 23)),
    );
    assert!(report.is_empty());
}

#[test]
fn reads_all_is_the_sum_of_channels_and_hours_add_up() {
    let d = date(2026, 11, 20);
    let rows = user_read(APP, d);
    let all = &rows[0].counters;
    assert_eq!(rows[0].user_source, Some(99_999_999));
    let sum = |f: fn(&ArticleCounters) -> Option<u64>| -> u64 {
        rows[1..].iter().map(|r| f(&r.counters).unwrap()).sum()
    };
    assert_eq!(all.int_page_read_user, Some(sum(|c| c.int_page_read_user)));
    assert_eq!(
        all.int_page_read_count,
        Some(sum(|c| c.int_page_read_count))
    );
    assert_eq!(all.share_count, Some(sum(|c| c.share_count)));
    assert!(rows[1].counters.ori_page_read_user.is_none());
    let hours = user_read_hour(APP, d);
    let hourly_all: u64 = hours
        .iter()
        .filter(|h| h.user_source == Some(99_999_999))
        .map(|h| h.counters.int_page_read_count.unwrap())
        .sum();
    assert_eq!(Some(hourly_all), all.int_page_read_count);
    assert!(
        hours
            .iter()
            .all(|h| h.ref_hour.unwrap() % 100 == 0 && h.ref_hour.unwrap() <= 2300)
    );
    let shares: u64 = user_share(APP, d)
        .iter()
        .map(|r| r.share_count.unwrap())
        .sum();
    assert_eq!(Some(shares), all.share_count);
}

#[test]
fn callbacks_day_is_the_sum_of_hours_with_a_slow_evening() {
    let d = date(2026, 11, 20);
    let hours = interface_hours(APP, d, None);
    let daily = interface_day(APP, d, None).unwrap();
    let sum = |f: fn(&InterfaceSummaryHourRow) -> Option<u64>| -> u64 {
        hours.iter().map(|h| f(h).unwrap()).sum()
    };
    assert_eq!(daily.callback_count, Some(sum(|h| h.callback_count)));
    assert_eq!(daily.fail_count, Some(sum(|h| h.fail_count)));
    assert_eq!(daily.total_time_cost, Some(sum(|h| h.total_time_cost)));
    let slowest = hours.iter().max_by_key(|h| h.max_time_cost).unwrap();
    assert_eq!(slowest.ref_hour, Some(SLOW_HOUR * 100));
    assert_eq!(daily.max_time_cost, slowest.max_time_cost);
    assert!(
        daily.max_time_cost.unwrap() < 4000,
        "healthy data stays clear of the 5 s limit"
    );
    assert!(daily.fail_count.unwrap() > 0);
    assert!(daily.fail_count.unwrap() * 50 < daily.callback_count.unwrap());
}

#[test]
fn week_and_month_rows_only_for_finished_periods() {
    // 2026-11-23 is a Monday; the week of 11-16 ended on Sunday 11-22.
    let monday = date(2026, 11, 16);
    let (Report::UpstreamMsgWeek(rows), _) = answer(
        APP,
        Endpoint::UpstreamMsgWeek,
        day(monday),
        ctx(date(2026, 11, 22)),
    ) else {
        panic!("variant")
    };
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.ref_date == Some(monday)));
    let daily: u64 = DateRange::new(monday, date(2026, 11, 22))
        .unwrap()
        .days()
        .flat_map(|d| upstream_msg(APP, d))
        .filter(|r| r.msg_type == Some(1))
        .map(|r| r.msg_count.unwrap())
        .sum();
    let text = rows.iter().find(|r| r.msg_type == Some(1)).unwrap();
    assert_eq!(text.msg_count, Some(daily));
    // Not before the Sunday is published.
    let (report, _) = answer(
        APP,
        Endpoint::UpstreamMsgWeek,
        day(monday),
        ctx(date(2026, 11, 21)),
    );
    assert!(report.is_empty());
    // A month is labelled with its 1st, whatever day was asked.
    let (Report::UpstreamMsgDistMonth(rows), _) = answer(
        APP,
        Endpoint::UpstreamMsgDistMonth,
        day(date(2026, 10, 15)),
        ctx(date(2026, 11, 22)),
    ) else {
        panic!("variant")
    };
    assert!(rows.iter().all(|r| r.ref_date == Some(date(2026, 10, 1))));
    assert!(rows.iter().all(|r| r.count_interval.unwrap() <= 3));
    assert!(rows.len() >= 3);
}
