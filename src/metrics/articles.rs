//! The legacy article endpoints: getuserread(hour), getusershare(hour), getarticlesummary and
//! getarticletotal (per mass-sent article, running totals for 7 days after sending).

use super::catalogue as m;
use super::{
    ArticleInfos, MetricInfo, Out, date_label, labels, latest_day, midnight_seconds, per_article,
};
use crate::latest::AccountReports;
use crate::wechat::Report;
use crate::wechat::rows::{ArticleCounters, ArticleTotalDetail};

/// Family names for the eight shared counters, in `ArticleCounters` field order.
struct CounterNames {
    read_users: &'static MetricInfo,
    reads: &'static MetricInfo,
    ori_read_users: &'static MetricInfo,
    ori_reads: &'static MetricInfo,
    share_users: &'static MetricInfo,
    shares: &'static MetricInfo,
    fav_users: &'static MetricInfo,
    favs: &'static MetricInfo,
}

/// getuserread's all-channel row.
const USER_READ: CounterNames = CounterNames {
    read_users: &m::ARTICLE_PAGE_READ_USERS,
    reads: &m::ARTICLE_READS,
    ori_read_users: &m::ARTICLE_ORIGINAL_PAGE_READ_USERS,
    ori_reads: &m::ARTICLE_ORIGINAL_PAGE_READS,
    share_users: &m::ARTICLE_SHARE_USERS,
    shares: &m::ARTICLE_SHARES,
    fav_users: &m::ARTICLE_FAVOURITE_USERS,
    favs: &m::ARTICLE_FAVOURITES,
};

/// getuserread's rows by read channel.
const USER_READ_SOURCE: CounterNames = CounterNames {
    read_users: &m::ARTICLE_SOURCE_PAGE_READ_USERS,
    reads: &m::ARTICLE_SOURCE_READS,
    ori_read_users: &m::ARTICLE_SOURCE_ORIGINAL_PAGE_READ_USERS,
    ori_reads: &m::ARTICLE_SOURCE_ORIGINAL_PAGE_READS,
    share_users: &m::ARTICLE_SOURCE_SHARE_USERS,
    shares: &m::ARTICLE_SOURCE_SHARES,
    fav_users: &m::ARTICLE_SOURCE_FAVOURITE_USERS,
    favs: &m::ARTICLE_SOURCE_FAVOURITES,
};

/// getuserreadhour's rows by read channel.
const USER_READ_HOUR_SOURCE: CounterNames = CounterNames {
    read_users: &m::HOURLY_ARTICLE_SOURCE_PAGE_READ_USERS,
    reads: &m::HOURLY_ARTICLE_SOURCE_READS,
    ori_read_users: &m::HOURLY_ARTICLE_SOURCE_ORIGINAL_PAGE_READ_USERS,
    ori_reads: &m::HOURLY_ARTICLE_SOURCE_ORIGINAL_PAGE_READS,
    share_users: &m::HOURLY_ARTICLE_SOURCE_SHARE_USERS,
    shares: &m::HOURLY_ARTICLE_SOURCE_SHARES,
    fav_users: &m::HOURLY_ARTICLE_SOURCE_FAVOURITE_USERS,
    favs: &m::HOURLY_ARTICLE_SOURCE_FAVOURITES,
};

/// getuserreadhour's all-channel rows.
const USER_READ_HOUR: CounterNames = CounterNames {
    read_users: &m::HOURLY_ARTICLE_PAGE_READ_USERS,
    reads: &m::HOURLY_ARTICLE_READS,
    ori_read_users: &m::HOURLY_ARTICLE_ORIGINAL_PAGE_READ_USERS,
    ori_reads: &m::HOURLY_ARTICLE_ORIGINAL_PAGE_READS,
    share_users: &m::HOURLY_ARTICLE_SHARE_USERS,
    shares: &m::HOURLY_ARTICLE_SHARES,
    fav_users: &m::HOURLY_ARTICLE_FAVOURITE_USERS,
    favs: &m::HOURLY_ARTICLE_FAVOURITES,
};

const ARTICLE_SUMMARY: CounterNames = CounterNames {
    read_users: &m::MASSMSG_DAILY_READ_USERS,
    reads: &m::MASSMSG_DAILY_READS,
    ori_read_users: &m::MASSMSG_DAILY_ORIGINAL_PAGE_READ_USERS,
    ori_reads: &m::MASSMSG_DAILY_ORIGINAL_PAGE_READS,
    share_users: &m::MASSMSG_DAILY_SHARE_USERS,
    shares: &m::MASSMSG_DAILY_SHARES,
    fav_users: &m::MASSMSG_DAILY_FAVOURITE_USERS,
    favs: &m::MASSMSG_DAILY_FAVOURITES,
};

fn counters(out: &mut Out, names: &CounterNames, l: &[(&'static str, &str)], c: &ArticleCounters) {
    out.put(names.read_users, l, c.int_page_read_user);
    out.put(names.reads, l, c.int_page_read_count);
    out.put(names.ori_read_users, l, c.ori_page_read_user);
    out.put(names.ori_reads, l, c.ori_page_read_count);
    out.put(names.share_users, l, c.share_user);
    out.put(names.shares, l, c.share_count);
    out.put(names.fav_users, l, c.add_to_fav_user);
    out.put(names.favs, l, c.add_to_fav_count);
}

/// A getuserread(hour) row: the all-channel total to `total`, a read channel to `by_source`.
fn read_row(
    out: &mut Out,
    (total, by_source): (&CounterNames, &CounterNames),
    source: Option<u64>,
    hour: Option<&str>,
    c: &ArticleCounters,
) {
    let source = labels::read_source(source);
    let mut l: Vec<(&'static str, &str)> = Vec::with_capacity(2);
    if let Some(s) = &source {
        l.push(("source", s));
    }
    if let Some(h) = hour {
        l.push(("hour", h));
    }
    let names = if source.is_some() { by_source } else { total };
    counters(out, names, &l, c);
}

pub fn map(out: &mut Out, reports: &AccountReports, max_articles: usize) {
    let mut infos = ArticleInfos::default();
    for dated in reports.reports.values() {
        match &dated.report {
            Report::UserRead(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let names = (&USER_READ, &USER_READ_SOURCE);
                    read_row(out, names, row.user_source, None, &row.counters);
                }
            }
            Report::UserReadHour(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let h = labels::hour(row.ref_hour);
                    let names = (&USER_READ_HOUR, &USER_READ_HOUR_SOURCE);
                    read_row(out, names, row.user_source, Some(&h), &row.counters);
                }
            }
            Report::UserShare(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let s = labels::share_scene(row.share_scene);
                    out.put(&m::SHARES, &[("scene", &s)], row.share_count);
                    out.put(&m::SHARE_USERS, &[("scene", &s)], row.share_user);
                }
            }
            Report::UserShareHour(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let (s, h) = (
                        labels::share_scene(row.share_scene),
                        labels::hour(row.ref_hour),
                    );
                    let l = [("scene", s.as_str()), ("hour", h.as_str())];
                    out.put(&m::HOURLY_SHARES, &l, row.share_count);
                    out.put(&m::HOURLY_SHARE_USERS, &l, row.share_user);
                }
            }
            Report::ArticleSummary(rows) => {
                let day = latest_day(rows, |r| r.ref_date);
                per_article(out, &day, max_articles, |out, row, id| {
                    infos.note(id, &[("title", row.title.clone())]);
                    counters(out, &ARTICLE_SUMMARY, &[("msgid", id)], &row.counters);
                });
            }
            Report::ArticleTotal(rows) => {
                let all: Vec<_> = rows.iter().collect();
                per_article(out, &all, max_articles, |out, row, id| {
                    infos.note(
                        id,
                        &[
                            ("title", row.title.clone()),
                            ("sent_date", date_label(row.ref_date)),
                            ("url", row.url.clone()),
                        ],
                    );
                    let l = [("msgid", id)];
                    out.put(
                        &m::MASSMSG_SENT_TIMESTAMP_SECONDS,
                        &l,
                        midnight_seconds(row.ref_date),
                    );
                    // The latest stat_date holds the running total up to the newest day.
                    if let Some(d) = row.details.iter().max_by_key(|d| d.stat_date) {
                        article_total(out, &l, d);
                    }
                });
            }
            _ => {}
        }
    }
    infos.put(out, &m::MASSMSG_INFO);
}

fn article_total(out: &mut Out, l: &[(&'static str, &str); 1], d: &ArticleTotalDetail) {
    let c = &d.counters;
    out.put(&m::MASSMSG_READ_USERS, l, c.int_page_read_user);
    out.put(&m::MASSMSG_READS, l, c.int_page_read_count);
    out.put(&m::MASSMSG_TARGET_USERS, l, d.target_user);
    out.put(
        &m::MASSMSG_ORIGINAL_PAGE_READ_USERS,
        l,
        c.ori_page_read_user,
    );
    out.put(&m::MASSMSG_ORIGINAL_PAGE_READS, l, c.ori_page_read_count);
    out.put(&m::MASSMSG_SHARE_USERS, l, c.share_user);
    out.put(&m::MASSMSG_SHARES, l, c.share_count);
    out.put(&m::MASSMSG_FAVOURITE_USERS, l, c.add_to_fav_user);
    out.put(&m::MASSMSG_FAVOURITES, l, c.add_to_fav_count);
    let reads = [
        (
            "session",
            d.int_page_from_session_read_user,
            d.int_page_from_session_read_count,
        ),
        (
            "history",
            d.int_page_from_hist_msg_read_user,
            d.int_page_from_hist_msg_read_count,
        ),
        (
            "moments",
            d.int_page_from_feed_read_user,
            d.int_page_from_feed_read_count,
        ),
        (
            "friends",
            d.int_page_from_friends_read_user,
            d.int_page_from_friends_read_count,
        ),
        (
            "other",
            d.int_page_from_other_read_user,
            d.int_page_from_other_read_count,
        ),
        (
            "top_stories",
            d.int_page_from_kanyikan_read_user,
            d.int_page_from_kanyikan_read_count,
        ),
        (
            "search",
            d.int_page_from_souyisou_read_user,
            d.int_page_from_souyisou_read_count,
        ),
    ];
    for (source, users, count) in reads {
        let ls = [l[0], ("source", source)];
        out.put(&m::MASSMSG_SOURCE_READ_USERS, &ls, users);
        out.put(&m::MASSMSG_SOURCE_READS, &ls, count);
    }
    let shares = [
        (
            "session",
            d.feed_share_from_session_user,
            d.feed_share_from_session_cnt,
        ),
        (
            "moments",
            d.feed_share_from_feed_user,
            d.feed_share_from_feed_cnt,
        ),
        (
            "other",
            d.feed_share_from_other_user,
            d.feed_share_from_other_cnt,
        ),
    ];
    for (source, users, count) in shares {
        let ls = [l[0], ("source", source)];
        out.put(&m::MASSMSG_MOMENTS_SHARE_USERS, &ls, users);
        out.put(&m::MASSMSG_MOMENTS_SHARES, &ls, count);
    }
}
