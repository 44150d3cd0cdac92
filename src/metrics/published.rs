//! The published-content endpoints (data from 2025-11-01): getbizsummary (account-wide),
//! getarticleread / getarticleshare (per article, that day) and getarticletotaldetail (per
//! article, running totals for 30 days after publishing).

use super::catalogue as m;
use super::{
    ArticleInfos, MetricInfo, Out, date_label, labels, latest_day, midnight_seconds, per_article,
};
use crate::latest::AccountReports;
use crate::wechat::Report;
use crate::wechat::rows::{ReadUserSource, TotalDetailStat};

/// `read_user` to `total` (the 全部 entry's count when `read_user` is missing), each other
/// `read_user_source` entry to `by_source`: the all-channel entry never sits beside its parts.
fn read_sources(
    out: &mut Out,
    (total, by_source): (&'static MetricInfo, &'static MetricInfo),
    l: &[(&'static str, &str)],
    read_user: Option<u64>,
    sources: &[ReadUserSource],
) {
    let is_all = |s: &ReadUserSource| s.scene_desc.as_deref() == Some(labels::ALL_SCENES);
    let all = sources
        .iter()
        .find(|s| is_all(s))
        .and_then(|s| s.user_count);
    out.put(total, l, read_user.or(all));
    for s in sources.iter().filter(|s| !is_all(s)) {
        let source = labels::scene_desc(s.scene_desc.as_deref());
        let mut ls: Vec<(&'static str, &str)> = l.to_vec();
        ls.push(("source", &source));
        out.put(by_source, &ls, s.user_count);
    }
}

pub fn map(out: &mut Out, reports: &AccountReports, max_articles: usize) {
    let mut infos = ArticleInfos::default();
    for dated in reports.reports.values() {
        match &dated.report {
            Report::BizSummary(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let d = &row.detail;
                    read_sources(
                        out,
                        (&m::ARTICLE_READ_USERS, &m::PUBLISHED_SOURCE_READ_USERS),
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
                    infos.note(id, &[]);
                    let d = &row.detail;
                    let l = [("msgid", id)];
                    read_sources(
                        out,
                        (
                            &m::PUBLISHED_ARTICLE_READ_USERS,
                            &m::PUBLISHED_ARTICLE_SOURCE_READ_USERS,
                        ),
                        &l,
                        d.read_user,
                        &d.read_user_source,
                    );
                });
            }
            Report::ArticleShare(rows) => {
                let day = latest_day(rows, |r| r.ref_date);
                per_article(out, &day, max_articles, |out, row, id| {
                    infos.note(id, &[]);
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
                    infos.note(
                        id,
                        &[
                            ("title", row.title.clone()),
                            ("published_date", date_label(row.ref_date)),
                            (
                                "publish_type",
                                row.publish_type.map(|t| labels::publish_type(Some(t))),
                            ),
                            ("url", row.content_url.clone()),
                        ],
                    );
                    let l = [("msgid", id)];
                    out.put(
                        &m::ARTICLE_PUBLISHED_TIMESTAMP_SECONDS,
                        &l,
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
    infos.put(out, &m::ARTICLE_INFO);
}

fn total_detail(out: &mut Out, l: &[(&'static str, &str); 1], s: &TotalDetailStat) {
    read_sources(
        out,
        (
            &m::ARTICLE_CUMULATIVE_READ_USERS,
            &m::ARTICLE_CUMULATIVE_SOURCE_READ_USERS,
        ),
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
            &[l[0], ("position", &pos)],
            j.rate,
        );
    }
}
