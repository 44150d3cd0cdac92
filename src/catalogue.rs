//! The one table of every metric family: name, type, unit, labels, stability, source endpoint and
//! field, HELP text.
//!
//! The mapping modules emit only names listed here (a test checks both directions), docs/metrics.md
//! is generated from this table (`docs`), and the stable families are held to
//! `src/catalogue/stable-families.txt` (`stability`), so neither the documentation nor the API can
//! drift from the output unnoticed.

pub mod exclude;
pub mod stability;
mod unit;

pub use stability::Stability;
pub use unit::Unit;
#[allow(unused_imports)] // for the five-argument `own!`
use unit::unit_of_name;

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A value that goes up and down (every business metric).
    Gauge,
    /// A count that only goes up (`_total`).
    Counter,
    /// Cumulative buckets with `_bucket{le}`, `_sum` and `_count` samples.
    Histogram,
}

impl MetricKind {
    /// The type as the exposition writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One metric family as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    /// The full name as exposed in the classic text format (counters end in `_total`).
    pub name: &'static str,
    /// The Prometheus type.
    pub kind: MetricKind,
    /// What the value measures (see [`MetricInfo::unit`]).
    pub measure: Unit,
    /// Label names in exposition order (`account` first where present).
    pub labels: &'static [&'static str],
    /// Whether dashboards and rules may rely on the family (see [`Stability`]).
    pub stability: Stability,
    /// Section of docs/metrics.md.
    pub group: &'static str,
    /// Source endpoint (empty for the exporter's own metrics).
    pub endpoint: &'static str,
    /// Source field(s) of that endpoint, or how the value is derived.
    pub field: &'static str,
    /// The HELP text.
    pub help: &'static str,
}

impl MetricInfo {
    /// The OpenMetrics unit of the family (`seconds`, `bytes`, `ratio`, `users`, ...), or `None`
    /// (states and info families).
    ///
    /// The encoders write it as `# UNIT` and the OTLP push as the instrument's unit; the name ends
    /// in it (before `_total`), as Prometheus' naming practice asks.
    pub fn unit(&self) -> Option<&'static str> {
        self.measure.name()
    }
}

// Period phrases, as macros because `concat!` only takes literals.
macro_rules! when {
    (day) => {
        "latest complete day (UTC+8)"
    };
    (hour) => {
        "each hour of the latest complete day (UTC+8)"
    };
    (week) => {
        "latest complete ISO week (UTC+8), labelled by its Monday"
    };
    (month) => {
        "latest complete month (UTC+8)"
    };
    (sent) => {
        "running total since sending, as of the latest stat_date"
    };
    (published) => {
        "running total since publishing, as of the latest stat_date"
    };
    (published_rate) => {
        "since publishing, as of the latest stat_date"
    };
    (article) => {
        "one series per article still tracked"
    };
}

/// A business gauge sourced from one endpoint field; the HELP names both and the period.
macro_rules! g {
    ($stab:ident, $unit:expr, $group:literal, $name:literal, [$($l:literal),*], $ep:literal, $field:literal, $when:ident, $meaning:literal) => {
        MetricInfo {
            name: $name,
            kind: MetricKind::Gauge,
            measure: $unit,
            labels: &["account" $(, $l)*],
            stability: Stability::$stab,
            group: $group,
            endpoint: $ep,
            field: $field,
            help: concat!($meaning, " (WeChat ", $ep, ".", $field, "; ", when!($when), ")."),
        }
    };
}

/// An exporter-side metric with a free HELP text. Without stability and unit it is experimental
/// and its unit is read off the name.
macro_rules! own {
    ($kind:ident, $name:literal, [$($l:literal),*], $field:literal, $help:literal) => {
        own!(Experimental, unit_of_name($name), $kind, $name, [$($l),*], $field, $help)
    };
    ($stab:ident, $unit:expr, $kind:ident, $name:literal, [$($l:literal),*], $field:literal, $help:literal) => {
        MetricInfo {
            name: $name,
            kind: MetricKind::$kind,
            measure: $unit,
            labels: &[$($l),*],
            stability: Stability::$stab,
            group: EXPORTER,
            endpoint: "",
            field: $field,
            help: $help,
        }
    };
}

/// A callback probe family: labelled `account` first, measured by the exporter itself.
macro_rules! probe {
    ($stab:ident, $unit:expr, $kind:ident, $name:literal, [$($l:literal),*], $field:literal, $help:literal) => {
        MetricInfo {
            name: $name,
            kind: MetricKind::$kind,
            measure: $unit,
            labels: &["account" $(, $l)*],
            stability: Stability::$stab,
            group: PROBE,
            endpoint: "",
            field: $field,
            help: $help,
        }
    };
}

pub const USERS: &str = "Users";
pub const LEGACY: &str = "Articles (legacy endpoints)";
pub const PUBLISHED: &str = "Published content";
pub const MESSAGES: &str = "Messages";
pub const CALLBACKS: &str = "Callbacks";
pub const PROBE: &str = "Callback probe";
pub const EXPORTER: &str = "Exporter";

/// The order of the sections in docs/metrics.md.
pub const GROUPS: [&str; 7] = [
    USERS, LEGACY, PUBLISHED, MESSAGES, CALLBACKS, PROBE, EXPORTER,
];

/// Declares each family as a typed constant (the mapping code names it, so go-to-definition
/// reaches its HELP text and source field) and lists them all, in this order, as the catalogue.
macro_rules! catalogue {
    ($($(#[$doc:meta])* $id:ident = $info:expr;)+) => {
        $($(#[$doc])* pub const $id: MetricInfo = $info;)+

        static CATALOGUE: &[MetricInfo] = &[$($id,)+];
    };
}

use Unit::{Count, Info, Ratio, Seconds, State, TimestampSeconds, Yuan};

// Where WeChat gives a total beside its breakdown (the 99999999 / 全部 / int_page_read_* rows),
// the total is its own family and the breakdown family (`_source_` in the name) holds only the
// parts: distinct-user totals are not the sum of their parts, so they must not sit beside them.
// Article properties (title, position in the message, date, URL) are labels of the `*_info`
// families only; the value families carry `msgid`.
#[rustfmt::skip]
catalogue! {
    // ---- users
    FOLLOWERS = g!(Stable, Count("followers"), "Users", "wechat_mp_followers", [], "getusercumulate", "cumulate_user", day,
        "Total followers at the end of the day");
    FOLLOWERS_NEW = g!(Stable, Count("followers"), "Users", "wechat_mp_new_followers", ["source"], "getusersummary", "new_user", day,
        "New followers by follow channel");
    FOLLOWERS_CANCELLED = g!(Stable, Count("followers"), "Users", "wechat_mp_lost_followers", ["source"], "getusersummary", "cancel_user", day,
        "Unfollows by original follow channel");
    // ---- legacy article endpoints: account-wide reads, all channels (user_source 99999999)
    ARTICLE_READS = g!(Stable, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_article_reads", [], "getuserread", "int_page_read_count", day,
        "Article page views of mass-sent articles, all read channels");
    ARTICLE_PAGE_READ_USERS = g!(Stable, Count("users"), "Articles (legacy endpoints)", "wechat_mp_article_page_read_users", [], "getuserread", "int_page_read_user", day,
        "Distinct article page readers of mass-sent articles, all read channels");
    ARTICLE_ORIGINAL_PAGE_READS = g!(Stable, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_article_original_page_reads", [], "getuserread", "ori_page_read_count", day,
        "Original-page views, all read channels");
    ARTICLE_ORIGINAL_PAGE_READ_USERS = g!(Stable, Count("users"), "Articles (legacy endpoints)", "wechat_mp_article_original_page_read_users", [], "getuserread", "ori_page_read_user", day,
        "Distinct original-page readers, all read channels");
    ARTICLE_SHARES = g!(Stable, Count("shares"), "Articles (legacy endpoints)", "wechat_mp_article_shares", [], "getuserread", "share_count", day,
        "Article shares, all read channels");
    ARTICLE_SHARE_USERS = g!(Stable, Count("users"), "Articles (legacy endpoints)", "wechat_mp_article_share_users", [], "getuserread", "share_user", day,
        "Distinct article sharers, all read channels");
    ARTICLE_FAVOURITES = g!(Stable, Count("favourites"), "Articles (legacy endpoints)", "wechat_mp_article_favourites", [], "getuserread", "add_to_fav_count", day,
        "Articles added to favourites, all read channels");
    ARTICLE_FAVOURITE_USERS = g!(Stable, Count("users"), "Articles (legacy endpoints)", "wechat_mp_article_favourite_users", [], "getuserread", "add_to_fav_user", day,
        "Distinct users who added articles to favourites, all read channels");
    // ---- the same by read channel (the other user_source codes)
    ARTICLE_SOURCE_READS = g!(Stable, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_article_source_reads", ["source"], "getuserread", "int_page_read_count", day,
        "Article page views of mass-sent articles by read channel");
    ARTICLE_SOURCE_PAGE_READ_USERS = g!(Stable, Count("users"), "Articles (legacy endpoints)", "wechat_mp_article_source_page_read_users", ["source"], "getuserread", "int_page_read_user", day,
        "Distinct article page readers of mass-sent articles by read channel");
    ARTICLE_SOURCE_ORIGINAL_PAGE_READS = g!(Stable, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_article_source_original_page_reads", ["source"], "getuserread", "ori_page_read_count", day,
        "Original-page views by read channel");
    ARTICLE_SOURCE_ORIGINAL_PAGE_READ_USERS = g!(Stable, Count("users"), "Articles (legacy endpoints)", "wechat_mp_article_source_original_page_read_users", ["source"], "getuserread", "ori_page_read_user", day,
        "Distinct original-page readers by read channel");
    ARTICLE_SOURCE_SHARES = g!(Stable, Count("shares"), "Articles (legacy endpoints)", "wechat_mp_article_source_shares", ["source"], "getuserread", "share_count", day,
        "Article shares by read channel");
    ARTICLE_SOURCE_SHARE_USERS = g!(Stable, Count("users"), "Articles (legacy endpoints)", "wechat_mp_article_source_share_users", ["source"], "getuserread", "share_user", day,
        "Distinct article sharers by read channel");
    ARTICLE_SOURCE_FAVOURITES = g!(Stable, Count("favourites"), "Articles (legacy endpoints)", "wechat_mp_article_source_favourites", ["source"], "getuserread", "add_to_fav_count", day,
        "Articles added to favourites by read channel");
    ARTICLE_SOURCE_FAVOURITE_USERS = g!(Stable, Count("users"), "Articles (legacy endpoints)", "wechat_mp_article_source_favourite_users", ["source"], "getuserread", "add_to_fav_user", day,
        "Distinct users who added articles to favourites by read channel");
    // ---- hourly, all channels
    HOURLY_ARTICLE_READS = g!(Experimental, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_reads", ["hour"], "getuserreadhour", "int_page_read_count", hour,
        "Article page views per hour, all read channels");
    HOURLY_ARTICLE_PAGE_READ_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_page_read_users", ["hour"], "getuserreadhour", "int_page_read_user", hour,
        "Distinct article page readers per hour, all read channels");
    HOURLY_ARTICLE_ORIGINAL_PAGE_READS = g!(Experimental, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_original_page_reads", ["hour"], "getuserreadhour", "ori_page_read_count", hour,
        "Original-page views per hour, all read channels");
    HOURLY_ARTICLE_ORIGINAL_PAGE_READ_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_original_page_read_users", ["hour"], "getuserreadhour", "ori_page_read_user", hour,
        "Distinct original-page readers per hour, all read channels");
    HOURLY_ARTICLE_SHARES = g!(Experimental, Count("shares"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_shares", ["hour"], "getuserreadhour", "share_count", hour,
        "Article shares per hour, all read channels");
    HOURLY_ARTICLE_SHARE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_share_users", ["hour"], "getuserreadhour", "share_user", hour,
        "Distinct article sharers per hour, all read channels");
    HOURLY_ARTICLE_FAVOURITES = g!(Experimental, Count("favourites"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_favourites", ["hour"], "getuserreadhour", "add_to_fav_count", hour,
        "Favourites per hour, all read channels");
    HOURLY_ARTICLE_FAVOURITE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_favourite_users", ["hour"], "getuserreadhour", "add_to_fav_user", hour,
        "Distinct users adding favourites per hour, all read channels");
    // ---- hourly by read channel
    HOURLY_ARTICLE_SOURCE_READS = g!(Experimental, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_source_reads", ["source", "hour"], "getuserreadhour", "int_page_read_count", hour,
        "Article page views per hour and read channel");
    HOURLY_ARTICLE_SOURCE_PAGE_READ_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_source_page_read_users", ["source", "hour"], "getuserreadhour", "int_page_read_user", hour,
        "Distinct article page readers per hour and read channel");
    HOURLY_ARTICLE_SOURCE_ORIGINAL_PAGE_READS = g!(Experimental, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_source_original_page_reads", ["source", "hour"], "getuserreadhour", "ori_page_read_count", hour,
        "Original-page views per hour and read channel");
    HOURLY_ARTICLE_SOURCE_ORIGINAL_PAGE_READ_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_source_original_page_read_users", ["source", "hour"], "getuserreadhour", "ori_page_read_user", hour,
        "Distinct original-page readers per hour and read channel");
    HOURLY_ARTICLE_SOURCE_SHARES = g!(Experimental, Count("shares"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_source_shares", ["source", "hour"], "getuserreadhour", "share_count", hour,
        "Article shares per hour and read channel");
    HOURLY_ARTICLE_SOURCE_SHARE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_source_share_users", ["source", "hour"], "getuserreadhour", "share_user", hour,
        "Distinct article sharers per hour and read channel");
    HOURLY_ARTICLE_SOURCE_FAVOURITES = g!(Experimental, Count("favourites"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_source_favourites", ["source", "hour"], "getuserreadhour", "add_to_fav_count", hour,
        "Favourites per hour and read channel");
    HOURLY_ARTICLE_SOURCE_FAVOURITE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_hourly_article_source_favourite_users", ["source", "hour"], "getuserreadhour", "add_to_fav_user", hour,
        "Distinct users adding favourites per hour and read channel");
    SHARES = g!(Stable, Count("shares"), "Articles (legacy endpoints)", "wechat_mp_shares", ["scene"], "getusershare", "share_count", day,
        "Article shares by share scene");
    SHARE_USERS = g!(Stable, Count("users"), "Articles (legacy endpoints)", "wechat_mp_share_users", ["scene"], "getusershare", "share_user", day,
        "Distinct sharers by share scene");
    HOURLY_SHARES = g!(Experimental, Count("shares"), "Articles (legacy endpoints)", "wechat_mp_hourly_shares", ["scene", "hour"], "getusersharehour", "share_count", hour,
        "Article shares per hour and share scene");
    HOURLY_SHARE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_hourly_share_users", ["scene", "hour"], "getusersharehour", "share_user", hour,
        "Distinct sharers per hour and share scene");
    // ---- legacy: per mass-sent article, its properties
    MASSMSG_INFO = g!(Experimental, Info, "Articles (legacy endpoints)", "wechat_mp_massmsg_info", ["msgid", "title", "index", "sent_date", "url"], "getarticletotal", "title, msgid, ref_date, url (title also from getarticlesummary)", article,
        "Always 1: a mass-sent article's title, position in its message (index, 1 = headline), send date and URL, joined on msgid; a label is empty when WeChat did not give it");
    MASSMSG_SENT_TIMESTAMP_SECONDS = g!(Experimental, TimestampSeconds, "Articles (legacy endpoints)", "wechat_mp_massmsg_sent_timestamp_seconds", ["msgid"], "getarticletotal", "ref_date", article,
        "Unix time of 00:00 UTC+8 of the day the article was mass-sent (a value, to compute ages with)");
    // ---- legacy: per mass-sent article, that day
    MASSMSG_DAILY_READS = g!(Experimental, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_massmsg_daily_reads", ["msgid"], "getarticlesummary", "int_page_read_count", day,
        "Page views of a mass-sent article on the day");
    MASSMSG_DAILY_READ_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_daily_read_users", ["msgid"], "getarticlesummary", "int_page_read_user", day,
        "Distinct page readers of a mass-sent article on the day");
    MASSMSG_DAILY_ORIGINAL_PAGE_READS = g!(Experimental, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_massmsg_daily_original_page_reads", ["msgid"], "getarticlesummary", "ori_page_read_count", day,
        "Original-page views of a mass-sent article on the day");
    MASSMSG_DAILY_ORIGINAL_PAGE_READ_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_daily_original_page_read_users", ["msgid"], "getarticlesummary", "ori_page_read_user", day,
        "Distinct original-page readers of a mass-sent article on the day");
    MASSMSG_DAILY_SHARES = g!(Experimental, Count("shares"), "Articles (legacy endpoints)", "wechat_mp_massmsg_daily_shares", ["msgid"], "getarticlesummary", "share_count", day,
        "Shares of a mass-sent article on the day");
    MASSMSG_DAILY_SHARE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_daily_share_users", ["msgid"], "getarticlesummary", "share_user", day,
        "Distinct sharers of a mass-sent article on the day");
    MASSMSG_DAILY_FAVOURITES = g!(Experimental, Count("favourites"), "Articles (legacy endpoints)", "wechat_mp_massmsg_daily_favourites", ["msgid"], "getarticlesummary", "add_to_fav_count", day,
        "Favourites of a mass-sent article on the day");
    MASSMSG_DAILY_FAVOURITE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_daily_favourite_users", ["msgid"], "getarticlesummary", "add_to_fav_user", day,
        "Distinct users adding a mass-sent article to favourites on the day");
    // ---- legacy: per mass-sent article, running totals
    MASSMSG_READ_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_read_users", ["msgid"], "getarticletotal", "details.int_page_read_user", sent,
        "Distinct page readers of a mass-sent article, all read channels");
    MASSMSG_READS = g!(Experimental, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_massmsg_reads", ["msgid"], "getarticletotal", "details.int_page_read_count", sent,
        "Page views of a mass-sent article, all read channels");
    MASSMSG_SOURCE_READ_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_source_read_users", ["msgid", "source"], "getarticletotal", "details.int_page_from_{source}_read_user", sent,
        "Distinct page readers of a mass-sent article by read channel");
    MASSMSG_SOURCE_READS = g!(Experimental, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_massmsg_source_reads", ["msgid", "source"], "getarticletotal", "details.int_page_from_{source}_read_count", sent,
        "Page views of a mass-sent article by read channel");
    MASSMSG_TARGET_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_target_users", ["msgid"], "getarticletotal", "details.target_user", sent,
        "Users the article was sent to");
    MASSMSG_ORIGINAL_PAGE_READS = g!(Experimental, Count("reads"), "Articles (legacy endpoints)", "wechat_mp_massmsg_original_page_reads", ["msgid"], "getarticletotal", "details.ori_page_read_count", sent,
        "Original-page views of a mass-sent article");
    MASSMSG_ORIGINAL_PAGE_READ_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_original_page_read_users", ["msgid"], "getarticletotal", "details.ori_page_read_user", sent,
        "Distinct original-page readers of a mass-sent article");
    MASSMSG_SHARES = g!(Experimental, Count("shares"), "Articles (legacy endpoints)", "wechat_mp_massmsg_shares", ["msgid"], "getarticletotal", "details.share_count", sent,
        "Shares of a mass-sent article");
    MASSMSG_SHARE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_share_users", ["msgid"], "getarticletotal", "details.share_user", sent,
        "Distinct sharers of a mass-sent article");
    MASSMSG_FAVOURITES = g!(Experimental, Count("favourites"), "Articles (legacy endpoints)", "wechat_mp_massmsg_favourites", ["msgid"], "getarticletotal", "details.add_to_fav_count", sent,
        "Favourites of a mass-sent article");
    MASSMSG_FAVOURITE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_favourite_users", ["msgid"], "getarticletotal", "details.add_to_fav_user", sent,
        "Distinct users adding a mass-sent article to favourites");
    MASSMSG_MOMENTS_SHARES = g!(Experimental, Count("shares"), "Articles (legacy endpoints)", "wechat_mp_massmsg_moments_shares", ["msgid", "source"], "getarticletotal", "details.feed_share_from_{source}_cnt", sent,
        "Shares to Moments of a mass-sent article, by where the sharer read it");
    MASSMSG_MOMENTS_SHARE_USERS = g!(Experimental, Count("users"), "Articles (legacy endpoints)", "wechat_mp_massmsg_moments_share_users", ["msgid", "source"], "getarticletotal", "details.feed_share_from_{source}_user", sent,
        "Distinct users sharing a mass-sent article to Moments, by where they read it");
    // ---- published content, account-wide
    ARTICLE_READ_USERS = g!(Stable, Count("users"), "Published content", "wechat_mp_published_read_users", [], "getbizsummary", "detail.read_user", day,
        "Distinct readers of published content, all read channels");
    PUBLISHED_SOURCE_READ_USERS = g!(Stable, Count("users"), "Published content", "wechat_mp_published_source_read_users", ["source"], "getbizsummary", "detail.read_user_source", day,
        "Distinct readers of published content by read channel");
    PUBLISHED_SHARE_USERS = g!(Stable, Count("users"), "Published content", "wechat_mp_published_share_users", [], "getbizsummary", "detail.share_user", day,
        "Distinct sharers of published content");
    PUBLISHED_ZAIKAN_USERS = g!(Stable, Count("users"), "Published content", "wechat_mp_published_zaikan_users", [], "getbizsummary", "detail.zaikan_user", day,
        "Distinct users giving a heart (zaikan) to published content");
    PUBLISHED_LIKE_USERS = g!(Stable, Count("users"), "Published content", "wechat_mp_published_like_users", [], "getbizsummary", "detail.like_user", day,
        "Distinct users liking published content");
    PUBLISHED_COMMENTS = g!(Stable, Count("comments"), "Published content", "wechat_mp_published_comments", [], "getbizsummary", "detail.comment_count", day,
        "Comments on published content");
    PUBLISHED_FAVOURITE_USERS = g!(Stable, Count("users"), "Published content", "wechat_mp_published_favourite_users", [], "getbizsummary", "detail.collection_user", day,
        "Distinct users adding published content to favourites");
    PUBLISHED_ORIGINAL_PAGE_USERS = g!(Stable, Count("users"), "Published content", "wechat_mp_published_original_page_users", [], "getbizsummary", "detail.redirect_ori_page_user", day,
        "Distinct users going on to the original page");
    PUBLISHED_ARTICLES = g!(Stable, Count("articles"), "Published content", "wechat_mp_published_articles", [], "getbizsummary", "detail.send_page_count", day,
        "Articles published");
    // ---- published content, per article
    ARTICLE_INFO = g!(Experimental, Info, "Published content", "wechat_mp_article_info", ["msgid", "title", "index", "published_date", "publish_type", "url"], "getarticletotaldetail", "title, msgid, ref_date, publish_type, content_url", article,
        "Always 1: a published article's title, position in its message (index, 1 = headline), publish date, publish type and URL, joined on msgid; a label is empty when WeChat did not give it");
    ARTICLE_PUBLISHED_TIMESTAMP_SECONDS = g!(Experimental, TimestampSeconds, "Published content", "wechat_mp_article_published_timestamp_seconds", ["msgid"], "getarticletotaldetail", "ref_date", article,
        "Unix time of 00:00 UTC+8 of the day the article was published (a value, to compute ages with)");
    PUBLISHED_ARTICLE_READ_USERS = g!(Experimental, Count("users"), "Published content", "wechat_mp_published_article_read_users", ["msgid"], "getarticleread", "detail.read_user", day,
        "Distinct readers of a published article on the day, all read channels");
    PUBLISHED_ARTICLE_SOURCE_READ_USERS = g!(Experimental, Count("users"), "Published content", "wechat_mp_published_article_source_read_users", ["msgid", "source"], "getarticleread", "detail.read_user_source", day,
        "Distinct readers of a published article on the day by read channel");
    PUBLISHED_ARTICLE_SHARE_USERS = g!(Experimental, Count("users"), "Published content", "wechat_mp_published_article_share_users", ["msgid"], "getarticleshare", "detail.share_user", day,
        "Distinct sharers of a published article on the day");
    ARTICLE_CUMULATIVE_READ_USERS = g!(Experimental, Count("users"), "Published content", "wechat_mp_article_cumulative_read_users", ["msgid"], "getarticletotaldetail", "detail_list.read_user", published,
        "Distinct readers of a published article, all read channels");
    ARTICLE_CUMULATIVE_SOURCE_READ_USERS = g!(Experimental, Count("users"), "Published content", "wechat_mp_article_cumulative_source_read_users", ["msgid", "source"], "getarticletotaldetail", "detail_list.read_user_source", published,
        "Distinct readers of a published article by read channel");
    ARTICLE_CUMULATIVE_SHARE_USERS = g!(Experimental, Count("users"), "Published content", "wechat_mp_article_cumulative_share_users", ["msgid"], "getarticletotaldetail", "detail_list.share_user", published,
        "Distinct sharers of a published article");
    ARTICLE_CUMULATIVE_ZAIKAN_USERS = g!(Experimental, Count("users"), "Published content", "wechat_mp_article_cumulative_zaikan_users", ["msgid"], "getarticletotaldetail", "detail_list.zaikan_user", published,
        "Distinct users giving a heart (zaikan) to a published article");
    ARTICLE_CUMULATIVE_LIKE_USERS = g!(Experimental, Count("users"), "Published content", "wechat_mp_article_cumulative_like_users", ["msgid"], "getarticletotaldetail", "detail_list.like_user", published,
        "Distinct users liking a published article");
    ARTICLE_CUMULATIVE_COMMENTS = g!(Experimental, Count("comments"), "Published content", "wechat_mp_article_cumulative_comments", ["msgid"], "getarticletotaldetail", "detail_list.comment_count", published,
        "Comments on a published article");
    ARTICLE_CUMULATIVE_FAVOURITE_USERS = g!(Experimental, Count("users"), "Published content", "wechat_mp_article_cumulative_favourite_users", ["msgid"], "getarticletotaldetail", "detail_list.collection_user", published,
        "Distinct users adding a published article to favourites");
    ARTICLE_CUMULATIVE_TIPS_YUAN = g!(Experimental, Yuan, "Published content", "wechat_mp_article_cumulative_tips_yuan", ["msgid"], "getarticletotaldetail", "detail_list.praise_money / 100", published,
        "Tips received by a published article, in CNY");
    ARTICLE_CUMULATIVE_FOLLOWS_AFTER_READ = g!(Experimental, Count("followers"), "Published content", "wechat_mp_article_cumulative_new_followers", ["msgid"], "getarticletotaldetail", "detail_list.read_subscribe_user", published,
        "Users who followed the account after reading a published article");
    ARTICLE_READ_DELIVERY_RATIO = g!(Experimental, Ratio, "Published content", "wechat_mp_article_read_delivery_ratio", ["msgid"], "getarticletotaldetail", "detail_list.read_delivery_rate", published_rate,
        "Delivery read rate of a published article, 0-1");
    ARTICLE_READ_FINISH_RATIO = g!(Experimental, Ratio, "Published content", "wechat_mp_article_read_finish_ratio", ["msgid"], "getarticletotaldetail", "detail_list.read_finish_rate", published_rate,
        "Share of readers who finished a published article, 0-1");
    ARTICLE_READ_AVG_ACTIVE_SECONDS = g!(Experimental, Seconds, "Published content", "wechat_mp_article_read_avg_active_seconds", ["msgid"], "getarticletotaldetail", "detail_list.read_avg_activetime * 60", published_rate,
        "Average active reading time of a published article, in seconds");
    ARTICLE_READ_EXIT_POSITION_RATIO = g!(Experimental, Ratio, "Published content", "wechat_mp_article_read_exit_position_ratio", ["msgid", "position"], "getarticletotaldetail", "detail_list.read_jump_position.rate", published_rate,
        "Share of readers who left at that part of a published article; position is in percent of its length");
    // ---- messages
    UPSTREAM_MESSAGES = g!(Stable, Count("messages"), "Messages", "wechat_mp_upstream_messages", ["msg_type"], "getupstreammsg", "msg_count", day,
        "Messages users sent to the account by message type");
    UPSTREAM_MESSAGE_USERS = g!(Stable, Count("users"), "Messages", "wechat_mp_upstream_message_users", ["msg_type"], "getupstreammsg", "msg_user", day,
        "Distinct users sending messages to the account by message type");
    HOURLY_UPSTREAM_MESSAGES = g!(Experimental, Count("messages"), "Messages", "wechat_mp_hourly_upstream_messages", ["msg_type", "hour"], "getupstreammsghour", "msg_count", hour,
        "Messages users sent to the account per hour and message type");
    HOURLY_UPSTREAM_MESSAGE_USERS = g!(Experimental, Count("users"), "Messages", "wechat_mp_hourly_upstream_message_users", ["msg_type", "hour"], "getupstreammsghour", "msg_user", hour,
        "Distinct users sending messages per hour and message type");
    WEEKLY_UPSTREAM_MESSAGES = g!(Experimental, Count("messages"), "Messages", "wechat_mp_weekly_upstream_messages", ["msg_type"], "getupstreammsgweek", "msg_count", week,
        "Messages users sent to the account in the week by message type");
    WEEKLY_UPSTREAM_MESSAGE_USERS = g!(Experimental, Count("users"), "Messages", "wechat_mp_weekly_upstream_message_users", ["msg_type"], "getupstreammsgweek", "msg_user", week,
        "Distinct users sending messages in the week by message type");
    MONTHLY_UPSTREAM_MESSAGES = g!(Experimental, Count("messages"), "Messages", "wechat_mp_monthly_upstream_messages", ["msg_type"], "getupstreammsgmonth", "msg_count", month,
        "Messages users sent to the account in the month by message type");
    MONTHLY_UPSTREAM_MESSAGE_USERS = g!(Experimental, Count("users"), "Messages", "wechat_mp_monthly_upstream_message_users", ["msg_type"], "getupstreammsgmonth", "msg_user", month,
        "Distinct users sending messages in the month by message type");
    UPSTREAM_MESSAGE_DISTRIBUTION_USERS = g!(Experimental, Count("users"), "Messages", "wechat_mp_upstream_message_distribution_users", ["count_interval"], "getupstreammsgdist", "msg_user", day,
        "Users by number of messages they sent on the day");
    WEEKLY_UPSTREAM_MESSAGE_DISTRIBUTION_USERS = g!(Experimental, Count("users"), "Messages", "wechat_mp_weekly_upstream_message_distribution_users", ["count_interval"], "getupstreammsgdistweek", "msg_user", week,
        "Users by number of messages they sent in the week");
    MONTHLY_UPSTREAM_MESSAGE_DISTRIBUTION_USERS = g!(Experimental, Count("users"), "Messages", "wechat_mp_monthly_upstream_message_distribution_users", ["count_interval"], "getupstreammsgdistmonth", "msg_user", month,
        "Users by number of messages they sent in the month");
    // ---- callbacks
    CALLBACK_REQUESTS = g!(Stable, Count("requests"), "Callbacks", "wechat_mp_callback_requests", [], "getinterfacesummary", "callback_count", day,
        "Passive replies sent through the callback server");
    CALLBACK_FAILURES = g!(Stable, Count("requests"), "Callbacks", "wechat_mp_callback_failed_requests", [], "getinterfacesummary", "fail_count", day,
        "Failed callback requests");
    CALLBACK_TIME_COST_SECONDS = g!(Stable, Seconds, "Callbacks", "wechat_mp_callback_time_cost_seconds", [], "getinterfacesummary", "total_time_cost / 1000", day,
        "Total time spent in callback requests, in seconds");
    CALLBACK_MAX_TIME_COST_SECONDS = g!(Stable, Seconds, "Callbacks", "wechat_mp_callback_max_time_cost_seconds", [], "getinterfacesummary", "max_time_cost / 1000", day,
        "Longest callback request, in seconds");
    HOURLY_CALLBACK_REQUESTS = g!(Experimental, Count("requests"), "Callbacks", "wechat_mp_hourly_callback_requests", ["hour"], "getinterfacesummaryhour", "callback_count", hour,
        "Passive replies sent through the callback server per hour");
    HOURLY_CALLBACK_FAILURES = g!(Experimental, Count("requests"), "Callbacks", "wechat_mp_hourly_callback_failed_requests", ["hour"], "getinterfacesummaryhour", "fail_count", hour,
        "Failed callback requests per hour");
    HOURLY_CALLBACK_TIME_COST_SECONDS = g!(Experimental, Seconds, "Callbacks", "wechat_mp_hourly_callback_time_cost_seconds", ["hour"], "getinterfacesummaryhour", "total_time_cost / 1000", hour,
        "Total time spent in callback requests per hour, in seconds");
    HOURLY_CALLBACK_MAX_TIME_COST_SECONDS = g!(Experimental, Seconds, "Callbacks", "wechat_mp_hourly_callback_max_time_cost_seconds", ["hour"], "getinterfacesummaryhour", "max_time_cost / 1000", hour,
        "Longest callback request per hour, in seconds");
    // ---- the signed probe of the callback server ([account.callback_probe]; only probed accounts)
    CALLBACK_PROBE_SUCCESS = probe!(Stable, State, Gauge, "wechat_mp_callback_probe_success", [], "probe",
        "1 when the last probe of the callback server got the answer WeChat expects within the timeout, else 0.");
    CALLBACK_PROBE_DURATION_SECONDS = probe!(Stable, Seconds, Gauge, "wechat_mp_callback_probe_duration_seconds", [], "probe",
        "Seconds the slowest request of the last probe took (WeChat allows 5 per request).");
    CALLBACK_PROBE_LATENCY_SECONDS = probe!(Experimental, Seconds, Histogram, "wechat_mp_callback_probe_latency_seconds", [], "every probe",
        "Distribution of probe durations (the slowest request of each probe, failed ones included), in seconds.");
    CALLBACK_PROBE_FAILURES_TOTAL = probe!(Stable, Count("failures"), Counter, "wechat_mp_callback_probe_failures_total", ["reason"], "every failed probe",
        "Failed probes by reason: timeout, status, wrong_echo, tls, dns, connect, signature_rejected.");
    // ---- the exporter itself
    UP = own!(Stable, State, Gauge, "wechat_mp_up", ["account"], "AccountStatus.up",
        "1 when the account's last poll round had no error, else 0.");
    DATA_DATE_SECONDS = own!(Stable, TimestampSeconds, Gauge, "wechat_mp_data_date_timestamp_seconds", ["account", "api"], "DatedReport.date",
        "Unix time of 00:00 UTC+8 of the day the exposed values of this endpoint describe.");
    API_REQUESTS_TOTAL = own!(Stable, Count("requests"), Counter, "wechat_mp_api_requests_total", ["account", "api", "errcode"], "every datacube and getApiQuota call",
        "Datacube API calls made, by endpoint and errcode (0 = ok); api=\"quota_get\" counts the getApiQuota reads.");
    TOKEN_FETCHES_TOTAL = own!(Stable, Count("fetches"), Counter, "wechat_mp_token_fetches_total", ["account", "source", "errcode"], "every token fetch",
        "Access token fetches, by token source and errcode (0 = ok).");
    API_UNAVAILABLE = own!(Stable, State, Gauge, "wechat_mp_api_unavailable", ["account", "api", "reason"], "AccountStatus.unavailable",
        "1 for each endpoint the scheduler has stopped calling, with the reason.");
    API_QUOTA_DAILY_LIMIT = own!(Stable, Count("requests"), Gauge, "wechat_mp_api_quota_limit_requests", ["account", "api"], "getApiQuota quota.daily_limit",
        "Calls of this endpoint WeChat allows the account per UTC+8 day (read once a day and after a 45009).");
    API_QUOTA_USED = own!(Stable, Count("requests"), Gauge, "wechat_mp_api_quota_used_requests", ["account", "api"], "getApiQuota quota.used",
        "Calls of this endpoint WeChat has counted today (UTC+8) for the account, by anyone, as of the last quota read.");
    API_QUOTA_REMAINING = own!(Stable, Count("requests"), Gauge, "wechat_mp_api_quota_remaining_requests", ["account", "api"], "getApiQuota quota.remain",
        "Calls of this endpoint left to the account today (UTC+8), as of the last quota read.");
    LAST_POLL_DURATION_SECONDS = own!(Stable, Seconds, Gauge, "wechat_mp_last_poll_duration_seconds", ["account"], "AccountStatus.last_poll_seconds",
        "Wall-clock seconds the account's last poll round took.");
    LAST_POLL_TIMESTAMP_SECONDS = own!(Stable, TimestampSeconds, Gauge, "wechat_mp_last_poll_timestamp_seconds", ["account"], "AccountStatus.last_poll_end",
        "Unix time the account's last poll round ended.");
    ARTICLE_SERIES_DROPPED = own!(Experimental, Count("articles"), Gauge, "wechat_mp_dropped_articles", ["account", "api"], "max_articles_per_account",
        "Articles left out of this endpoint's per-article series by max_articles_per_account.");
    EXPORTER_BUILD_INFO = own!(Stable, Info, Gauge, "wechat_mp_exporter_build_info", ["version", "revision"], "build",
        "Always 1; the exporter's version and source revision as labels.");
    EXPORTER_CONFIG_LAST_RELOAD_SUCCESSFUL = own!(Stable, State, Gauge, "wechat_mp_exporter_config_last_reload_successful", [], "config reload",
        "1 when the last config load (start, SIGHUP or POST /-/reload) succeeded; 0 while a bad file is ignored.");
    EXPORTER_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS = own!(Stable, TimestampSeconds, Gauge, "wechat_mp_exporter_config_last_reload_success_timestamp_seconds", [], "config reload",
        "Unix time of the last successful config load.");
    EXPORTER_OTLP_EXPORTS_TOTAL = own!(Experimental, Count("exports"), Counter, "wechat_mp_exporter_otlp_exports_total", ["result"], "every OTLP push",
        "OTLP metric pushes by result (success, failure); present only while OTLP push is on.");
    EXPORTER_BUSINESS_ENCODES_TOTAL = own!(Experimental, Count("encodes"), Counter, "wechat_mp_exporter_business_encodes_total", ["format"], "every encoding of the business block",
        "Encodings of the business block (every account's report families) by format (openmetrics, text, protobuf); it grows only when business data changes.");
    // (exporter-own families added later go here; new families start Experimental)
}

/// Every metric family the exporter can emit.
pub fn catalogue() -> &'static [MetricInfo] {
    CATALOGUE
}

/// The catalogue entry of `name`.
pub fn lookup(name: &str) -> Option<&'static MetricInfo> {
    CATALOGUE.iter().find(|m| m.name == name)
}

/// The families whose values come from `endpoint` (what calling it is for).
pub fn of_endpoint(endpoint: &str) -> impl Iterator<Item = &'static MetricInfo> + '_ {
    CATALOGUE.iter().filter(move |m| m.endpoint == endpoint)
}

#[cfg(test)]
mod tests;
