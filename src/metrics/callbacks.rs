//! The callback server's day: getinterfacesummary and getinterfacesummaryhour (ms -> seconds).

use super::catalogue as m;
use super::{Out, labels, latest_day, ms_to_seconds};
use crate::latest::AccountReports;
use crate::wechat::Report;

pub fn map(out: &mut Out, reports: &AccountReports) {
    for dated in reports.reports.values() {
        match &dated.report {
            Report::InterfaceSummary(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    out.put(&m::CALLBACK_REQUESTS, &[], row.callback_count);
                    out.put(&m::CALLBACK_FAILURES, &[], row.fail_count);
                    let total = ms_to_seconds(row.total_time_cost);
                    out.put(&m::CALLBACK_TIME_COST_SECONDS, &[], total);
                    let max = ms_to_seconds(row.max_time_cost);
                    out.put(&m::CALLBACK_MAX_TIME_COST_SECONDS, &[], max);
                }
            }
            Report::InterfaceSummaryHour(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let hour = labels::hour(row.ref_hour);
                    let l = [("hour", hour.as_str())];
                    out.put(&m::HOURLY_CALLBACK_REQUESTS, &l, row.callback_count);
                    out.put(&m::HOURLY_CALLBACK_FAILURES, &l, row.fail_count);
                    let total = ms_to_seconds(row.total_time_cost);
                    out.put(&m::HOURLY_CALLBACK_TIME_COST_SECONDS, &l, total);
                    let max = ms_to_seconds(row.max_time_cost);
                    out.put(&m::HOURLY_CALLBACK_MAX_TIME_COST_SECONDS, &l, max);
                }
            }
            _ => {}
        }
    }
}
