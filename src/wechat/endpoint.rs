//! The 21 Official Account datacube endpoints as one table, and everything generated from it: the
//! `Endpoint` enum with its properties (path, span, group, period, first day, kind) and the typed
//! `Report` with its parsing, merging and splitting by day.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, date};

use super::rows::*;

/// Which report group an endpoint belongs to (the config's `reports` list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportGroup {
    /// Followers.
    Users,
    /// Articles and published content.
    Articles,
    /// Messages users sent.
    Messages,
    /// The callback server.
    Callbacks,
}

impl ReportGroup {
    /// Every group.
    pub const ALL: [ReportGroup; 4] =
        [Self::Users, Self::Articles, Self::Messages, Self::Callbacks];

    /// The group's name in the config's `reports` list.
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

pub use super::date::Period;

/// Which of WeChat's API generations an endpoint belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// The 11 user, message and callback endpoints: maintained, data from 2014-12-01.
    Current,
    /// The six old article endpoints WeChat no longer maintains (may answer 47009).
    Legacy,
    /// The four published-content endpoints, whose bodies carry `is_delay` (data from 2025-11-01).
    Published,
}

/// Everything the exporter knows about one endpoint: one row of the table below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Props {
    /// The endpoint's name as WeChat spells it (also the `api` label value).
    pub name: &'static str,
    /// The config's report group.
    pub group: ReportGroup,
    /// How the rows are dated.
    pub period: Period,
    /// Largest inclusive span of one request, in days.
    pub span: u32,
    /// The first day WeChat keeps data for.
    pub first: Date,
    /// Legacy, published content, or neither.
    pub kind: Generation,
    /// For rows that keep changing after their date (running totals per article): the days,
    /// counting the date itself, during which they change and are re-polled.
    pub window: Option<u32>,
}

/// The one list of endpoints (docs/datacube-api.md, "Endpoints"). Each row names the variant, the
/// properties and the row type; from it come `Endpoint`, `Endpoint::ALL`, the properties,
/// `Report` and its parsing, serialising, merging and splitting by day. Adding an endpoint is one
/// row here plus its row struct in `report.rs` (CONTRIBUTING.md, "Add an endpoint").
macro_rules! endpoints {
    ($(
        $(#[$doc:meta])*
        $v:ident = $name:literal, $group:ident, $period:ident, span $span:literal,
            from ($y:literal, $m:literal, $d:literal), $kind:ident, window $window:expr, $row:ty;
    )+) => {
        /// A datacube endpoint.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Endpoint {
            $(#[doc = concat!("`", $name, "`.")] $(#[$doc])* $v,)+
        }

        const PROPS: &[Props] = &[$(Props {
            name: $name,
            group: ReportGroup::$group,
            period: Period::$period,
            span: $span,
            first: date($y, $m, $d),
            kind: Generation::$kind,
            window: $window,
        },)+];

        impl Endpoint {
            /// Every endpoint, in table order.
            pub const ALL: [Endpoint; PROPS.len()] = [$(Self::$v,)+];
        }

        /// The parsed body of any datacube endpoint: its rows, typed.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Report {
            $(#[doc = concat!("The rows of `", $name, "`.")] $(#[$doc])* $v(Vec<$row>),)+
        }

        impl Report {
            /// Parses a success body (`{"list":[...]}`) of `endpoint`. Error bodies are not
            /// handled here.
            pub fn parse(endpoint: Endpoint, json: &[u8]) -> Result<Parsed, serde_json::Error> {
                Ok(match endpoint {
                    $(Endpoint::$v => {
                        let mut body: ListBody<$row> = serde_json::from_slice(json)?;
                        body.list.shrink_to_fit();
                        Parsed { report: Report::$v(body.list), is_delay: body.is_delay }
                    })+
                })
            }

            /// The report of `endpoint` with the rows `source` makes for the endpoint's row type
            /// (the simulator's answers): the one dispatch from endpoint to row type.
            pub fn build<S>(endpoint: Endpoint, source: &S) -> Report
            where
                $(S: RowSource<$row>,)+
            {
                match endpoint {
                    $(Endpoint::$v => Report::$v(<S as RowSource<$row>>::rows(source, endpoint)),)+
                }
            }

            /// The endpoint this report came from.
            pub fn endpoint(&self) -> Endpoint {
                match self {
                    $(Report::$v(_) => Endpoint::$v,)+
                }
            }

            /// Serialises the report as WeChat's success body (used by the simulator and tests).
            pub fn to_body(&self, is_delay: Option<bool>) -> serde_json::Value {
                match self {
                    $(Report::$v(rows) => body(rows, is_delay),)+
                }
            }

            /// [`Report::to_body`] written straight to JSON bytes (the simulator's answers: no
            /// `Value` tree in between).
            pub fn to_body_bytes(&self, is_delay: Option<bool>) -> Vec<u8> {
                match self {
                    $(Report::$v(rows) => body_bytes(rows, is_delay),)+
                }
            }

            /// Gives back the rows' spare capacity (parsing and merging grow the list by
            /// doubling): a plan keeps its reports until the next day's, thousands of accounts
            /// at a time.
            pub fn shrink_to_fit(&mut self) {
                match self {
                    $(Report::$v(rows) => rows.shrink_to_fit(),)+
                }
            }

            /// Number of rows.
            pub fn len(&self) -> usize {
                match self {
                    $(Report::$v(rows) => rows.len(),)+
                }
            }

            /// Appends `other`'s rows after this report's (merging the parts of a split range,
            /// fetched in date order). A report of another endpoint is handed back untouched.
            pub fn extend(&mut self, other: Report) -> Result<(), Report> {
                match (self, other) {
                    $((Report::$v(rows), Report::$v(more)) => {
                        rows.extend(more);
                        Ok(())
                    })+
                    (_, other) => Err(other),
                }
            }

            /// The report split into the China days it describes (see `Row::days`), and the
            /// number of rows dropped for having no date.
            pub fn split_by_day(self) -> (BTreeMap<Date, Report>, usize) {
                match self {
                    $(Report::$v(rows) => {
                        let (days, undated) = by_day(rows);
                        (days.into_iter().map(|(d, rows)| (d, Report::$v(rows))).collect(), undated)
                    })+
                }
            }
        }
    };
}

endpoints! {
    //  variant          = name,                       group,     period, span,    first day,          kind,      re-poll window, row type;
    UserSummary          = "getusersummary",           Users,     Day,   span 7,  from (2014, 12, 1), Current,   window None,     UserSummaryRow;
    UserCumulate         = "getusercumulate",          Users,     Day,   span 7,  from (2014, 12, 1), Current,   window None,     UserCumulateRow;
    ArticleSummary       = "getarticlesummary",        Articles,  Day,   span 1,  from (2014, 12, 1), Legacy,    window None,     ArticleSummaryRow;
    /// Queried by mass-send date; each row's running totals change for 7 days.
    ArticleTotal         = "getarticletotal",          Articles,  Day,   span 1,  from (2014, 12, 1), Legacy,    window Some(7),  ArticleTotalRow;
    UserRead             = "getuserread",              Articles,  Day,   span 3,  from (2014, 12, 1), Legacy,    window None,     UserReadRow;
    UserReadHour         = "getuserreadhour",          Articles,  Day,   span 1,  from (2014, 12, 1), Legacy,    window None,     UserReadHourRow;
    UserShare            = "getusershare",             Articles,  Day,   span 7,  from (2014, 12, 1), Legacy,    window None,     UserShareRow;
    UserShareHour        = "getusersharehour",         Articles,  Day,   span 1,  from (2014, 12, 1), Legacy,    window None,     UserShareHourRow;
    UpstreamMsg          = "getupstreammsg",           Messages,  Day,   span 7,  from (2014, 12, 1), Current,   window None,     UpstreamMsgRow;
    UpstreamMsgHour      = "getupstreammsghour",       Messages,  Day,   span 1,  from (2014, 12, 1), Current,   window None,     UpstreamMsgHourRow;
    /// Week and month: begin == end == the period's label date, valid under both documented spans.
    UpstreamMsgWeek      = "getupstreammsgweek",       Messages,  Week,  span 1,  from (2014, 12, 1), Current,   window None,     UpstreamMsgRow;
    UpstreamMsgMonth     = "getupstreammsgmonth",      Messages,  Month, span 1,  from (2014, 12, 1), Current,   window None,     UpstreamMsgRow;
    UpstreamMsgDist      = "getupstreammsgdist",       Messages,  Day,   span 15, from (2014, 12, 1), Current,   window None,     UpstreamMsgDistRow;
    UpstreamMsgDistWeek  = "getupstreammsgdistweek",   Messages,  Week,  span 15, from (2014, 12, 1), Current,   window None,     UpstreamMsgDistRow;
    UpstreamMsgDistMonth = "getupstreammsgdistmonth",  Messages,  Month, span 15, from (2014, 12, 1), Current,   window None,     UpstreamMsgDistRow;
    InterfaceSummary     = "getinterfacesummary",      Callbacks, Day,   span 30, from (2014, 12, 1), Current,   window None,     InterfaceSummaryRow;
    InterfaceSummaryHour = "getinterfacesummaryhour",  Callbacks, Day,   span 1,  from (2014, 12, 1), Current,   window None,     InterfaceSummaryHourRow;
    ArticleRead          = "getarticleread",           Articles,  Day,   span 1,  from (2025, 11, 1), Published, window None,     ArticleReadRow;
    ArticleShare         = "getarticleshare",          Articles,  Day,   span 1,  from (2025, 11, 1), Published, window None,     ArticleShareRow;
    BizSummary           = "getbizsummary",            Articles,  Day,   span 30, from (2025, 11, 1), Published, window None,     BizSummaryRow;
    /// Queried by publish date; each row's running totals change for 30 days.
    ArticleTotalDetail   = "getarticletotaldetail",    Articles,  Day,   span 1,  from (2025, 11, 1), Published, window Some(30), ArticleTotalDetailRow;
}

/// Something that makes rows of type `R` for the endpoints whose rows are `R`; `Report::build`
/// picks the row type from the endpoint table.
pub trait RowSource<R> {
    /// The rows of `endpoint` (one of those whose row type is `R`).
    fn rows(&self, endpoint: Endpoint) -> Vec<R>;
}

/// WeChat's success body: the rows under `list`, and `is_delay` when WeChat says it.
#[derive(serde::Serialize)]
struct Body<'a, R> {
    list: &'a [R],
    #[serde(skip_serializing_if = "Option::is_none")]
    is_delay: Option<bool>,
}

fn body<R: Row>(rows: &[R], is_delay: Option<bool>) -> serde_json::Value {
    serde_json::to_value(Body {
        list: rows,
        is_delay,
    })
    .expect("report rows always serialise")
}

fn body_bytes<R: Row>(rows: &[R], is_delay: Option<bool>) -> Vec<u8> {
    serde_json::to_vec(&Body {
        list: rows,
        is_delay,
    })
    .expect("report rows always serialise")
}

fn by_day<R: Row>(rows: Vec<R>) -> (BTreeMap<Date, Vec<R>>, usize) {
    let mut days: BTreeMap<Date, Vec<R>> = BTreeMap::new();
    let mut undated = 0;
    for row in rows {
        for (day, row) in row.days() {
            match day {
                Some(d) => days.entry(d).or_default().push(row),
                None => undated += 1,
            }
        }
    }
    (days, undated)
}

impl Endpoint {
    /// This endpoint's row of the table.
    pub fn props(self) -> &'static Props {
        &PROPS[self as usize]
    }

    /// The endpoint's name as WeChat spells it (also the `api` label value).
    pub fn name(self) -> &'static str {
        self.props().name
    }

    /// The request path, under the API base URL.
    pub fn path(self) -> String {
        format!("/datacube/{}", self.name())
    }

    /// Largest inclusive span of one request, in days. Where the old and current docs disagree this
    /// is the smaller value (docs/datacube-api.md, "Endpoints"), so it is valid under both readings.
    pub fn max_span_days(self) -> u32 {
        self.props().span
    }

    /// The config's report group.
    pub fn group(self) -> ReportGroup {
        self.props().group
    }

    /// How the rows are dated.
    pub fn period(self) -> Period {
        self.props().period
    }

    /// The six old article endpoints that WeChat no longer maintains (may answer 47009).
    pub fn is_legacy_article(self) -> bool {
        self.props().kind == Generation::Legacy
    }

    /// The four published-content endpoints, whose bodies carry `is_delay`.
    pub fn is_published_content(self) -> bool {
        self.props().kind == Generation::Published
    }

    /// For endpoints whose rows keep changing after their date (running totals per article), the
    /// number of days, counting the date itself, during which they change: the query date is the
    /// send/publish date, and it is re-polled for this many days.
    pub fn rolling_window_days(self) -> Option<u32> {
        self.props().window
    }

    /// The first day WeChat keeps data for.
    pub fn earliest_date(self) -> Date {
        self.props().first
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

/// A parsed body with its `is_delay` flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The rows.
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
