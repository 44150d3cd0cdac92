//! Messages users sent to the account: getupstreammsg{,hour,week,month} and the distributions.

use super::catalogue as m;
use super::{MetricInfo, Out, labels, latest_day};
use crate::latest::AccountReports;
use crate::wechat::Report;
use crate::wechat::rows::{UpstreamMsgDistRow, UpstreamMsgRow};

/// Message counts by type, one family pair per period endpoint.
fn msgs(
    out: &mut Out,
    rows: &[UpstreamMsgRow],
    messages: &'static MetricInfo,
    users: &'static MetricInfo,
) {
    for row in latest_day(rows, |r| r.ref_date) {
        let t = labels::msg_type(row.msg_type);
        let l = [("msg_type", t.as_str())];
        out.put(messages, &l, row.msg_count);
        out.put(users, &l, row.msg_user);
    }
}

fn dist(out: &mut Out, rows: &[UpstreamMsgDistRow], users: &'static MetricInfo) {
    for row in latest_day(rows, |r| r.ref_date) {
        let c = labels::count_interval(row.count_interval);
        out.put(users, &[("count_interval", c.as_str())], row.msg_user);
    }
}

pub fn map(out: &mut Out, reports: &AccountReports) {
    for dated in reports.reports.values() {
        match &dated.report {
            Report::UpstreamMsg(rows) => {
                msgs(out, rows, &m::UPSTREAM_MESSAGES, &m::UPSTREAM_MESSAGE_USERS)
            }
            Report::UpstreamMsgWeek(rows) => msgs(
                out,
                rows,
                &m::WEEKLY_UPSTREAM_MESSAGES,
                &m::WEEKLY_UPSTREAM_MESSAGE_USERS,
            ),
            Report::UpstreamMsgMonth(rows) => msgs(
                out,
                rows,
                &m::MONTHLY_UPSTREAM_MESSAGES,
                &m::MONTHLY_UPSTREAM_MESSAGE_USERS,
            ),
            Report::UpstreamMsgHour(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let (t, h) = (labels::msg_type(row.msg_type), labels::hour(row.ref_hour));
                    let l = [("msg_type", t.as_str()), ("hour", h.as_str())];
                    out.put(&m::HOURLY_UPSTREAM_MESSAGES, &l, row.msg_count);
                    out.put(&m::HOURLY_UPSTREAM_MESSAGE_USERS, &l, row.msg_user);
                }
            }
            Report::UpstreamMsgDist(rows) => {
                dist(out, rows, &m::UPSTREAM_MESSAGE_DISTRIBUTION_USERS)
            }
            Report::UpstreamMsgDistWeek(rows) => {
                dist(out, rows, &m::WEEKLY_UPSTREAM_MESSAGE_DISTRIBUTION_USERS)
            }
            Report::UpstreamMsgDistMonth(rows) => {
                dist(out, rows, &m::MONTHLY_UPSTREAM_MESSAGE_DISTRIBUTION_USERS)
            }
            _ => {}
        }
    }
}
