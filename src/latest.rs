//! What the exporter has learned about one account: the latest complete day of every report.
//!
//! The scheduler fills an `AccountReports`; the metric mapping reads it. Neither knows the other.

use std::collections::BTreeMap;

use jiff::civil::Date;

use crate::wechat::client::ApiQuota;
use crate::wechat::{Endpoint, Report};

/// One endpoint's latest rows and the day they describe.
#[derive(Debug, Clone, PartialEq)]
pub struct DatedReport {
    /// The China day the values describe. For week/month endpoints the period's label date
    /// (Monday / the 1st); for the per-article windows (getarticletotal, getarticletotaldetail)
    /// the latest `stat_date` fetched.
    pub date: Date,
    /// For the per-article windows: the rows of every send/publish date still inside the window,
    /// merged; each row's `details`/`detail_list` holds what was fetched for it.
    pub report: Report,
}

/// The latest complete data of one account, by endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountReports {
    /// The newest report fetched for each endpoint.
    pub reports: BTreeMap<Endpoint, DatedReport>,
}

/// The account's health as the scheduler last saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountStatus {
    /// The last poll round finished without error.
    pub up: bool,
    /// Wall-clock seconds the last poll round took.
    pub last_poll_seconds: Option<f64>,
    /// Unix seconds when the last poll round ended.
    pub last_poll_end: Option<i64>,
    /// Endpoints the scheduler has stopped calling, and why (quota until the next day, offline, ...).
    pub unavailable: BTreeMap<Endpoint, String>,
    /// The last error per endpoint, in words a user can act on (never a token or secret).
    pub last_errors: BTreeMap<Endpoint, String>,
    /// The daily quota of each endpoint as getApiQuota last reported it (read once per UTC+8
    /// day and after a 45009).
    pub quota: BTreeMap<Endpoint, ApiQuota>,
}
