//! The 21 Official Account datacube endpoints and the rules each one carries (path, span, family).

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, date};

/// Which report group an endpoint belongs to (the config's `reports` list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportGroup {
    Users,
    Articles,
    Messages,
    Callbacks,
}

impl ReportGroup {
    pub const ALL: [ReportGroup; 4] =
        [Self::Users, Self::Articles, Self::Messages, Self::Callbacks];

    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Articles => "articles",
            Self::Messages => "messages",
            Self::Callbacks => "callbacks",
        }
    }
}

impl FromStr for ReportGroup {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.name() == s)
            .ok_or_else(|| format!("unknown report group {s:?}: expected one of users, articles, messages, callbacks"))
    }
}

/// How often an endpoint's rows are dated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// One row set per China day.
    Day,
    /// One row set per ISO week, labelled with its Monday; fetchable once the week has ended.
    Week,
    /// One row set per month, labelled with its 1st; fetchable once the month has ended.
    Month,
}

/// A datacube endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    UserSummary,
    UserCumulate,
    ArticleSummary,
    ArticleTotal,
    UserRead,
    UserReadHour,
    UserShare,
    UserShareHour,
    UpstreamMsg,
    UpstreamMsgHour,
    UpstreamMsgWeek,
    UpstreamMsgMonth,
    UpstreamMsgDist,
    UpstreamMsgDistWeek,
    UpstreamMsgDistMonth,
    InterfaceSummary,
    InterfaceSummaryHour,
    ArticleRead,
    ArticleShare,
    BizSummary,
    ArticleTotalDetail,
}

impl Endpoint {
    pub const ALL: [Endpoint; 21] = [
        Self::UserSummary,
        Self::UserCumulate,
        Self::ArticleSummary,
        Self::ArticleTotal,
        Self::UserRead,
        Self::UserReadHour,
        Self::UserShare,
        Self::UserShareHour,
        Self::UpstreamMsg,
        Self::UpstreamMsgHour,
        Self::UpstreamMsgWeek,
        Self::UpstreamMsgMonth,
        Self::UpstreamMsgDist,
        Self::UpstreamMsgDistWeek,
        Self::UpstreamMsgDistMonth,
        Self::InterfaceSummary,
        Self::InterfaceSummaryHour,
        Self::ArticleRead,
        Self::ArticleShare,
        Self::BizSummary,
        Self::ArticleTotalDetail,
    ];

    /// The endpoint's name as WeChat spells it (also the `api` label value).
    pub fn name(self) -> &'static str {
        match self {
            Self::UserSummary => "getusersummary",
            Self::UserCumulate => "getusercumulate",
            Self::ArticleSummary => "getarticlesummary",
            Self::ArticleTotal => "getarticletotal",
            Self::UserRead => "getuserread",
            Self::UserReadHour => "getuserreadhour",
            Self::UserShare => "getusershare",
            Self::UserShareHour => "getusersharehour",
            Self::UpstreamMsg => "getupstreammsg",
            Self::UpstreamMsgHour => "getupstreammsghour",
            Self::UpstreamMsgWeek => "getupstreammsgweek",
            Self::UpstreamMsgMonth => "getupstreammsgmonth",
            Self::UpstreamMsgDist => "getupstreammsgdist",
            Self::UpstreamMsgDistWeek => "getupstreammsgdistweek",
            Self::UpstreamMsgDistMonth => "getupstreammsgdistmonth",
            Self::InterfaceSummary => "getinterfacesummary",
            Self::InterfaceSummaryHour => "getinterfacesummaryhour",
            Self::ArticleRead => "getarticleread",
            Self::ArticleShare => "getarticleshare",
            Self::BizSummary => "getbizsummary",
            Self::ArticleTotalDetail => "getarticletotaldetail",
        }
    }

    /// The request path, under the API base URL.
    pub fn path(self) -> String {
        format!("/datacube/{}", self.name())
    }

    /// Largest inclusive span of one request, in days. Where the old and current docs disagree this
    /// is the smaller value (wechat-api.md §1.1), so it is valid under both readings.
    pub fn max_span_days(self) -> u32 {
        match self {
            Self::UserSummary | Self::UserCumulate | Self::UserShare | Self::UpstreamMsg => 7,
            Self::UserRead => 3,
            Self::UpstreamMsgDist | Self::UpstreamMsgDistWeek | Self::UpstreamMsgDistMonth => 15,
            Self::InterfaceSummary | Self::BizSummary => 30,
            // Week/month: send begin == end == the period's label date (valid under both readings).
            Self::UpstreamMsgWeek | Self::UpstreamMsgMonth => 1,
            Self::ArticleSummary
            | Self::ArticleTotal
            | Self::UserReadHour
            | Self::UserShareHour
            | Self::UpstreamMsgHour
            | Self::InterfaceSummaryHour
            | Self::ArticleRead
            | Self::ArticleShare
            | Self::ArticleTotalDetail => 1,
        }
    }

    pub fn group(self) -> ReportGroup {
        match self {
            Self::UserSummary | Self::UserCumulate => ReportGroup::Users,
            Self::UpstreamMsg
            | Self::UpstreamMsgHour
            | Self::UpstreamMsgWeek
            | Self::UpstreamMsgMonth
            | Self::UpstreamMsgDist
            | Self::UpstreamMsgDistWeek
            | Self::UpstreamMsgDistMonth => ReportGroup::Messages,
            Self::InterfaceSummary | Self::InterfaceSummaryHour => ReportGroup::Callbacks,
            _ => ReportGroup::Articles,
        }
    }

    pub fn period(self) -> Period {
        match self {
            Self::UpstreamMsgWeek | Self::UpstreamMsgDistWeek => Period::Week,
            Self::UpstreamMsgMonth | Self::UpstreamMsgDistMonth => Period::Month,
            _ => Period::Day,
        }
    }

    /// The six old article endpoints that WeChat no longer maintains (may answer 47009).
    pub fn is_legacy_article(self) -> bool {
        matches!(
            self,
            Self::ArticleSummary
                | Self::ArticleTotal
                | Self::UserRead
                | Self::UserReadHour
                | Self::UserShare
                | Self::UserShareHour
        )
    }

    /// The four published-content endpoints, whose bodies carry `is_delay`.
    pub fn is_published_content(self) -> bool {
        matches!(
            self,
            Self::ArticleRead | Self::ArticleShare | Self::BizSummary | Self::ArticleTotalDetail
        )
    }

    /// For endpoints whose rows keep changing after their date (running totals per article), the
    /// number of days, counting the date itself, during which they change: the query date is the
    /// send/publish date, and it is re-polled for this many days.
    pub fn rolling_window_days(self) -> Option<u32> {
        match self {
            Self::ArticleTotal => Some(7),
            Self::ArticleTotalDetail => Some(30),
            _ => None,
        }
    }

    /// The first day WeChat keeps data for.
    pub fn earliest_date(self) -> Date {
        if self.is_published_content() {
            date(2025, 11, 1)
        } else {
            date(2014, 12, 1)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Endpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| format!("unknown datacube endpoint {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<_> = Endpoint::ALL.iter().map(|e| e.name()).collect();
        for e in Endpoint::ALL {
            assert_eq!(e.name().parse::<Endpoint>().unwrap(), e);
            assert!(
                e.path().starts_with("/datacube/get"),
                "{e} is not under /datacube/"
            );
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 21);
    }

    #[test]
    fn spans_take_the_smaller_documented_value() {
        assert_eq!(Endpoint::UpstreamMsgDistWeek.max_span_days(), 15);
        assert_eq!(Endpoint::UpstreamMsgDistMonth.max_span_days(), 15);
        assert_eq!(Endpoint::UserRead.max_span_days(), 3);
        assert_eq!(Endpoint::UserSummary.max_span_days(), 7);
        assert_eq!(Endpoint::BizSummary.max_span_days(), 30);
        assert_eq!(Endpoint::ArticleTotalDetail.max_span_days(), 1);
        assert_eq!(
            Endpoint::ALL
                .iter()
                .filter(|e| e.is_legacy_article())
                .count(),
            6
        );
        assert_eq!(
            Endpoint::ALL
                .iter()
                .filter(|e| e.is_published_content())
                .count(),
            4
        );
    }
}
