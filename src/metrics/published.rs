//! The published-content endpoints (data from 2025-11-01): getbizsummary (account-wide),
//! getarticleread / getarticleshare (per article, that day) and getarticletotaldetail (per
//! article, running totals for 30 days after publishing).

use super::catalogue as m;
use super::{MetricInfo, Out, labels, latest_day, midnight_seconds, per_article};
use crate::reports::AccountReports;
use crate::wechat::Report;
use crate::wechat::report::{ReadUserSource, TotalDetailStat};

/// `read_user` as source "all", then each `read_user_source` entry (its own 全部 entry is the
/// same number and loses to `read_user` in `map_account`'s duplicate check).
fn read_sources(
    out: &mut Out,
    name: &'static MetricInfo,
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

pub fn map(out: &mut Out, reports: &AccountReports, max_articles: usize) {
    for dated in reports.reports.values() {
        match &dated.report {
            Report::BizSummary(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let d = &row.detail;
                    read_sources(
                        out,
                        &m::ARTICLE_READ_USERS,
                        &[],
                        d.read_user,
                        &d.read_user_source,
                    );
                    out.put(&m::PUBLISHED_SHARE_USERS, &[], d.share_user);
                    out.put(&m::PUBLISHED_ZAIKAN_USERS, &[], d.zaikan_user);
                    out.put(&m::PUBLISHED_LIKE_USERS, &[], d.like_user);
                    out.put(&m::PUBLISHED_COMMENTS, &[], d.comment_count);
                    out.put(&m::PUBLISHED_FAVOURITE_USERS, &[], d.collection_user);
                    out.put(
                        &m::PUBLISHED_ORIGINAL_PAGE_USERS,
                        &[],
                        d.redirect_ori_page_user,
                    );
                    out.put(&m::PUBLISHED_ARTICLES, &[], d.send_page_count);
                }
            }
            Report::ArticleRead(rows) => {
                let day = latest_day(rows, |r| r.ref_date);
                per_article(out, &day, max_articles, |out, row, id| {
                    let d = &row.detail;
                    let l = [("msgid", id)];
                    read_sources(
                        out,
                        &m::PUBLISHED_ARTICLE_READ_USERS,
                        &l,
                        d.read_user,
                        &d.read_user_source,
                    );
                });
            }
            Report::ArticleShare(rows) => {
                let day = latest_day(rows, |r| r.ref_date);
                per_article(out, &day, max_articles, |out, row, id| {
                    out.put(
                        &m::PUBLISHED_ARTICLE_SHARE_USERS,
                        &[("msgid", id)],
                        row.detail.share_user,
                    );
                });
            }
            Report::ArticleTotalDetail(rows) => {
                let all: Vec<_> = rows.iter().collect();
                per_article(out, &all, max_articles, |out, row, id| {
                    let title = row.title.as_deref().unwrap_or("");
                    let l = [("msgid", id), ("title", title)];
                    let p = labels::publish_type(row.publish_type);
                    out.put(
                        &m::ARTICLE_PUBLISHED_TIMESTAMP_SECONDS,
                        &[l[0], l[1], ("publish_type", &p)],
                        midnight_seconds(row.ref_date),
                    );
                    // The latest stat_date holds the running total up to the newest day.
                    if let Some(s) = row.detail_list.iter().max_by_key(|s| s.stat_date) {
                        total_detail(out, &l, s);
                    }
                });
            }
            _ => {}
        }
    }
}

fn total_detail(out: &mut Out, l: &[(&'static str, &str); 2], s: &TotalDetailStat) {
    read_sources(
        out,
        &m::ARTICLE_CUMULATIVE_READ_USERS,
        l,
        s.read_user,
        &s.read_user_source,
    );
    out.put(&m::ARTICLE_CUMULATIVE_SHARE_USERS, l, s.share_user);
    out.put(&m::ARTICLE_CUMULATIVE_ZAIKAN_USERS, l, s.zaikan_user);
    out.put(&m::ARTICLE_CUMULATIVE_LIKE_USERS, l, s.like_user);
    out.put(&m::ARTICLE_CUMULATIVE_COMMENTS, l, s.comment_count);
    out.put(&m::ARTICLE_CUMULATIVE_FAVOURITE_USERS, l, s.collection_user);
    out.put(
        &m::ARTICLE_CUMULATIVE_TIPS_YUAN,
        l,
        s.praise_money.map(|fen| fen as f64 / 100.0),
    );
    out.put(
        &m::ARTICLE_CUMULATIVE_FOLLOWS_AFTER_READ,
        l,
        s.read_subscribe_user,
    );
    out.put(&m::ARTICLE_READ_DELIVERY_RATIO, l, s.read_delivery_rate);
    out.put(&m::ARTICLE_READ_FINISH_RATIO, l, s.read_finish_rate);
    out.put(
        &m::ARTICLE_READ_AVG_ACTIVE_SECONDS,
        l,
        s.read_avg_activetime.map(|min| min * 60.0),
    );
    for j in &s.read_jump_position {
        let pos = labels::exit_position(j.position);
        out.put(
            &m::ARTICLE_READ_EXIT_POSITION_RATIO,
            &[l[0], l[1], ("position", &pos)],
            j.rate,
        );
    }
}
