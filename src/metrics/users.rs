//! Followers: getusercumulate and getusersummary.

use super::{Out, labels, latest_day};
use crate::reports::AccountReports;
use crate::wechat::{Endpoint, Report};

pub fn map(out: &mut Out, reports: &AccountReports) {
    if let Some(Report::UserCumulate(rows)) = reports
        .reports
        .get(&Endpoint::UserCumulate)
        .map(|d| &d.report)
    {
        for row in latest_day(rows, |r| r.ref_date) {
            out.put("wechat_mp_followers", &[], row.cumulate_user);
        }
    }
    if let Some(Report::UserSummary(rows)) = reports
        .reports
        .get(&Endpoint::UserSummary)
        .map(|d| &d.report)
    {
        for row in latest_day(rows, |r| r.ref_date) {
            let source = labels::follower_source(row.user_source);
            let l = [("source", source.as_str())];
            out.put("wechat_mp_followers_new", &l, row.new_user);
            out.put("wechat_mp_followers_cancelled", &l, row.cancel_user);
        }
    }
}
