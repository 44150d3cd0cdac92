//! The published-content endpoints (data from 2025-11-01): getbizsummary (account-wide),
//! getarticleread / getarticleshare (per article, that day) and getarticletotaldetail (per
//! article, running totals for 30 days after publishing).

use super::{Out, labels, latest_day, midnight_seconds, newest_articles};
use crate::reports::AccountReports;
use crate::wechat::report::{ReadUserSource, TotalDetailStat};
use crate::wechat::{Endpoint, Report};

/// `read_user` as source "all", then each `read_user_source` entry (its own 全部 entry is the
/// same number and loses to `read_user` in `map_account`'s duplicate check).
fn read_sources(
    out: &mut Out,
    name: &'static str,
    l: &[(&'static str, &str)],
    read_user: Option<u64>,
    sources: &[ReadUserSource],
) {
    let mut put = |source: &str, value: Option<u64>| {
        let mut ls: Vec<(&'static str, &str)> = l.to_vec();
        ls.push(("source", source));
        out.put(name, &ls, value);
    };
    put("all", read_user);
    for s in sources {
        put(&labels::scene_desc(s.scene_desc.as_deref()), s.user_count);
    }
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
            Report::BizSummary(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let d = &row.detail;
                    read_sources(
                        out,
                        "wechat_mp_article_read_users",
                        &[],
                        d.read_user,
                        &d.read_user_source,
                    );
                    out.put("wechat_mp_published_share_users", &[], d.share_user);
                    out.put("wechat_mp_published_zaikan_users", &[], d.zaikan_user);
                    out.put("wechat_mp_published_like_users", &[], d.like_user);
                    out.put("wechat_mp_published_comments", &[], d.comment_count);
                    out.put(
                        "wechat_mp_published_favourite_users",
                        &[],
                        d.collection_user,
                    );
                    out.put(
                        "wechat_mp_published_original_page_users",
                        &[],
                        d.redirect_ori_page_user,
                    );
                    out.put("wechat_mp_published_articles", &[], d.send_page_count);
                }
            }
            Report::ArticleRead(rows) => {
                let day = latest_day(rows, |r| r.ref_date);
                let (kept, cut) = newest_articles(
                    &day,
                    |r| r.msgid.as_deref().unwrap_or(""),
                    |r| r.ref_date,
                    max_articles,
                );
                for row in kept {
                    let l = [("msgid", row.msgid.as_deref().unwrap_or(""))];
                    read_sources(
                        out,
                        "wechat_mp_published_article_read_users",
                        &l,
                        row.detail.read_user,
                        &row.detail.read_user_source,
                    );
                }
                dropped(out, Endpoint::ArticleRead, cut);
            }
            Report::ArticleShare(rows) => {
                let day = latest_day(rows, |r| r.ref_date);
                let (kept, cut) = newest_articles(
                    &day,
                    |r| r.msgid.as_deref().unwrap_or(""),
                    |r| r.ref_date,
                    max_articles,
                );
                for row in kept {
                    let l = [("msgid", row.msgid.as_deref().unwrap_or(""))];
                    out.put(
                        "wechat_mp_published_article_share_users",
                        &l,
                        row.detail.share_user,
                    );
                }
                dropped(out, Endpoint::ArticleShare, cut);
            }
            Report::ArticleTotalDetail(rows) => {
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
                    let p = labels::publish_type(row.publish_type);
                    out.put(
                        "wechat_mp_article_published_timestamp_seconds",
                        &[l[0], l[1], ("publish_type", &p)],
                        midnight_seconds(row.ref_date),
                    );
                    // The latest stat_date holds the running total up to the newest day.
                    if let Some(s) = row.detail_list.iter().max_by_key(|s| s.stat_date) {
                        total_detail(out, &l, s);
                    }
                }
                dropped(out, Endpoint::ArticleTotalDetail, cut);
            }
            _ => {}
        }
    }
}

fn total_detail(out: &mut Out, l: &[(&'static str, &str); 2], s: &TotalDetailStat) {
    read_sources(
        out,
        "wechat_mp_article_cumulative_read_users",
        l,
        s.read_user,
        &s.read_user_source,
    );
    out.put("wechat_mp_article_cumulative_share_users", l, s.share_user);
    out.put(
        "wechat_mp_article_cumulative_zaikan_users",
        l,
        s.zaikan_user,
    );
    out.put("wechat_mp_article_cumulative_like_users", l, s.like_user);
    out.put("wechat_mp_article_cumulative_comments", l, s.comment_count);
    out.put(
        "wechat_mp_article_cumulative_favourite_users",
        l,
        s.collection_user,
    );
    out.put(
        "wechat_mp_article_cumulative_tips_yuan",
        l,
        s.praise_money.map(|fen| fen as f64 / 100.0),
    );
    out.put(
        "wechat_mp_article_cumulative_follows_after_read",
        l,
        s.read_subscribe_user,
    );
    out.put(
        "wechat_mp_article_read_delivery_ratio",
        l,
        s.read_delivery_rate,
    );
    out.put("wechat_mp_article_read_finish_ratio", l, s.read_finish_rate);
    out.put(
        "wechat_mp_article_read_avg_active_seconds",
        l,
        s.read_avg_activetime.map(|min| min * 60.0),
    );
    for j in &s.read_jump_position {
        let pos = labels::exit_position(j.position);
        out.put(
            "wechat_mp_article_read_exit_position_ratio",
            &[l[0], l[1], ("position", &pos)],
            j.rate,
        );
    }
}
