//! Typed rows of every datacube endpoint, parsed tolerantly: every field optional, unknown fields
//! ignored, counts as `u64`, rates as `f64` (docs/wechat-api.md, "Parsing"). The same types serialise the simulator's
//! answers, so both sides of the wire share one definition of each body.
//!
//! Field names are WeChat's own (docs/wechat-api.md and the documented examples in
//! `tests/fixtures/wechat-examples/` describe them), so fields carry a doc comment only where it
//! adds something: a unit, a code space, a quirk.
#![allow(missing_docs)]

use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::endpoint::Endpoint;
pub use super::endpoint::Report;

/// A successful datacube body: `{"list":[...]}`, plus `is_delay` on the published-content endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned", serialize = "T: Serialize"))]
pub struct ListBody<T> {
    #[serde(default = "Vec::new")]
    pub list: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_delay: Option<bool>,
}

/// What the generic core in `endpoint.rs` needs of every row type.
pub trait Row: Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned {
    /// The China day the row describes: `ref_date`, for week and month rows the period's label
    /// date.
    fn ref_date(&self) -> Option<Date>;

    /// The row split into the days it describes. Most rows describe one day; the per-article
    /// windows give one copy per `stat_date`, each keeping only that day's running total (what the
    /// live exporter shows on that day). `None` days are dropped and counted by the caller.
    fn days(self) -> Vec<(Option<Date>, Self)> {
        let day = self.ref_date();
        vec![(day, self)]
    }
}

/// Rows dated by their `ref_date` field.
macro_rules! dated_by_ref_date {
    ($($row:ty),+ $(,)?) => {$(
        impl Row for $row {
            fn ref_date(&self) -> Option<Date> {
                self.ref_date
            }
        }
    )+};
}

dated_by_ref_date!(
    UserSummaryRow,
    UserCumulateRow,
    ArticleSummaryRow,
    UserReadRow,
    UserReadHourRow,
    UserShareRow,
    UserShareHourRow,
    UpstreamMsgRow,
    UpstreamMsgHourRow,
    UpstreamMsgDistRow,
    InterfaceSummaryRow,
    InterfaceSummaryHourRow,
    ArticleReadRow,
    ArticleShareRow,
    BizSummaryRow,
);

/// Rows about one article, which `msgid` identifies (`<msg_data_id>_<index>`).
pub trait Article: Row {
    /// The one endpoint whose rows these are.
    const ENDPOINT: Endpoint;
    /// The article's msgid; empty when WeChat sent none.
    fn msgid(&self) -> &str;
}

macro_rules! articles {
    ($($row:ty => $endpoint:ident),+ $(,)?) => {$(
        impl Article for $row {
            const ENDPOINT: Endpoint = Endpoint::$endpoint;
            fn msgid(&self) -> &str {
                self.msgid.as_deref().unwrap_or("")
            }
        }
    )+};
}

articles!(
    ArticleSummaryRow => ArticleSummary,
    ArticleTotalRow => ArticleTotal,
    ArticleReadRow => ArticleRead,
    ArticleShareRow => ArticleShare,
    ArticleTotalDetailRow => ArticleTotalDetail,
);

impl Row for ArticleTotalRow {
    fn ref_date(&self) -> Option<Date> {
        self.ref_date
    }

    fn days(mut self) -> Vec<(Option<Date>, Self)> {
        std::mem::take(&mut self.details)
            .into_iter()
            .map(|detail| {
                let mut one = self.clone();
                let day = detail.stat_date;
                one.details = vec![detail];
                (day, one)
            })
            .collect()
    }
}

impl Row for ArticleTotalDetailRow {
    fn ref_date(&self) -> Option<Date> {
        self.ref_date
    }

    fn days(mut self) -> Vec<(Option<Date>, Self)> {
        std::mem::take(&mut self.detail_list)
            .into_iter()
            .map(|stat| {
                let mut one = self.clone();
                let day = stat.stat_date;
                one.detail_list = vec![stat];
                (day, one)
            })
            .collect()
    }
}

/// getusersummary: new and cancelled followers per day and follower channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserSummaryRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_source: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_user: Option<u64>,
}

/// getusercumulate: total followers at the end of the day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserCumulateRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cumulate_user: Option<u64>,
    /// Undocumented, seen live (always 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_source: Option<u64>,
}

/// The eight read/share/favourite counters shared by the old article endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleCounters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_read_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_read_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ori_page_read_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ori_page_read_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_to_fav_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_to_fav_count: Option<u64>,
}

/// getarticlesummary (legacy): that day's reads of each mass-sent article.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleSummaryRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_source: Option<u64>,
    #[serde(flatten)]
    pub counters: ArticleCounters,
}

/// getarticletotal (legacy): one mass-sent article with its running totals per stat_date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleTotalRow {
    /// The mass-send date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Undocumented, seen live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_source: Option<u64>,
    #[serde(default)]
    pub details: Vec<ArticleTotalDetail>,
}

/// One `details[]` item of getarticletotal: totals from sending up to `stat_date`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleTotalDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_user: Option<u64>,
    #[serde(flatten)]
    pub counters: ArticleCounters,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_session_read_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_session_read_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_hist_msg_read_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_hist_msg_read_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_feed_read_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_feed_read_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_friends_read_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_friends_read_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_other_read_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_other_read_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_kanyikan_read_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_kanyikan_read_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_souyisou_read_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_page_from_souyisou_read_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_share_from_session_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_share_from_session_cnt: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_share_from_feed_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_share_from_feed_cnt: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_share_from_other_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_share_from_other_cnt: Option<u64>,
}

/// getuserread (legacy): reads per day and read channel (`user_source` 99999999 = all channels).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserReadRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_source: Option<u64>,
    #[serde(flatten)]
    pub counters: ArticleCounters,
}

/// getuserreadhour (legacy): reads per hour and read channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserReadHourRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    /// 0, 100, ..., 2300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_hour: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_source: Option<u64>,
    #[serde(flatten)]
    pub counters: ArticleCounters,
}

/// getusershare (legacy): shares per day and share scene.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserShareRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_scene: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_user: Option<u64>,
}

/// getusersharehour (legacy): shares per hour and share scene.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserShareHourRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_hour: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_scene: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_user: Option<u64>,
}

/// getupstreammsg / getupstreammsgweek / getupstreammsgmonth: messages users sent to the account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamMsgRow {
    /// The day, or the period's first day (Monday / the 1st) for week and month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_type: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_count: Option<u64>,
}

/// getupstreammsghour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamMsgHourRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_hour: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_type: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_count: Option<u64>,
}

/// getupstreammsgdist / distweek / distmonth: users by number of messages sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamMsgDistRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    /// 0 = none, 1 = 1-5, 2 = 6-10, 3 = more than 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_interval: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_user: Option<u64>,
}

/// getinterfacesummary: the callback server's day (times in milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InterfaceSummaryRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time_cost: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time_cost: Option<u64>,
}

/// getinterfacesummaryhour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InterfaceSummaryHourRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_hour: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time_cost: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time_cost: Option<u64>,
}

/// One `read_user_source[]` item of the published-content endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadUserSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_count: Option<u64>,
    /// A Chinese string such as 全部 (all) or 朋友圈 (Moments), not a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_desc: Option<String>,
}

/// getarticleread `detail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleReadDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_user: Option<u64>,
    #[serde(default)]
    pub read_user_source: Vec<ReadUserSource>,
}

/// getarticleread: readers of each published article on the stats day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleReadRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    /// `<msg_data_id>_<index>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgid: Option<String>,
    #[serde(default)]
    pub detail: ArticleReadDetail,
}

/// getarticleshare `detail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleShareDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_user: Option<u64>,
}

/// getarticleshare: sharers of each published article on the stats day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleShareRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgid: Option<String>,
    #[serde(default)]
    pub detail: ArticleShareDetail,
}

/// getbizsummary `detail`: the whole account's published content on the day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BizSummaryDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_user: Option<u64>,
    #[serde(default)]
    pub read_user_source: Vec<ReadUserSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zaikan_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_ori_page_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_page_count: Option<u64>,
}

/// getbizsummary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BizSummaryRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default)]
    pub detail: BizSummaryDetail,
}

/// One `read_jump_position[]` item: share of readers who left at that fifth of the article.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JumpPosition {
    /// 1..5 = 0-20 % .. 80-100 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

/// One `detail_list[]` item of getarticletotaldetail: totals since publishing up to `stat_date`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TotalDetailStat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_user: Option<u64>,
    #[serde(default)]
    pub read_user_source: Vec<ReadUserSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zaikan_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_user: Option<u64>,
    /// Tips in fen (1/100 CNY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub praise_money: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_subscribe_user: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_delivery_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_finish_rate: Option<f64>,
    /// Minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_avg_activetime: Option<f64>,
    #[serde(default)]
    pub read_jump_position: Vec<JumpPosition>,
}

/// getarticletotaldetail: one published article with its running totals per stat_date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleTotalDetailRow {
    /// The publish date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgid: Option<String>,
    /// 0 = published with notification, 1 = notification off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_type: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_url: Option<String>,
    #[serde(default)]
    pub detail_list: Vec<TotalDetailStat>,
}

/// A parsed body with its `is_delay` flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub report: Report,
    /// `Some(true)` when WeChat says the data is still delayed (published-content endpoints).
    pub is_delay: Option<bool>,
}

impl Report {
    /// An empty report of `endpoint`.
    pub fn empty(endpoint: Endpoint) -> Report {
        Report::parse(endpoint, br#"{"list":[]}"#)
            .expect("empty list parses")
            .report
    }

    /// Whether the report has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Parsed {
    /// Appends a later part of the same range: rows in order, and `is_delay` is `Some(true)` if
    /// any part said so (one delayed day makes the whole answer not final).
    pub fn merge(&mut self, other: Parsed) -> Result<(), Parsed> {
        let Parsed { report, is_delay } = other;
        if let Err(report) = self.report.extend(report) {
            return Err(Parsed { report, is_delay });
        }
        self.is_delay = match (self.is_delay, is_delay) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), _) | (_, Some(false)) => Some(false),
            (None, None) => None,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests;
