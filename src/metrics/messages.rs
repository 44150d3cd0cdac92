//! Messages users sent to the account: getupstreammsg{,hour,week,month} and the distributions.

use super::{Out, labels, latest_day};
use crate::reports::AccountReports;
use crate::wechat::Report;
use crate::wechat::report::{UpstreamMsgDistRow, UpstreamMsgRow};

/// Message counts by type, one family pair per period endpoint.
fn msgs(out: &mut Out, rows: &[UpstreamMsgRow], messages: &'static str, users: &'static str) {
    for row in latest_day(rows, |r| r.ref_date) {
        let t = labels::msg_type(row.msg_type);
        let l = [("msg_type", t.as_str())];
        out.put(messages, &l, row.msg_count);
        out.put(users, &l, row.msg_user);
    }
}

fn dist(out: &mut Out, rows: &[UpstreamMsgDistRow], users: &'static str) {
    for row in latest_day(rows, |r| r.ref_date) {
        let c = labels::count_interval(row.count_interval);
        out.put(users, &[("count_interval", c.as_str())], row.msg_user);
    }
}

pub fn map(out: &mut Out, reports: &AccountReports) {
    for dated in reports.reports.values() {
        match &dated.report {
            Report::UpstreamMsg(rows) => msgs(
                out,
                rows,
                "wechat_mp_upstream_messages",
                "wechat_mp_upstream_message_users",
            ),
            Report::UpstreamMsgWeek(rows) => msgs(
                out,
                rows,
                "wechat_mp_weekly_upstream_messages",
                "wechat_mp_weekly_upstream_message_users",
            ),
            Report::UpstreamMsgMonth(rows) => msgs(
                out,
                rows,
                "wechat_mp_monthly_upstream_messages",
                "wechat_mp_monthly_upstream_message_users",
            ),
            Report::UpstreamMsgHour(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let (t, h) = (labels::msg_type(row.msg_type), labels::hour(row.ref_hour));
                    let l = [("msg_type", t.as_str()), ("hour", h.as_str())];
                    out.put("wechat_mp_hourly_upstream_messages", &l, row.msg_count);
                    out.put("wechat_mp_hourly_upstream_message_users", &l, row.msg_user);
                }
            }
            Report::UpstreamMsgDist(rows) => {
                dist(out, rows, "wechat_mp_upstream_message_distribution_users")
            }
            Report::UpstreamMsgDistWeek(rows) => dist(
                out,
                rows,
                "wechat_mp_weekly_upstream_message_distribution_users",
            ),
            Report::UpstreamMsgDistMonth(rows) => dist(
                out,
                rows,
                "wechat_mp_monthly_upstream_message_distribution_users",
            ),
            _ => {}
        }
    }
}
