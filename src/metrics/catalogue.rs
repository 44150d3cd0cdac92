//! The one table of every metric family: name, type, labels, source endpoint and field, HELP text.
//!
//! The mapping modules emit only names listed here (a test checks both directions), and
//! docs/metrics.md is generated from this table, so the documentation cannot drift from the output.

use std::fmt::Write as _;

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Gauge,
    Counter,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
        }
    }
}

/// One metric family as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    /// The full name as exposed in the classic text format (counters end in `_total`).
    pub name: &'static str,
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

pub const USERS: &str = "Users";
pub const LEGACY: &str = "Articles (legacy endpoints)";
pub const PUBLISHED: &str = "Published content";
pub const MESSAGES: &str = "Messages";
pub const CALLBACKS: &str = "Callbacks";
pub const EXPORTER: &str = "Exporter";

/// The order of the sections in docs/metrics.md.
pub const GROUPS: [&str; 6] = [USERS, LEGACY, PUBLISHED, MESSAGES, CALLBACKS, EXPORTER];

#[rustfmt::skip]
static CATALOGUE: &[MetricInfo] = &[
    // ---- users
    g!("Users", "wechat_mp_followers", [], "getusercumulate", "cumulate_user", day,
        "Total followers at the end of the day"),
    g!("Users", "wechat_mp_followers_new", ["source"], "getusersummary", "new_user", day,
        "New followers by follow channel"),
    g!("Users", "wechat_mp_followers_cancelled", ["source"], "getusersummary", "cancel_user", day,
        "Unfollows by original follow channel"),
    // ---- legacy article endpoints: account-wide reads
    g!("Articles (legacy endpoints)", "wechat_mp_article_reads", ["source"], "getuserread", "int_page_read_count", day,
        "Article page views of mass-sent articles by read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_article_page_read_users", ["source"], "getuserread", "int_page_read_user", day,
        "Distinct article page readers of mass-sent articles by read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_article_original_page_reads", ["source"], "getuserread", "ori_page_read_count", day,
        "Original-page views by read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_article_original_page_read_users", ["source"], "getuserread", "ori_page_read_user", day,
        "Distinct original-page readers by read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_article_shares", ["source"], "getuserread", "share_count", day,
        "Article shares by read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_article_share_users", ["source"], "getuserread", "share_user", day,
        "Distinct article sharers by read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_article_favourites", ["source"], "getuserread", "add_to_fav_count", day,
        "Articles added to favourites by read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_article_favourite_users", ["source"], "getuserread", "add_to_fav_user", day,
        "Distinct users who added articles to favourites by read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_reads", ["source", "hour"], "getuserreadhour", "int_page_read_count", day,
        "Article page views per hour and read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_page_read_users", ["source", "hour"], "getuserreadhour", "int_page_read_user", day,
        "Distinct article page readers per hour and read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_original_page_reads", ["source", "hour"], "getuserreadhour", "ori_page_read_count", day,
        "Original-page views per hour and read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_original_page_read_users", ["source", "hour"], "getuserreadhour", "ori_page_read_user", day,
        "Distinct original-page readers per hour and read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_shares", ["source", "hour"], "getuserreadhour", "share_count", day,
        "Article shares per hour and read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_share_users", ["source", "hour"], "getuserreadhour", "share_user", day,
        "Distinct article sharers per hour and read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_favourites", ["source", "hour"], "getuserreadhour", "add_to_fav_count", day,
        "Favourites per hour and read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_article_favourite_users", ["source", "hour"], "getuserreadhour", "add_to_fav_user", day,
        "Distinct users adding favourites per hour and read channel"),
    g!("Articles (legacy endpoints)", "wechat_mp_shares", ["scene"], "getusershare", "share_count", day,
        "Article shares by share scene"),
    g!("Articles (legacy endpoints)", "wechat_mp_share_users", ["scene"], "getusershare", "share_user", day,
        "Distinct sharers by share scene"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_shares", ["scene", "hour"], "getusersharehour", "share_count", day,
        "Article shares per hour and share scene"),
    g!("Articles (legacy endpoints)", "wechat_mp_hourly_share_users", ["scene", "hour"], "getusersharehour", "share_user", day,
        "Distinct sharers per hour and share scene"),
    // ---- legacy: per mass-sent article, that day
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_reads", ["msgid", "title"], "getarticlesummary", "int_page_read_count", day,
        "Page views of a mass-sent article on the day"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_read_users", ["msgid", "title"], "getarticlesummary", "int_page_read_user", day,
        "Distinct page readers of a mass-sent article on the day"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_original_page_reads", ["msgid", "title"], "getarticlesummary", "ori_page_read_count", day,
        "Original-page views of a mass-sent article on the day"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_original_page_read_users", ["msgid", "title"], "getarticlesummary", "ori_page_read_user", day,
        "Distinct original-page readers of a mass-sent article on the day"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_shares", ["msgid", "title"], "getarticlesummary", "share_count", day,
        "Shares of a mass-sent article on the day"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_share_users", ["msgid", "title"], "getarticlesummary", "share_user", day,
        "Distinct sharers of a mass-sent article on the day"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_favourites", ["msgid", "title"], "getarticlesummary", "add_to_fav_count", day,
        "Favourites of a mass-sent article on the day"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_daily_favourite_users", ["msgid", "title"], "getarticlesummary", "add_to_fav_user", day,
        "Distinct users adding a mass-sent article to favourites on the day"),
    // ---- legacy: per mass-sent article, running totals
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_read_users", ["msgid", "title", "source"], "getarticletotal", "details.int_page_read_user / int_page_from_{source}_read_user", sent,
        "Distinct page readers of a mass-sent article by read channel, source all = int_page_read_user"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_reads", ["msgid", "title", "source"], "getarticletotal", "details.int_page_read_count / int_page_from_{source}_read_count", sent,
        "Page views of a mass-sent article by read channel, source all = int_page_read_count"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_target_users", ["msgid", "title"], "getarticletotal", "details.target_user", sent,
        "Users the article was sent to"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_original_page_reads", ["msgid", "title"], "getarticletotal", "details.ori_page_read_count", sent,
        "Original-page views of a mass-sent article"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_original_page_read_users", ["msgid", "title"], "getarticletotal", "details.ori_page_read_user", sent,
        "Distinct original-page readers of a mass-sent article"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_shares", ["msgid", "title"], "getarticletotal", "details.share_count", sent,
        "Shares of a mass-sent article"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_share_users", ["msgid", "title"], "getarticletotal", "details.share_user", sent,
        "Distinct sharers of a mass-sent article"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_favourites", ["msgid", "title"], "getarticletotal", "details.add_to_fav_count", sent,
        "Favourites of a mass-sent article"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_favourite_users", ["msgid", "title"], "getarticletotal", "details.add_to_fav_user", sent,
        "Distinct users adding a mass-sent article to favourites"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_moments_shares", ["msgid", "title", "source"], "getarticletotal", "details.feed_share_from_{source}_cnt", sent,
        "Shares to Moments of a mass-sent article, by where the sharer read it"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_moments_share_users", ["msgid", "title", "source"], "getarticletotal", "details.feed_share_from_{source}_user", sent,
        "Distinct users sharing a mass-sent article to Moments, by where they read it"),
    g!("Articles (legacy endpoints)", "wechat_mp_massmsg_sent_timestamp_seconds", ["msgid", "title"], "getarticletotal", "ref_date", article,
        "Unix time of 00:00 UTC+8 of the day the article was mass-sent"),
    // ---- published content
    g!("Published content", "wechat_mp_article_read_users", ["source"], "getbizsummary", "detail.read_user / read_user_source", day,
        "Distinct readers of published content by read channel, source all = read_user"),
    g!("Published content", "wechat_mp_published_share_users", [], "getbizsummary", "detail.share_user", day,
        "Distinct sharers of published content"),
    g!("Published content", "wechat_mp_published_zaikan_users", [], "getbizsummary", "detail.zaikan_user", day,
        "Distinct users giving a heart (zaikan) to published content"),
    g!("Published content", "wechat_mp_published_like_users", [], "getbizsummary", "detail.like_user", day,
        "Distinct users liking published content"),
    g!("Published content", "wechat_mp_published_comments", [], "getbizsummary", "detail.comment_count", day,
        "Comments on published content"),
    g!("Published content", "wechat_mp_published_favourite_users", [], "getbizsummary", "detail.collection_user", day,
        "Distinct users adding published content to favourites"),
    g!("Published content", "wechat_mp_published_original_page_users", [], "getbizsummary", "detail.redirect_ori_page_user", day,
        "Distinct users going on to the original page"),
    g!("Published content", "wechat_mp_published_articles", [], "getbizsummary", "detail.send_page_count", day,
        "Articles published"),
    g!("Published content", "wechat_mp_published_article_read_users", ["msgid", "source"], "getarticleread", "detail.read_user / read_user_source", day,
        "Distinct readers of a published article on the day by read channel, source all = read_user"),
    g!("Published content", "wechat_mp_published_article_share_users", ["msgid"], "getarticleshare", "detail.share_user", day,
        "Distinct sharers of a published article on the day"),
    g!("Published content", "wechat_mp_article_cumulative_read_users", ["msgid", "title", "source"], "getarticletotaldetail", "detail_list.read_user / read_user_source", published,
        "Distinct readers of a published article by read channel, source all = read_user"),
    g!("Published content", "wechat_mp_article_cumulative_share_users", ["msgid", "title"], "getarticletotaldetail", "detail_list.share_user", published,
        "Distinct sharers of a published article"),
    g!("Published content", "wechat_mp_article_cumulative_zaikan_users", ["msgid", "title"], "getarticletotaldetail", "detail_list.zaikan_user", published,
        "Distinct users giving a heart (zaikan) to a published article"),
    g!("Published content", "wechat_mp_article_cumulative_like_users", ["msgid", "title"], "getarticletotaldetail", "detail_list.like_user", published,
        "Distinct users liking a published article"),
    g!("Published content", "wechat_mp_article_cumulative_comments", ["msgid", "title"], "getarticletotaldetail", "detail_list.comment_count", published,
        "Comments on a published article"),
    g!("Published content", "wechat_mp_article_cumulative_favourite_users", ["msgid", "title"], "getarticletotaldetail", "detail_list.collection_user", published,
        "Distinct users adding a published article to favourites"),
    g!("Published content", "wechat_mp_article_cumulative_tips_yuan", ["msgid", "title"], "getarticletotaldetail", "detail_list.praise_money / 100", published,
        "Tips received by a published article, in CNY"),
    g!("Published content", "wechat_mp_article_cumulative_follows_after_read", ["msgid", "title"], "getarticletotaldetail", "detail_list.read_subscribe_user", published,
        "Users who followed the account after reading a published article"),
    g!("Published content", "wechat_mp_article_read_delivery_ratio", ["msgid", "title"], "getarticletotaldetail", "detail_list.read_delivery_rate", published_rate,
        "Delivery read rate of a published article, 0-1"),
    g!("Published content", "wechat_mp_article_read_finish_ratio", ["msgid", "title"], "getarticletotaldetail", "detail_list.read_finish_rate", published_rate,
        "Share of readers who finished a published article, 0-1"),
    g!("Published content", "wechat_mp_article_read_avg_active_seconds", ["msgid", "title"], "getarticletotaldetail", "detail_list.read_avg_activetime * 60", published_rate,
        "Average active reading time of a published article, in seconds"),
    g!("Published content", "wechat_mp_article_read_exit_position_ratio", ["msgid", "title", "position"], "getarticletotaldetail", "detail_list.read_jump_position.rate", published_rate,
        "Share of readers who left at that part of a published article; position is in percent of its length"),
    g!("Published content", "wechat_mp_article_published_timestamp_seconds", ["msgid", "title", "publish_type"], "getarticletotaldetail", "ref_date / publish_type", article,
        "Unix time of 00:00 UTC+8 of the day the article was published"),
    // ---- messages
    g!("Messages", "wechat_mp_upstream_messages", ["msg_type"], "getupstreammsg", "msg_count", day,
        "Messages users sent to the account by message type"),
    g!("Messages", "wechat_mp_upstream_message_users", ["msg_type"], "getupstreammsg", "msg_user", day,
        "Distinct users sending messages to the account by message type"),
    g!("Messages", "wechat_mp_hourly_upstream_messages", ["msg_type", "hour"], "getupstreammsghour", "msg_count", day,
        "Messages users sent to the account per hour and message type"),
    g!("Messages", "wechat_mp_hourly_upstream_message_users", ["msg_type", "hour"], "getupstreammsghour", "msg_user", day,
        "Distinct users sending messages per hour and message type"),
    g!("Messages", "wechat_mp_weekly_upstream_messages", ["msg_type"], "getupstreammsgweek", "msg_count", week,
        "Messages users sent to the account in the week by message type"),
    g!("Messages", "wechat_mp_weekly_upstream_message_users", ["msg_type"], "getupstreammsgweek", "msg_user", week,
        "Distinct users sending messages in the week by message type"),
    g!("Messages", "wechat_mp_monthly_upstream_messages", ["msg_type"], "getupstreammsgmonth", "msg_count", month,
        "Messages users sent to the account in the month by message type"),
    g!("Messages", "wechat_mp_monthly_upstream_message_users", ["msg_type"], "getupstreammsgmonth", "msg_user", month,
        "Distinct users sending messages in the month by message type"),
    g!("Messages", "wechat_mp_upstream_message_distribution_users", ["count_interval"], "getupstreammsgdist", "msg_user", day,
        "Users by number of messages they sent on the day"),
    g!("Messages", "wechat_mp_weekly_upstream_message_distribution_users", ["count_interval"], "getupstreammsgdistweek", "msg_user", week,
        "Users by number of messages they sent in the week"),
    g!("Messages", "wechat_mp_monthly_upstream_message_distribution_users", ["count_interval"], "getupstreammsgdistmonth", "msg_user", month,
        "Users by number of messages they sent in the month"),
    // ---- callbacks
    g!("Callbacks", "wechat_mp_callback_requests", [], "getinterfacesummary", "callback_count", day,
        "Passive replies sent through the callback server"),
    g!("Callbacks", "wechat_mp_callback_failures", [], "getinterfacesummary", "fail_count", day,
        "Failed callback requests"),
    g!("Callbacks", "wechat_mp_callback_time_cost_seconds", [], "getinterfacesummary", "total_time_cost / 1000", day,
        "Total time spent in callback requests, in seconds"),
    g!("Callbacks", "wechat_mp_callback_max_time_cost_seconds", [], "getinterfacesummary", "max_time_cost / 1000", day,
        "Longest callback request, in seconds"),
    g!("Callbacks", "wechat_mp_hourly_callback_requests", ["hour"], "getinterfacesummaryhour", "callback_count", day,
        "Passive replies sent through the callback server per hour"),
    g!("Callbacks", "wechat_mp_hourly_callback_failures", ["hour"], "getinterfacesummaryhour", "fail_count", day,
        "Failed callback requests per hour"),
    g!("Callbacks", "wechat_mp_hourly_callback_time_cost_seconds", ["hour"], "getinterfacesummaryhour", "total_time_cost / 1000", day,
        "Total time spent in callback requests per hour, in seconds"),
    g!("Callbacks", "wechat_mp_hourly_callback_max_time_cost_seconds", ["hour"], "getinterfacesummaryhour", "max_time_cost / 1000", day,
        "Longest callback request per hour, in seconds"),
    // ---- the exporter itself
    own!(Gauge, "wechat_mp_up", ["account"], "AccountStatus.up",
        "1 when the account's last poll round had no error, else 0."),
    own!(Gauge, "wechat_mp_data_date_seconds", ["account", "api"], "DatedReport.date",
        "Unix time of 00:00 UTC+8 of the day the exposed values of this endpoint describe."),
    own!(Counter, "wechat_mp_api_requests_total", ["account", "api", "errcode"], "every datacube call",
        "Datacube API calls made, by endpoint and errcode (0 = ok)."),
    own!(Counter, "wechat_mp_token_fetches_total", ["account", "source", "errcode"], "every token fetch",
        "Access token fetches, by token source and errcode (0 = ok)."),
    own!(Gauge, "wechat_mp_api_unavailable", ["account", "api", "reason"], "AccountStatus.unavailable",
        "1 for each endpoint the scheduler has stopped calling, with the reason."),
    own!(Gauge, "wechat_mp_last_poll_duration_seconds", ["account"], "AccountStatus.last_poll_seconds",
        "Wall-clock seconds the account's last poll round took."),
    own!(Gauge, "wechat_mp_last_poll_timestamp_seconds", ["account"], "AccountStatus.last_poll_end",
        "Unix time the account's last poll round ended."),
    own!(Gauge, "wechat_mp_article_series_dropped", ["account", "api"], "max_articles_per_account",
        "Articles left out of this endpoint's per-article series by max_articles_per_account."),
    own!(Gauge, "wechat_mp_exporter_build_info", ["version", "revision"], "build",
        "Always 1; the exporter's version and source revision as labels."),
    own!(Gauge, "wechat_mp_exporter_config_last_reload_successful", [], "config reload",
        "1 when the last config load (start, SIGHUP or POST /-/reload) succeeded; 0 while a bad file is ignored."),
    own!(Gauge, "wechat_mp_exporter_config_last_reload_success_timestamp_seconds", [], "config reload",
        "Unix time of the last successful config load."),
    own!(Counter, "wechat_mp_exporter_otlp_exports_total", ["result"], "every OTLP push",
        "OTLP metric pushes by result (success, failure); present only while OTLP push is on."),
];

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
    out.push_str(LABELS_DOC);
    out
}

const LABELS_DOC: &str = "
## Label values

Unknown codes pass through as `code_N` and are never dropped; a missing code is `unknown`.

- `source` (followers, getusersummary.user_source): 0 other, 1 account_search, 17 name_card, 30 qr_code,
  35 number_search, 39 account_query, 43 article_menu, 51 after_payment, 57 article_account_name, 100 ads,
  149 mini_program, 161 repost, 176 album, 200 channels, 201 live.
- `source` (reads, getuserread/getuserreadhour.user_source): 99999999 all, 0 session, 1 friends, 2 moments,
  3 tencent_weibo, 4 history, 5 other, 6 top_stories, 7 search; rows without user_source (before
  2020-02-28) are `all`.
- `source` (published content, read_user_source.scene_desc): 全部 all, 公众号消息 session, 聊天会话 chats,
  朋友圈 moments, 公众号主页 home_page, 其他 other, 推荐 recommendation, 搜一搜 search; an unknown
  description becomes `scene_` + the lowercase hex of its UTF-8 bytes.
- `source` (getarticletotal): all, session, history, moments (feed), friends, other, top_stories (kanyikan),
  search (souyisou); for Moments shares: session, moments, other.
- `scene` (share_scene): 1 friends, 2 moments, 3 tencent_weibo, 255 other.
- `msg_type`: 1 text, 2 image, 3 voice, 4 video, 6 app_link.
- `count_interval`: 0 `0`, 1 `1_5`, 2 `6_10`, 3 `over_10` messages.
- `hour`: `0`..`23` (ref_hour / 100).
- `position`: 1 `0_20`, 2 `20_40`, 3 `40_60`, 4 `60_80`, 5 `80_100` (percent of the article).
- `publish_type`: 0 notified, 1 not_notified.
";

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
