//! Typed rows of every datacube endpoint, parsed tolerantly: every field optional, unknown fields
//! ignored, counts as `u64`, rates as `f64` (docs/datacube-api.md, "Parsing"). The same types serialise the simulator's
//! answers, so both sides of the wire share one definition of each body.
//!
//! Field names are WeChat's own (docs/datacube-api.md and the documented examples in
//! `tests/fixtures/wechat-examples/` describe them), so fields carry a doc comment only where it
//! adds something: a unit, a code space, a quirk.
#![allow(missing_docs)]

use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A successful datacube body: `{"list":[...]}`, plus `is_delay` on the published-content endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned", serialize = "T: Serialize"))]
pub struct ListBody<T> {
    #[serde(default = "Vec::new")]
    pub list: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_delay: Option<bool>,
}

/// A row struct as WeChat sends it: every `Option` field defaults to `None` when absent and is
/// left out when serialised (the simulator's bodies omit what WeChat omits); other fields keep
/// the serde attributes written on them.
macro_rules! row {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        row!(@field [$(#[$meta])*] $name [] $($body)*);
    };
    (@field $metas:tt $name:ident [$($done:tt)*]
        $(#[$fm:meta])* pub $f:ident: Option<$t:ty>, $($rest:tt)*) => {
        row!(@field $metas $name [$($done)*
            $(#[$fm])*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub $f: Option<$t>,
        ] $($rest)*);
    };
    (@field $metas:tt $name:ident [$($done:tt)*]
        $(#[$fm:meta])* pub $f:ident: $t:ty, $($rest:tt)*) => {
        row!(@field $metas $name [$($done)* $(#[$fm])* pub $f: $t,] $($rest)*);
    };
    (@field [$($meta:tt)*] $name:ident [$($done:tt)*]) => {
        $($meta)*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct $name { $($done)* }
    };
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

row! {
    /// getusersummary: new and cancelled followers per day and follower channel.
    pub struct UserSummaryRow {
        pub ref_date: Option<Date>,
        pub user_source: Option<u64>,
        pub new_user: Option<u64>,
        pub cancel_user: Option<u64>,
    }
}

row! {
    /// getusercumulate: total followers at the end of the day.
    pub struct UserCumulateRow {
        pub ref_date: Option<Date>,
        pub cumulate_user: Option<u64>,
        /// Undocumented, seen live (always 0).
        pub user_source: Option<u64>,
    }
}

row! {
    /// The eight read/share/favourite counters shared by the old article endpoints.
    pub struct ArticleCounters {
        pub int_page_read_user: Option<u64>,
        pub int_page_read_count: Option<u64>,
        pub ori_page_read_user: Option<u64>,
        pub ori_page_read_count: Option<u64>,
        pub share_user: Option<u64>,
        pub share_count: Option<u64>,
        pub add_to_fav_user: Option<u64>,
        pub add_to_fav_count: Option<u64>,
    }
}

row! {
    /// getarticlesummary (legacy): that day's reads of each mass-sent article.
    pub struct ArticleSummaryRow {
        pub ref_date: Option<Date>,
        pub msgid: Option<String>,
        pub title: Option<String>,
        pub user_source: Option<u64>,
        #[serde(flatten)]
        pub counters: ArticleCounters,
    }
}

row! {
    /// getarticletotal (legacy): one mass-sent article with its running totals per stat_date.
    pub struct ArticleTotalRow {
        /// The mass-send date.
        pub ref_date: Option<Date>,
        pub msgid: Option<String>,
        pub title: Option<String>,
        /// Undocumented, seen live.
        pub url: Option<String>,
        pub user_source: Option<u64>,
        #[serde(default)]
        pub details: Vec<ArticleTotalDetail>,
    }
}

row! {
    /// One `details[]` item of getarticletotal: totals from sending up to `stat_date`.
    pub struct ArticleTotalDetail {
        pub stat_date: Option<Date>,
        pub target_user: Option<u64>,
        #[serde(flatten)]
        pub counters: ArticleCounters,
        pub int_page_from_session_read_user: Option<u64>,
        pub int_page_from_session_read_count: Option<u64>,
        pub int_page_from_hist_msg_read_user: Option<u64>,
        pub int_page_from_hist_msg_read_count: Option<u64>,
        pub int_page_from_feed_read_user: Option<u64>,
        pub int_page_from_feed_read_count: Option<u64>,
        pub int_page_from_friends_read_user: Option<u64>,
        pub int_page_from_friends_read_count: Option<u64>,
        pub int_page_from_other_read_user: Option<u64>,
        pub int_page_from_other_read_count: Option<u64>,
        pub int_page_from_kanyikan_read_user: Option<u64>,
        pub int_page_from_kanyikan_read_count: Option<u64>,
        pub int_page_from_souyisou_read_user: Option<u64>,
        pub int_page_from_souyisou_read_count: Option<u64>,
        pub feed_share_from_session_user: Option<u64>,
        pub feed_share_from_session_cnt: Option<u64>,
        pub feed_share_from_feed_user: Option<u64>,
        pub feed_share_from_feed_cnt: Option<u64>,
        pub feed_share_from_other_user: Option<u64>,
        pub feed_share_from_other_cnt: Option<u64>,
    }
}

row! {
    /// getuserread (legacy): reads per day and read channel (`user_source` 99999999 = all channels).
    pub struct UserReadRow {
        pub ref_date: Option<Date>,
        pub user_source: Option<u64>,
        #[serde(flatten)]
        pub counters: ArticleCounters,
    }
}

row! {
    /// getuserreadhour (legacy): reads per hour and read channel.
    pub struct UserReadHourRow {
        pub ref_date: Option<Date>,
        /// 0, 100, ..., 2300.
        pub ref_hour: Option<u64>,
        pub user_source: Option<u64>,
        #[serde(flatten)]
        pub counters: ArticleCounters,
    }
}

row! {
    /// getusershare (legacy): shares per day and share scene.
    pub struct UserShareRow {
        pub ref_date: Option<Date>,
        pub share_scene: Option<u64>,
        pub share_count: Option<u64>,
        pub share_user: Option<u64>,
    }
}

row! {
    /// getusersharehour (legacy): shares per hour and share scene.
    pub struct UserShareHourRow {
        pub ref_date: Option<Date>,
        pub ref_hour: Option<u64>,
        pub share_scene: Option<u64>,
        pub share_count: Option<u64>,
        pub share_user: Option<u64>,
    }
}

row! {
    /// getupstreammsg / getupstreammsgweek / getupstreammsgmonth: messages users sent to the account.
    pub struct UpstreamMsgRow {
        /// The day, or the period's first day (Monday / the 1st) for week and month.
        pub ref_date: Option<Date>,
        pub msg_type: Option<u64>,
        pub msg_user: Option<u64>,
        pub msg_count: Option<u64>,
    }
}

row! {
    /// getupstreammsghour.
    pub struct UpstreamMsgHourRow {
        pub ref_date: Option<Date>,
        pub ref_hour: Option<u64>,
        pub msg_type: Option<u64>,
        pub msg_user: Option<u64>,
        pub msg_count: Option<u64>,
    }
}

row! {
    /// getupstreammsgdist / distweek / distmonth: users by number of messages sent.
    pub struct UpstreamMsgDistRow {
        pub ref_date: Option<Date>,
        /// 0 = none, 1 = 1-5, 2 = 6-10, 3 = more than 10.
        pub count_interval: Option<u64>,
        pub msg_user: Option<u64>,
    }
}

row! {
    /// getinterfacesummary: the callback server's day (times in milliseconds).
    pub struct InterfaceSummaryRow {
        pub ref_date: Option<Date>,
        pub callback_count: Option<u64>,
        pub fail_count: Option<u64>,
        pub total_time_cost: Option<u64>,
        pub max_time_cost: Option<u64>,
    }
}

row! {
    /// getinterfacesummaryhour.
    pub struct InterfaceSummaryHourRow {
        pub ref_date: Option<Date>,
        pub ref_hour: Option<u64>,
        pub callback_count: Option<u64>,
        pub fail_count: Option<u64>,
        pub total_time_cost: Option<u64>,
        pub max_time_cost: Option<u64>,
    }
}

row! {
    /// One `read_user_source[]` item of the published-content endpoints.
    pub struct ReadUserSource {
        pub user_count: Option<u64>,
        /// A Chinese string such as 全部 (all) or 朋友圈 (Moments), not a code.
        pub scene_desc: Option<String>,
    }
}

row! {
    /// getarticleread `detail`.
    pub struct ArticleReadDetail {
        pub read_user: Option<u64>,
        #[serde(default)]
        pub read_user_source: Vec<ReadUserSource>,
    }
}

row! {
    /// getarticleread: readers of each published article on the stats day.
    pub struct ArticleReadRow {
        pub ref_date: Option<Date>,
        /// `<msg_data_id>_<index>`.
        pub msgid: Option<String>,
        #[serde(default)]
        pub detail: ArticleReadDetail,
    }
}

row! {
    /// getarticleshare `detail`.
    pub struct ArticleShareDetail {
        pub share_user: Option<u64>,
    }
}

row! {
    /// getarticleshare: sharers of each published article on the stats day.
    pub struct ArticleShareRow {
        pub ref_date: Option<Date>,
        pub msgid: Option<String>,
        #[serde(default)]
        pub detail: ArticleShareDetail,
    }
}

row! {
    /// getbizsummary `detail`: the whole account's published content on the day.
    pub struct BizSummaryDetail {
        pub read_user: Option<u64>,
        #[serde(default)]
        pub read_user_source: Vec<ReadUserSource>,
        pub share_user: Option<u64>,
        pub zaikan_user: Option<u64>,
        pub like_user: Option<u64>,
        pub comment_count: Option<u64>,
        pub collection_user: Option<u64>,
        pub redirect_ori_page_user: Option<u64>,
        pub send_page_count: Option<u64>,
    }
}

row! {
    /// getbizsummary.
    pub struct BizSummaryRow {
        pub ref_date: Option<Date>,
        #[serde(default)]
        pub detail: BizSummaryDetail,
    }
}

row! {
    /// One `read_jump_position[]` item: share of readers who left at that fifth of the article.
    pub struct JumpPosition {
        /// 1..5 = 0-20 % .. 80-100 %.
        pub position: Option<u64>,
        pub rate: Option<f64>,
    }
}

row! {
    /// One `detail_list[]` item of getarticletotaldetail: totals since publishing up to `stat_date`.
    pub struct TotalDetailStat {
        pub stat_date: Option<Date>,
        pub read_user: Option<u64>,
        #[serde(default)]
        pub read_user_source: Vec<ReadUserSource>,
        pub share_user: Option<u64>,
        pub zaikan_user: Option<u64>,
        pub like_user: Option<u64>,
        pub comment_count: Option<u64>,
        pub collection_user: Option<u64>,
        /// Tips in fen (1/100 CNY).
        pub praise_money: Option<u64>,
        pub read_subscribe_user: Option<u64>,
        pub read_delivery_rate: Option<f64>,
        pub read_finish_rate: Option<f64>,
        /// Minutes.
        pub read_avg_activetime: Option<f64>,
        #[serde(default)]
        pub read_jump_position: Vec<JumpPosition>,
    }
}

row! {
    /// getarticletotaldetail: one published article with its running totals per stat_date.
    pub struct ArticleTotalDetailRow {
        /// The publish date.
        pub ref_date: Option<Date>,
        pub msgid: Option<String>,
        /// 0 = published with notification, 1 = notification off.
        pub publish_type: Option<u64>,
        pub title: Option<String>,
        pub content_url: Option<String>,
        #[serde(default)]
        pub detail_list: Vec<TotalDetailStat>,
    }
}

#[cfg(test)]
mod tests;
