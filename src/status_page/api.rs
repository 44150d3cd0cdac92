//! `/api/v1/status`: the status page's facts as JSON for tools (same rows, same order).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use super::{Row, State, StatusBoard};

#[derive(Debug, Serialize)]
pub struct StatusJson {
    pub version: &'static str,
    pub revision: &'static str,
    pub started: Option<Timestamp>,
    pub uptime_seconds: Option<i64>,
    pub last_reload: Option<Reload>,
    /// Accounts per state (`down`, `stuck`, `not_polled`, `waiting`, `up`).
    pub summary: BTreeMap<State, usize>,
    /// Problems first, as on the page.
    pub accounts: Vec<AccountJson>,
}

#[derive(Debug, Serialize)]
pub struct Reload {
    pub at: Timestamp,
    pub success: bool,
}

#[derive(Debug, Serialize)]
pub struct AccountJson {
    pub name: String,
    pub state: State,
    pub latest_day: Option<Date>,
    pub last_successful_poll: Option<Timestamp>,
    pub next_poll: Option<Timestamp>,
    pub next_poll_reason: Option<String>,
    pub waiting_for: Option<Date>,
    pub followers: Option<u64>,
    pub callback_probe: Option<ProbeJson>,
    pub lowest_quota: Option<QuotaJson>,
    pub stuck: Option<String>,
    /// Per report (API name): the data date, why it is stopped, its last error.
    pub reports: BTreeMap<&'static str, ReportJson>,
}

#[derive(Debug, Serialize)]
pub struct ProbeJson {
    pub at: Timestamp,
    pub success: bool,
    pub reason: Option<&'static str>,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct QuotaJson {
    pub api: &'static str,
    pub remain: u64,
    pub daily_limit: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct ReportJson {
    pub data_date: Option<Date>,
    pub stopped: Option<String>,
    pub last_error: Option<String>,
}

impl StatusJson {
    pub fn new(board: &StatusBoard, now: Timestamp) -> Self {
        let process = board.process();
        let rows = board.rows();
        let mut summary: BTreeMap<State, usize> = State::ALL.iter().map(|&s| (s, 0)).collect();
        for row in &rows {
            *summary.entry(row.state).or_default() += 1;
        }
        Self {
            version: crate::version::VERSION,
            revision: crate::version::REVISION,
            started: process.started,
            uptime_seconds: process.started.map(|s| now.duration_since(s).as_secs()),
            last_reload: process
                .last_reload
                .map(|(at, success)| Reload { at, success }),
            summary,
            accounts: rows.into_iter().map(AccountJson::from).collect(),
        }
    }
}

impl From<Row> for AccountJson {
    fn from(row: Row) -> Self {
        let v = row.view;
        let mut reports: BTreeMap<&'static str, ReportJson> = BTreeMap::new();
        for (e, d) in &v.data_dates {
            reports.entry(e.name()).or_default().data_date = Some(*d);
        }
        for (e, why) in &v.unavailable {
            reports.entry(e.name()).or_default().stopped = Some(why.clone());
        }
        for (e, error) in &v.last_errors {
            reports.entry(e.name()).or_default().last_error = Some(error.clone());
        }
        Self {
            latest_day: v.latest_day(),
            state: row.state,
            last_successful_poll: v.last_success,
            next_poll: v.next_poll.as_ref().map(|(t, _)| *t),
            next_poll_reason: v.next_poll.map(|(_, why)| why),
            waiting_for: v.waiting_for,
            followers: v.followers,
            callback_probe: row.probe.map(|p| ProbeJson {
                at: p.at,
                success: p.failure.is_none(),
                reason: p.failure,
                seconds: p.seconds,
            }),
            lowest_quota: v.lowest_quota.map(|(e, q)| QuotaJson {
                api: e.name(),
                remain: q.remain,
                daily_limit: q.daily_limit,
            }),
            stuck: row.stuck.map(|s| s.describe()),
            reports,
            name: v.name,
        }
    }
}
