//! Followers: getusercumulate and getusersummary.

use super::catalogue as m;
use super::{Out, labels, latest_day};
use crate::latest::AccountReports;
use crate::wechat::Report;

pub fn map(out: &mut Out, reports: &AccountReports) {
    for dated in reports.reports.values() {
        match &dated.report {
            Report::UserCumulate(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    out.put(&m::FOLLOWERS, &[], row.cumulate_user);
                }
            }
            Report::UserSummary(rows) => {
                for row in latest_day(rows, |r| r.ref_date) {
                    let source = labels::follower_source(row.user_source);
                    let l = [("source", source.as_str())];
                    out.put(&m::FOLLOWERS_NEW, &l, row.new_user);
                    out.put(&m::FOLLOWERS_CANCELLED, &l, row.cancel_user);
                }
            }
            _ => {}
        }
    }
}
