//! The one table of every metric family: name, type, labels, source endpoint and field, HELP text.
//!
//! The mapping modules emit only names listed here (a test checks both directions), and
//! docs/metrics.md is generated from this table, so the documentation cannot drift from the output.

use std::fmt::Write as _;

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
    /// Label names in exposition order (`account` first where present).
    pub labels: &'static [&'static str],
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
    /// The OpenMetrics unit of the family (`seconds`, `bytes`, `ratio`, ...), or `None`.
    ///
    /// The encoders write it as `# UNIT` and the OTLP push as the instrument's unit; the name ends
    /// in it (before `_total`), as Prometheus' naming practice asks.
    pub fn unit(&self) -> Option<&'static str> {
        let base = self.name.strip_suffix("_total").unwrap_or(self.name);
        ["seconds", "bytes", "ratio"]
            .into_iter()
            .find(|u| base.ends_with(&format!("_{u}")))
    }
}

// Period phrases, as macros because `concat!` only takes literals.
macro_rules! when {
    (day) => {
        "latest complete day (UTC+8)"
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
    ($group:literal, $name:literal, [$($l:literal),*], $ep:literal, $field:literal, $when:ident, $meaning:literal) => {
        MetricInfo {
            name: $name,
            kind: MetricKind::Gauge,
            labels: &["account" $(, $l)*],
            group: $group,
            endpoint: $ep,
            field: $field,
            help: concat!($meaning, " (WeChat ", $ep, ".", $field, "; ", when!($when), ")."),
        }
    };
}

/// An exporter-side metric with a free HELP text.
macro_rules! own {
    ($kind:ident, $name:literal, [$($l:literal),*], $field:literal, $help:literal) => {
        MetricInfo {
            name: $name,
            kind: MetricKind::$kind,
            labels: &[$($l),*],
            group: EXPORTER,
            endpoint: "",
            field: $field,
            help: $help,
        }
    };
}

/// A callback probe family: labelled `account` first, measured by the exporter itself.
macro_rules! probe {
    ($kind:ident, $name:literal, [$($l:literal),*], $field:literal, $help:literal) => {
        MetricInfo {
            name: $name,
            kind: MetricKind::$kind,
            labels: &["account" $(, $l)*],
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

#[rustfmt::skip]
catalogue! {
    // ---- users
    FOLLOWERS = g!("Users", "wechat_mp_followers", [], "getusercumulate", "cumulate_user", day,
        "Total followers at the end of the day");
    FOLLOWERS_NEW = g!("Users", "wechat_mp_followers_new", ["source"], "getusersummary", "new_user", day,
        "New followers by follow channel");
    FOLLOWERS_CANCELLED = g!("Users", "wechat_mp_followers_cancelled", ["source"], "getusersummary", "cancel_user", day,
        "Unfollows by original follow channel");
    // ---- legacy article endpoints: account-wide reads
    ARTICLE_READS = g!("Articles (legacy endpoints)", "wechat_mp_article_reads", ["source"], "getuserread", "int_page_read_count", day,
        "Article page views of mass-sent articles by read channel");
    ARTICLE_PAGE_READ_USERS = g!("Articles (legacy endpoints)", "wechat_mp_article_page_read_users", ["source"], "getuserread", "int_page_read_user", day,
        "Distinct article page readers of mass-sent articles by read channel");
    ARTICLE_ORIGINAL_PAGE_READS = g!("Articles (legacy endpoints)", "wechat_mp_article_original_page_reads", ["source"], "getuserread", "ori_page_read_count", day,
        "Original-page views by read channel");
    ARTICLE_ORIGINAL_PAGE_READ_USERS = g!("Articles (legacy endpoints)", "wechat_mp_article_original_page_read_users", ["source"], "getuserread", "ori_page_read_user", day,
        "Distinct original-page readers by read channel");
    ARTICLE_SHARES = g!("Articles (legacy endpoints)", "wechat_mp_article_shares", ["source"], "getuserread", "share_count", day,
        "Article shares by read channel");
    ARTICLE_SHARE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_article_share_users", ["source"], "getuserread", "share_user", day,
        "Distinct article sharers by read channel");
    ARTICLE_FAVOURITES = g!("Articles (legacy endpoints)", "wechat_mp_article_favourites", ["source"], "getuserread", "add_to_fav_count", day,
        "Articles added to favourites by read channel");
    ARTICLE_FAVOURITE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_article_favourite_users", ["source"], "getuserread", "add_to_fav_user", day,
        "Distinct users who added articles to favourites by read channel");
    HOURLY_ARTICLE_READS = g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_reads", ["source", "hour"], "getuserreadhour", "int_page_read_count", day,
        "Article page views per hour and read channel");
    HOURLY_ARTICLE_PAGE_READ_USERS = g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_page_read_users", ["source", "hour"], "getuserreadhour", "int_page_read_user", day,
        "Distinct article page readers per hour and read channel");
    HOURLY_ARTICLE_ORIGINAL_PAGE_READS = g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_original_page_reads", ["source", "hour"], "getuserreadhour", "ori_page_read_count", day,
        "Original-page views per hour and read channel");
    HOURLY_ARTICLE_ORIGINAL_PAGE_READ_USERS = g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_original_page_read_users", ["source", "hour"], "getuserreadhour", "ori_page_read_user", day,
        "Distinct original-page readers per hour and read channel");
    HOURLY_ARTICLE_SHARES = g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_shares", ["source", "hour"], "getuserreadhour", "share_count", day,
        "Article shares per hour and read channel");
    HOURLY_ARTICLE_SHARE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_share_users", ["source", "hour"], "getuserreadhour", "share_user", day,
        "Distinct article sharers per hour and read channel");
    HOURLY_ARTICLE_FAVOURITES = g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_favourites", ["source", "hour"], "getuserreadhour", "add_to_fav_count", day,
        "Favourites per hour and read channel");
    HOURLY_ARTICLE_FAVOURITE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_favourite_users", ["source", "hour"], "getuserreadhour", "add_to_fav_user", day,
        "Distinct users adding favourites per hour and read channel");
    SHARES = g!("Articles (legacy endpoints)", "wechat_mp_shares", ["scene"], "getusershare", "share_count", day,
        "Article shares by share scene");
    SHARE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_share_users", ["scene"], "getusershare", "share_user", day,
        "Distinct sharers by share scene");
    HOURLY_SHARES = g!("Articles (legacy endpoints)", "wechat_mp_hourly_shares", ["scene", "hour"], "getusersharehour", "share_count", day,
        "Article shares per hour and share scene");
    HOURLY_SHARE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_hourly_share_users", ["scene", "hour"], "getusersharehour", "share_user", day,
        "Distinct sharers per hour and share scene");
    // ---- legacy: per mass-sent article, that day
    MASSMSG_DAILY_READS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_reads", ["msgid", "title"], "getarticlesummary", "int_page_read_count", day,
        "Page views of a mass-sent article on the day");
    MASSMSG_DAILY_READ_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_read_users", ["msgid", "title"], "getarticlesummary", "int_page_read_user", day,
        "Distinct page readers of a mass-sent article on the day");
    MASSMSG_DAILY_ORIGINAL_PAGE_READS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_original_page_reads", ["msgid", "title"], "getarticlesummary", "ori_page_read_count", day,
        "Original-page views of a mass-sent article on the day");
    MASSMSG_DAILY_ORIGINAL_PAGE_READ_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_original_page_read_users", ["msgid", "title"], "getarticlesummary", "ori_page_read_user", day,
        "Distinct original-page readers of a mass-sent article on the day");
    MASSMSG_DAILY_SHARES = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_shares", ["msgid", "title"], "getarticlesummary", "share_count", day,
        "Shares of a mass-sent article on the day");
    MASSMSG_DAILY_SHARE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_share_users", ["msgid", "title"], "getarticlesummary", "share_user", day,
        "Distinct sharers of a mass-sent article on the day");
    MASSMSG_DAILY_FAVOURITES = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_favourites", ["msgid", "title"], "getarticlesummary", "add_to_fav_count", day,
        "Favourites of a mass-sent article on the day");
    MASSMSG_DAILY_FAVOURITE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_favourite_users", ["msgid", "title"], "getarticlesummary", "add_to_fav_user", day,
        "Distinct users adding a mass-sent article to favourites on the day");
    // ---- legacy: per mass-sent article, running totals
    MASSMSG_READ_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_read_users", ["msgid", "title", "source"], "getarticletotal", "details.int_page_read_user / int_page_from_{source}_read_user", sent,
        "Distinct page readers of a mass-sent article by read channel, source all = int_page_read_user");
    MASSMSG_READS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_reads", ["msgid", "title", "source"], "getarticletotal", "details.int_page_read_count / int_page_from_{source}_read_count", sent,
        "Page views of a mass-sent article by read channel, source all = int_page_read_count");
    MASSMSG_TARGET_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_target_users", ["msgid", "title"], "getarticletotal", "details.target_user", sent,
        "Users the article was sent to");
    MASSMSG_ORIGINAL_PAGE_READS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_original_page_reads", ["msgid", "title"], "getarticletotal", "details.ori_page_read_count", sent,
        "Original-page views of a mass-sent article");
    MASSMSG_ORIGINAL_PAGE_READ_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_original_page_read_users", ["msgid", "title"], "getarticletotal", "details.ori_page_read_user", sent,
        "Distinct original-page readers of a mass-sent article");
    MASSMSG_SHARES = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_shares", ["msgid", "title"], "getarticletotal", "details.share_count", sent,
        "Shares of a mass-sent article");
    MASSMSG_SHARE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_share_users", ["msgid", "title"], "getarticletotal", "details.share_user", sent,
        "Distinct sharers of a mass-sent article");
    MASSMSG_FAVOURITES = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_favourites", ["msgid", "title"], "getarticletotal", "details.add_to_fav_count", sent,
        "Favourites of a mass-sent article");
    MASSMSG_FAVOURITE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_favourite_users", ["msgid", "title"], "getarticletotal", "details.add_to_fav_user", sent,
        "Distinct users adding a mass-sent article to favourites");
    MASSMSG_MOMENTS_SHARES = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_moments_shares", ["msgid", "title", "source"], "getarticletotal", "details.feed_share_from_{source}_cnt", sent,
        "Shares to Moments of a mass-sent article, by where the sharer read it");
    MASSMSG_MOMENTS_SHARE_USERS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_moments_share_users", ["msgid", "title", "source"], "getarticletotal", "details.feed_share_from_{source}_user", sent,
        "Distinct users sharing a mass-sent article to Moments, by where they read it");
    MASSMSG_SENT_TIMESTAMP_SECONDS = g!("Articles (legacy endpoints)", "wechat_mp_massmsg_sent_timestamp_seconds", ["msgid", "title"], "getarticletotal", "ref_date", article,
        "Unix time of 00:00 UTC+8 of the day the article was mass-sent");
    // ---- published content
    ARTICLE_READ_USERS = g!("Published content", "wechat_mp_article_read_users", ["source"], "getbizsummary", "detail.read_user / read_user_source", day,
        "Distinct readers of published content by read channel, source all = read_user");
    PUBLISHED_SHARE_USERS = g!("Published content", "wechat_mp_published_share_users", [], "getbizsummary", "detail.share_user", day,
        "Distinct sharers of published content");
    PUBLISHED_ZAIKAN_USERS = g!("Published content", "wechat_mp_published_zaikan_users", [], "getbizsummary", "detail.zaikan_user", day,
        "Distinct users giving a heart (zaikan) to published content");
    PUBLISHED_LIKE_USERS = g!("Published content", "wechat_mp_published_like_users", [], "getbizsummary", "detail.like_user", day,
        "Distinct users liking published content");
    PUBLISHED_COMMENTS = g!("Published content", "wechat_mp_published_comments", [], "getbizsummary", "detail.comment_count", day,
        "Comments on published content");
    PUBLISHED_FAVOURITE_USERS = g!("Published content", "wechat_mp_published_favourite_users", [], "getbizsummary", "detail.collection_user", day,
        "Distinct users adding published content to favourites");
    PUBLISHED_ORIGINAL_PAGE_USERS = g!("Published content", "wechat_mp_published_original_page_users", [], "getbizsummary", "detail.redirect_ori_page_user", day,
        "Distinct users going on to the original page");
    PUBLISHED_ARTICLES = g!("Published content", "wechat_mp_published_articles", [], "getbizsummary", "detail.send_page_count", day,
        "Articles published");
    PUBLISHED_ARTICLE_READ_USERS = g!("Published content", "wechat_mp_published_article_read_users", ["msgid", "source"], "getarticleread", "detail.read_user / read_user_source", day,
        "Distinct readers of a published article on the day by read channel, source all = read_user");
    PUBLISHED_ARTICLE_SHARE_USERS = g!("Published content", "wechat_mp_published_article_share_users", ["msgid"], "getarticleshare", "detail.share_user", day,
        "Distinct sharers of a published article on the day");
    ARTICLE_CUMULATIVE_READ_USERS = g!("Published content", "wechat_mp_article_cumulative_read_users", ["msgid", "title", "source"], "getarticletotaldetail", "detail_list.read_user / read_user_source", published,
        "Distinct readers of a published article by read channel, source all = read_user");
    ARTICLE_CUMULATIVE_SHARE_USERS = g!("Published content", "wechat_mp_article_cumulative_share_users", ["msgid", "title"], "getarticletotaldetail", "detail_list.share_user", published,
        "Distinct sharers of a published article");
    ARTICLE_CUMULATIVE_ZAIKAN_USERS = g!("Published content", "wechat_mp_article_cumulative_zaikan_users", ["msgid", "title"], "getarticletotaldetail", "detail_list.zaikan_user", published,
        "Distinct users giving a heart (zaikan) to a published article");
    ARTICLE_CUMULATIVE_LIKE_USERS = g!("Published content", "wechat_mp_article_cumulative_like_users", ["msgid", "title"], "getarticletotaldetail", "detail_list.like_user", published,
        "Distinct users liking a published article");
    ARTICLE_CUMULATIVE_COMMENTS = g!("Published content", "wechat_mp_article_cumulative_comments", ["msgid", "title"], "getarticletotaldetail", "detail_list.comment_count", published,
        "Comments on a published article");
    ARTICLE_CUMULATIVE_FAVOURITE_USERS = g!("Published content", "wechat_mp_article_cumulative_favourite_users", ["msgid", "title"], "getarticletotaldetail", "detail_list.collection_user", published,
        "Distinct users adding a published article to favourites");
    ARTICLE_CUMULATIVE_TIPS_YUAN = g!("Published content", "wechat_mp_article_cumulative_tips_yuan", ["msgid", "title"], "getarticletotaldetail", "detail_list.praise_money / 100", published,
        "Tips received by a published article, in CNY");
    ARTICLE_CUMULATIVE_FOLLOWS_AFTER_READ = g!("Published content", "wechat_mp_article_cumulative_follows_after_read", ["msgid", "title"], "getarticletotaldetail", "detail_list.read_subscribe_user", published,
        "Users who followed the account after reading a published article");
    ARTICLE_READ_DELIVERY_RATIO = g!("Published content", "wechat_mp_article_read_delivery_ratio", ["msgid", "title"], "getarticletotaldetail", "detail_list.read_delivery_rate", published_rate,
        "Delivery read rate of a published article, 0-1");
    ARTICLE_READ_FINISH_RATIO = g!("Published content", "wechat_mp_article_read_finish_ratio", ["msgid", "title"], "getarticletotaldetail", "detail_list.read_finish_rate", published_rate,
        "Share of readers who finished a published article, 0-1");
    ARTICLE_READ_AVG_ACTIVE_SECONDS = g!("Published content", "wechat_mp_article_read_avg_active_seconds", ["msgid", "title"], "getarticletotaldetail", "detail_list.read_avg_activetime * 60", published_rate,
        "Average active reading time of a published article, in seconds");
    ARTICLE_READ_EXIT_POSITION_RATIO = g!("Published content", "wechat_mp_article_read_exit_position_ratio", ["msgid", "title", "position"], "getarticletotaldetail", "detail_list.read_jump_position.rate", published_rate,
        "Share of readers who left at that part of a published article; position is in percent of its length");
    ARTICLE_PUBLISHED_TIMESTAMP_SECONDS = g!("Published content", "wechat_mp_article_published_timestamp_seconds", ["msgid", "title", "publish_type"], "getarticletotaldetail", "ref_date / publish_type", article,
        "Unix time of 00:00 UTC+8 of the day the article was published");
    // ---- messages
    UPSTREAM_MESSAGES = g!("Messages", "wechat_mp_upstream_messages", ["msg_type"], "getupstreammsg", "msg_count", day,
        "Messages users sent to the account by message type");
    UPSTREAM_MESSAGE_USERS = g!("Messages", "wechat_mp_upstream_message_users", ["msg_type"], "getupstreammsg", "msg_user", day,
        "Distinct users sending messages to the account by message type");
    HOURLY_UPSTREAM_MESSAGES = g!("Messages", "wechat_mp_hourly_upstream_messages", ["msg_type", "hour"], "getupstreammsghour", "msg_count", day,
        "Messages users sent to the account per hour and message type");
    HOURLY_UPSTREAM_MESSAGE_USERS = g!("Messages", "wechat_mp_hourly_upstream_message_users", ["msg_type", "hour"], "getupstreammsghour", "msg_user", day,
        "Distinct users sending messages per hour and message type");
    WEEKLY_UPSTREAM_MESSAGES = g!("Messages", "wechat_mp_weekly_upstream_messages", ["msg_type"], "getupstreammsgweek", "msg_count", week,
        "Messages users sent to the account in the week by message type");
    WEEKLY_UPSTREAM_MESSAGE_USERS = g!("Messages", "wechat_mp_weekly_upstream_message_users", ["msg_type"], "getupstreammsgweek", "msg_user", week,
        "Distinct users sending messages in the week by message type");
    MONTHLY_UPSTREAM_MESSAGES = g!("Messages", "wechat_mp_monthly_upstream_messages", ["msg_type"], "getupstreammsgmonth", "msg_count", month,
        "Messages users sent to the account in the month by message type");
    MONTHLY_UPSTREAM_MESSAGE_USERS = g!("Messages", "wechat_mp_monthly_upstream_message_users", ["msg_type"], "getupstreammsgmonth", "msg_user", month,
        "Distinct users sending messages in the month by message type");
    UPSTREAM_MESSAGE_DISTRIBUTION_USERS = g!("Messages", "wechat_mp_upstream_message_distribution_users", ["count_interval"], "getupstreammsgdist", "msg_user", day,
        "Users by number of messages they sent on the day");
    WEEKLY_UPSTREAM_MESSAGE_DISTRIBUTION_USERS = g!("Messages", "wechat_mp_weekly_upstream_message_distribution_users", ["count_interval"], "getupstreammsgdistweek", "msg_user", week,
        "Users by number of messages they sent in the week");
    MONTHLY_UPSTREAM_MESSAGE_DISTRIBUTION_USERS = g!("Messages", "wechat_mp_monthly_upstream_message_distribution_users", ["count_interval"], "getupstreammsgdistmonth", "msg_user", month,
        "Users by number of messages they sent in the month");
    // ---- callbacks
    CALLBACK_REQUESTS = g!("Callbacks", "wechat_mp_callback_requests", [], "getinterfacesummary", "callback_count", day,
        "Passive replies sent through the callback server");
    CALLBACK_FAILURES = g!("Callbacks", "wechat_mp_callback_failures", [], "getinterfacesummary", "fail_count", day,
        "Failed callback requests");
    CALLBACK_TIME_COST_SECONDS = g!("Callbacks", "wechat_mp_callback_time_cost_seconds", [], "getinterfacesummary", "total_time_cost / 1000", day,
        "Total time spent in callback requests, in seconds");
    CALLBACK_MAX_TIME_COST_SECONDS = g!("Callbacks", "wechat_mp_callback_max_time_cost_seconds", [], "getinterfacesummary", "max_time_cost / 1000", day,
        "Longest callback request, in seconds");
    HOURLY_CALLBACK_REQUESTS = g!("Callbacks", "wechat_mp_hourly_callback_requests", ["hour"], "getinterfacesummaryhour", "callback_count", day,
        "Passive replies sent through the callback server per hour");
    HOURLY_CALLBACK_FAILURES = g!("Callbacks", "wechat_mp_hourly_callback_failures", ["hour"], "getinterfacesummaryhour", "fail_count", day,
        "Failed callback requests per hour");
    HOURLY_CALLBACK_TIME_COST_SECONDS = g!("Callbacks", "wechat_mp_hourly_callback_time_cost_seconds", ["hour"], "getinterfacesummaryhour", "total_time_cost / 1000", day,
        "Total time spent in callback requests per hour, in seconds");
    HOURLY_CALLBACK_MAX_TIME_COST_SECONDS = g!("Callbacks", "wechat_mp_hourly_callback_max_time_cost_seconds", ["hour"], "getinterfacesummaryhour", "max_time_cost / 1000", day,
        "Longest callback request per hour, in seconds");
    // ---- the signed probe of the callback server ([account.callback_probe]; only probed accounts)
    CALLBACK_PROBE_SUCCESS = probe!(Gauge, "wechat_mp_callback_probe_success", [], "probe",
        "1 when the last probe of the callback server got the answer WeChat expects within the timeout, else 0.");
    CALLBACK_PROBE_DURATION_SECONDS = probe!(Gauge, "wechat_mp_callback_probe_duration_seconds", [], "probe",
        "Seconds the slowest request of the last probe took (WeChat allows 5 per request).");
    CALLBACK_PROBE_LATENCY_SECONDS = probe!(Histogram, "wechat_mp_callback_probe_latency_seconds", [], "every probe",
        "Distribution of probe durations (the slowest request of each probe, failed ones included), in seconds.");
    CALLBACK_PROBE_FAILURES_TOTAL = probe!(Counter, "wechat_mp_callback_probe_failures_total", ["reason"], "every failed probe",
        "Failed probes by reason: timeout, status, wrong_echo, tls, dns, connect, signature_rejected.");
    // ---- the exporter itself
    UP = own!(Gauge, "wechat_mp_up", ["account"], "AccountStatus.up",
        "1 when the account's last poll round had no error, else 0.");
    DATA_DATE_SECONDS = own!(Gauge, "wechat_mp_data_date_seconds", ["account", "api"], "DatedReport.date",
        "Unix time of 00:00 UTC+8 of the day the exposed values of this endpoint describe.");
    API_REQUESTS_TOTAL = own!(Counter, "wechat_mp_api_requests_total", ["account", "api", "errcode"], "every datacube and getApiQuota call",
        "Datacube API calls made, by endpoint and errcode (0 = ok); api=\"quota_get\" counts the getApiQuota reads.");
    TOKEN_FETCHES_TOTAL = own!(Counter, "wechat_mp_token_fetches_total", ["account", "source", "errcode"], "every token fetch",
        "Access token fetches, by token source and errcode (0 = ok).");
    API_UNAVAILABLE = own!(Gauge, "wechat_mp_api_unavailable", ["account", "api", "reason"], "AccountStatus.unavailable",
        "1 for each endpoint the scheduler has stopped calling, with the reason.");
    API_QUOTA_DAILY_LIMIT = own!(Gauge, "wechat_mp_api_quota_daily_limit", ["account", "api"], "getApiQuota quota.daily_limit",
        "Calls of this endpoint WeChat allows the account per UTC+8 day (read once a day and after a 45009).");
    API_QUOTA_USED = own!(Gauge, "wechat_mp_api_quota_used", ["account", "api"], "getApiQuota quota.used",
        "Calls of this endpoint WeChat has counted today (UTC+8) for the account, by anyone, as of the last quota read.");
    API_QUOTA_REMAINING = own!(Gauge, "wechat_mp_api_quota_remaining", ["account", "api"], "getApiQuota quota.remain",
        "Calls of this endpoint left to the account today (UTC+8), as of the last quota read.");
    LAST_POLL_DURATION_SECONDS = own!(Gauge, "wechat_mp_last_poll_duration_seconds", ["account"], "AccountStatus.last_poll_seconds",
        "Wall-clock seconds the account's last poll round took.");
    LAST_POLL_TIMESTAMP_SECONDS = own!(Gauge, "wechat_mp_last_poll_timestamp_seconds", ["account"], "AccountStatus.last_poll_end",
        "Unix time the account's last poll round ended.");
    ARTICLE_SERIES_DROPPED = own!(Gauge, "wechat_mp_article_series_dropped", ["account", "api"], "max_articles_per_account",
        "Articles left out of this endpoint's per-article series by max_articles_per_account.");
    EXPORTER_BUILD_INFO = own!(Gauge, "wechat_mp_exporter_build_info", ["version", "revision"], "build",
        "Always 1; the exporter's version and source revision as labels.");
    EXPORTER_CONFIG_LAST_RELOAD_SUCCESSFUL = own!(Gauge, "wechat_mp_exporter_config_last_reload_successful", [], "config reload",
        "1 when the last config load (start, SIGHUP or POST /-/reload) succeeded; 0 while a bad file is ignored.");
    EXPORTER_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS = own!(Gauge, "wechat_mp_exporter_config_last_reload_success_timestamp_seconds", [], "config reload",
        "Unix time of the last successful config load.");
    EXPORTER_OTLP_EXPORTS_TOTAL = own!(Counter, "wechat_mp_exporter_otlp_exports_total", ["result"], "every OTLP push",
        "OTLP metric pushes by result (success, failure); present only while OTLP push is on.");
    EXPORTER_BUSINESS_ENCODES_TOTAL = own!(Counter, "wechat_mp_exporter_business_encodes_total", ["format"], "every encoding of the business block",
        "Encodings of the business block (every account's report families) by format (openmetrics, text, protobuf); it grows only when business data changes.");
}

/// Every metric family the exporter can emit.
pub fn catalogue() -> &'static [MetricInfo] {
    CATALOGUE
}

/// The catalogue entry of `name`.
pub fn lookup(name: &str) -> Option<&'static MetricInfo> {
    CATALOGUE.iter().find(|m| m.name == name)
}

/// docs/metrics.md: a table per report group.
pub fn catalogue_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Metrics\n\n");
    out.push_str(
        "Generated from `src/metrics/catalogue.rs` (`UPDATE_DOCS=1 cargo test --lib metrics` rewrites it; \
         a test fails when it is stale). All business metrics are gauges holding the value of the \
         latest complete day (UTC+8), without timestamps, labelled `account`. Per-article families \
         keep at most `max_articles_per_account` articles per endpoint, newest first.\n",
    );
    for group in GROUPS {
        let _ = write!(
            out,
            "\n## {group}\n\n| metric | type | labels | source | meaning |\n|---|---|---|---|---|\n"
        );
        for m in CATALOGUE.iter().filter(|m| m.group == group) {
            let source = if m.endpoint.is_empty() {
                m.field.to_string()
            } else {
                format!("{}.{}", m.endpoint, m.field)
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                m.name,
                m.kind.as_str(),
                m.labels.join(", "),
                source.replace('|', "\\|"),
                m.help.replace('|', "\\|"),
            );
        }
    }
    out.push_str(&super::labels::labels_markdown());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut names: Vec<_> = CATALOGUE.iter().map(|m| m.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "duplicate family name");
        for m in CATALOGUE {
            assert!(m.name.starts_with("wechat_mp_"), "{}", m.name);
            assert!(
                m.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                m.name
            );
            assert_eq!(
                m.kind == MetricKind::Counter,
                m.name.ends_with("_total"),
                "{}: counters and only counters end in _total",
                m.name
            );
            assert!(GROUPS.contains(&m.group), "{}", m.name);
            assert!(
                !m.help.contains('\n') && !m.help.contains('\\'),
                "{}",
                m.name
            );
            if !m.endpoint.is_empty() {
                assert_eq!(m.labels.first(), Some(&"account"), "{}", m.name);
                assert!(
                    m.help.contains(m.endpoint),
                    "{} HELP names its endpoint",
                    m.name
                );
                assert!(
                    m.endpoint.parse::<crate::wechat::Endpoint>().is_ok(),
                    "{}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn help_names_source_and_period() {
        let m = lookup("wechat_mp_followers").unwrap();
        assert_eq!(
            m.help,
            "Total followers at the end of the day (WeChat getusercumulate.cumulate_user; latest complete day (UTC+8))."
        );
        assert!(
            lookup("wechat_mp_massmsg_reads")
                .unwrap()
                .help
                .contains("running total since sending")
        );
        assert!(lookup("nope").is_none());
    }
}
