//! The callback server's day: getinterfacesummary and getinterfacesummaryhour (ms -> seconds).

use super::{Out, labels, latest_day, ms_to_seconds};
use crate::reports::AccountReports;
use crate::wechat::{Endpoint, Report};

pub fn map(out: &mut Out, reports: &AccountReports) {
    if let Some(Report::InterfaceSummary(rows)) = reports
        .reports
        .get(&Endpoint::InterfaceSummary)
        .map(|d| &d.report)
    {
        for row in latest_day(rows, |r| r.ref_date) {
            out.put("wechat_mp_callback_requests", &[], row.callback_count);
            out.put("wechat_mp_callback_failures", &[], row.fail_count);
            out.put(
                "wechat_mp_callback_time_cost_seconds",
                &[],
                ms_to_seconds(row.total_time_cost),
            );
            out.put(
                "wechat_mp_callback_max_time_cost_seconds",
                &[],
                ms_to_seconds(row.max_time_cost),
            );
        }
    }
    if let Some(Report::InterfaceSummaryHour(rows)) = reports
        .reports
        .get(&Endpoint::InterfaceSummaryHour)
        .map(|d| &d.report)
    {
        for row in latest_day(rows, |r| r.ref_date) {
            let hour = labels::hour(row.ref_hour);
            let l = [("hour", hour.as_str())];
            out.put("wechat_mp_hourly_callback_requests", &l, row.callback_count);
            out.put("wechat_mp_hourly_callback_failures", &l, row.fail_count);
            out.put(
                "wechat_mp_hourly_callback_time_cost_seconds",
                &l,
                ms_to_seconds(row.total_time_cost),
            );
            out.put(
                "wechat_mp_hourly_callback_max_time_cost_seconds",
                &l,
                ms_to_seconds(row.max_time_cost),
            );
        }
    }
}
