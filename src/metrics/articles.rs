//! The legacy article endpoints: getuserread(hour), getusershare(hour), getarticlesummary and
//! getarticletotal (per mass-sent article, running totals for 7 days after sending).

use super::{Out, labels, latest_day, midnight_seconds, newest_articles};
use crate::reports::AccountReports;
use crate::wechat::report::{ArticleCounters, ArticleTotalDetail};
use crate::wechat::{Endpoint, Report};

/// Family names for the eight shared counters, in `ArticleCounters` field order.
struct CounterNames {
    read_users: &'static str,
    reads: &'static str,
    ori_read_users: &'static str,
    ori_reads: &'static str,
    share_users: &'static str,
    shares: &'static str,
    fav_users: &'static str,
    favs: &'static str,
}

const USER_READ: CounterNames = CounterNames {
    read_users: "wechat_mp_article_page_read_users",
    reads: "wechat_mp_article_reads",
    ori_read_users: "wechat_mp_article_original_page_read_users",
    ori_reads: "wechat_mp_article_original_page_reads",
    share_users: "wechat_mp_article_share_users",
    shares: "wechat_mp_article_shares",
    fav_users: "wechat_mp_article_favourite_users",
    favs: "wechat_mp_article_favourites",
};

const USER_READ_HOUR: CounterNames = CounterNames {
    read_users: "wechat_mp_hourly_article_page_read_users",
    reads: "wechat_mp_hourly_article_reads",
    ori_read_users: "wechat_mp_hourly_article_original_page_read_users",
    ori_reads: "wechat_mp_hourly_article_original_page_reads",
    share_users: "wechat_mp_hourly_article_share_users",
    shares: "wechat_mp_hourly_article_shares",
    fav_users: "wechat_mp_hourly_article_favourite_users",
    favs: "wechat_mp_hourly_article_favourites",
};

const ARTICLE_SUMMARY: CounterNames = CounterNames {
    read_users: "wechat_mp_massmsg_daily_read_users",
    reads: "wechat_mp_massmsg_daily_reads",
    ori_read_users: "wechat_mp_massmsg_daily_original_page_read_users",
    ori_reads: "wechat_mp_massmsg_daily_original_page_reads",
    share_users: "wechat_mp_massmsg_daily_share_users",
    shares: "wechat_mp_massmsg_daily_shares",
    fav_users: "wechat_mp_massmsg_daily_favourite_users",
    favs: "wechat_mp_massmsg_daily_favourites",
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

fn dropped(out: &mut Out, endpoint: Endpoint, n: usize) {
    out.put(
        "wechat_mp_article_series_dropped",
        &[("api", endpoint.name())],
        Some(n as u64),
    );
}

pub fn map(out: &mut Out, reports: &AccountReports, max_articles: usize) {
    for dated in reports.reports.values() {
        match &dated.report {
            Report::UserRead(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let s = labels::read_source(row.user_source);
                    counters(out, &USER_READ, &[("source", &s)], &row.counters);
                }
            }
            Report::UserReadHour(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let (s, h) = (
                        labels::read_source(row.user_source),
                        labels::hour(row.ref_hour),
                    );
                    counters(
                        out,
                        &USER_READ_HOUR,
                        &[("source", &s), ("hour", &h)],
                        &row.counters,
                    );
                }
            }
            Report::UserShare(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let s = labels::share_scene(row.share_scene);
                    out.put("wechat_mp_shares", &[("scene", &s)], row.share_count);
                    out.put("wechat_mp_share_users", &[("scene", &s)], row.share_user);
                }
            }
            Report::UserShareHour(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let (s, h) = (
                        labels::share_scene(row.share_scene),
                        labels::hour(row.ref_hour),
                    );
                    let l = [("scene", s.as_str()), ("hour", h.as_str())];
                    out.put("wechat_mp_hourly_shares", &l, row.share_count);
                    out.put("wechat_mp_hourly_share_users", &l, row.share_user);
                }
            }
            Report::ArticleSummary(rows) => {
                let day = latest_day(rows, |r| r.ref_date);
                let (kept, cut) = newest_articles(
                    &day,
                    |r| r.msgid.as_deref().unwrap_or(""),
                    |r| r.ref_date,
                    max_articles,
                );
                for row in kept {
                    let (id, title) = (
                        row.msgid.as_deref().unwrap_or(""),
                        row.title.as_deref().unwrap_or(""),
                    );
                    counters(
                        out,
                        &ARTICLE_SUMMARY,
                        &[("msgid", id), ("title", title)],
                        &row.counters,
                    );
                }
                dropped(out, Endpoint::ArticleSummary, cut);
            }
            Report::ArticleTotal(rows) => {
                let (kept, cut) = newest_articles(
                    rows,
                    |r| r.msgid.as_deref().unwrap_or(""),
                    |r| r.ref_date,
                    max_articles,
                );
                for row in kept {
                    let id = row.msgid.as_deref().unwrap_or("");
                    let title = row.title.as_deref().unwrap_or("");
                    let l = [("msgid", id), ("title", title)];
                    out.put(
                        "wechat_mp_massmsg_sent_timestamp_seconds",
                        &l,
                        midnight_seconds(row.ref_date),
                    );
                    // The latest stat_date holds the running total up to the newest day.
                    if let Some(d) = row.details.iter().max_by_key(|d| d.stat_date) {
                        article_total(out, &l, d);
                    }
                }
                dropped(out, Endpoint::ArticleTotal, cut);
            }
            _ => {}
        }
    }
}

fn article_total(out: &mut Out, l: &[(&'static str, &str); 2], d: &ArticleTotalDetail) {
    let c = &d.counters;
    out.put("wechat_mp_massmsg_target_users", l, d.target_user);
    out.put(
        "wechat_mp_massmsg_original_page_read_users",
        l,
        c.ori_page_read_user,
    );
    out.put(
        "wechat_mp_massmsg_original_page_reads",
        l,
        c.ori_page_read_count,
    );
    out.put("wechat_mp_massmsg_share_users", l, c.share_user);
    out.put("wechat_mp_massmsg_shares", l, c.share_count);
    out.put("wechat_mp_massmsg_favourite_users", l, c.add_to_fav_user);
    out.put("wechat_mp_massmsg_favourites", l, c.add_to_fav_count);
    let reads = [
        ("all", c.int_page_read_user, c.int_page_read_count),
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
        let ls = [l[0], l[1], ("source", source)];
        out.put("wechat_mp_massmsg_read_users", &ls, users);
        out.put("wechat_mp_massmsg_reads", &ls, count);
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
        let ls = [l[0], l[1], ("source", source)];
        out.put("wechat_mp_massmsg_moments_share_users", &ls, users);
        out.put("wechat_mp_massmsg_moments_shares", &ls, count);
    }
}
