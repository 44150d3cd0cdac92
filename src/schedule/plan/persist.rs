//! The plan to and from the state file's [`PlanState`]: what was fetched, what is stopped and the
//! last rows, so a restarted exporter neither forgets its data nor asks for a final day again.

use jiff::Timestamp;

use super::{AccountPlan, EndpointState, WindowEntry};
use crate::latest::DatedReport;
use crate::storage::{Body, EndpointRecord, PlanState, StoredReport, WindowRecord};
use crate::wechat::{Endpoint, Report};

impl AccountPlan {
    /// What this plan must remember across a restart. Retry backoffs are left out on purpose: a
    /// restart (often after fixing a config) asks again at once; only WeChat's own daily quota
    /// stop (45009) is kept, since asking again before midnight only earns another 45009.
    pub fn export(&self) -> PlanState {
        let mut out = PlanState::default();
        for (&e, s) in &self.states {
            let record = EndpointRecord {
                done: s.done,
                retired: s.retired.map(str::to_string),
                quota_until: self.quota_blocked.get(&e).copied(),
                latest: s.latest.as_ref().map(|l| StoredReport {
                    date: l.date,
                    body: body_of(&l.report),
                }),
            };
            out.endpoints.insert(e.name().to_string(), record);
        }
        for (&e, window) in &self.windows {
            let records = window
                .iter()
                .map(|(&query, w)| {
                    let record = WindowRecord {
                        as_of: w.as_of,
                        body: body_of(&w.report),
                    };
                    (query, record)
                })
                .collect();
            out.windows.insert(e.name().to_string(), records);
        }
        for (&e, error) in &self.errors {
            out.errors.insert(e.name().to_string(), error.clone());
        }
        out
    }

    /// Takes back what [`export`](Self::export) saved, at `now`. Endpoints this plan does not
    /// poll (the account's `reports` changed) and rows that no longer parse are skipped.
    pub fn restore(&mut self, saved: &PlanState, now: Timestamp) {
        for (name, record) in &saved.endpoints {
            let Some(e) = self.known(name) else { continue };
            let mut state = EndpointState {
                done: record.done,
                retired: record.retired.as_deref().and_then(retired_reason),
                ..EndpointState::default()
            };
            if let Some(latest) = &record.latest
                && let Some(report) = reparse(e, &latest.body)
            {
                state.latest = Some(DatedReport {
                    date: latest.date,
                    report,
                });
            }
            if let Some(until) = record.quota_until.filter(|&t| t > now) {
                self.quota_blocked.insert(e, until);
                state.not_before = Some(until);
            }
            self.states.insert(e, state);
        }
        for (name, records) in &saved.windows {
            let Some(e) = self.known(name) else { continue };
            let window = self.windows.entry(e).or_default();
            for (&query, record) in records {
                if let Some(report) = reparse(e, &record.body) {
                    window.insert(query, WindowEntry::new(report, record.as_of));
                }
            }
        }
        for (name, error) in &saved.errors {
            if let Some(e) = self.known(name) {
                self.errors.insert(e, error.clone());
            }
        }
    }

    fn known(&self, name: &str) -> Option<Endpoint> {
        let e: Endpoint = name.parse().ok()?;
        self.endpoints.contains(&e).then_some(e)
    }
}

/// The reasons `retire` gives, as the `&'static str` the plan keeps.
fn retired_reason(reason: &str) -> Option<&'static str> {
    ["offline", "unauthorized"]
        .into_iter()
        .find(|&r| r == reason)
}

/// The rows as WeChat's success body.
fn body_of(report: &Report) -> Body {
    Body::from_json(report.to_body_bytes(None)).expect("a report writes valid JSON")
}

/// Saved rows go through the parser of live answers: a file edited by hand cannot smuggle in
/// anything a WeChat answer could not.
fn reparse(e: Endpoint, body: &Body) -> Option<Report> {
    match Report::parse(e, body.json().as_bytes()) {
        Ok(parsed) => Some(parsed.report),
        Err(err) => {
            tracing::warn!(api = e.name(), error = %err, "saved rows do not parse; fetching them again");
            None
        }
    }
}
