//! Followers: getusersummary and getusercumulate.

use super::*;

/// Follower channels with their share of new followers.
pub(super) const FOLLOW_SOURCES: [(u64, f64); 15] = [
    (0, 0.25),
    (1, 0.15),
    (17, 0.05),
    (30, 0.3),
    (35, 0.01),
    (39, 0.01),
    (43, 0.02),
    (51, 0.03),
    (57, 0.08),
    (100, 0.05),
    (149, 0.03),
    (161, 0.04),
    (176, 0.01),
    (200, 0.06),
    (201, 0.02),
];

pub(super) fn user_summary(app_id: &str, day: Date) -> Vec<UserSummaryRow> {
    let mut r = rng(app_id, "followers", day);
    let t = trend(app_id, day);
    // Weekends are a little quieter and a send day brings a bump; both factors average 1, so the
    // net change follows the trend's growth and getusercumulate stays near the trend.
    let weekday = if day.weekday().to_monday_zero_offset() >= 5 {
        0.875
    } else {
        1.05
    };
    let bump = if has_mass_send(app_id, day) {
        1.15
    } else {
        0.75
    };
    let growth = profile(app_id).growth;
    let new_total = (t * (growth + 0.0022) * weekday * bump * r.range(0.85, 1.15)).round() as u64;
    let cancel_total = (t * 0.0022 * r.range(0.85, 1.15)).round() as u64;
    let sources: Vec<(u64, f64)> = FOLLOW_SOURCES
        .iter()
        .copied()
        .filter(|&(s, _)| {
            let always = matches!(s, 0 | 1 | 17 | 30);
            let keep = r.f64() < 0.6;
            (always || keep) && (s != 51 || day < SOURCE_51_END)
        })
        .collect();
    let new_w: Vec<f64> = sources
        .iter()
        .map(|&(_, w)| w * r.range(0.7, 1.3))
        .collect();
    // Unfollows are mostly booked on channel 0.
    let cancel_w: Vec<f64> = sources
        .iter()
        .map(|&(s, w)| if s == 0 { 3.0 } else { w })
        .collect();
    let new = split(new_total, &new_w, 0);
    let cancel = split(cancel_total, &cancel_w, 0);
    sources
        .iter()
        .enumerate()
        .map(|(i, &(s, _))| UserSummaryRow {
            ref_date: Some(day),
            user_source: Some(s),
            new_user: Some(new[i]),
            cancel_user: Some(cancel[i]),
        })
        .collect()
}

pub(super) fn net_followers(app_id: &str, day: Date) -> i64 {
    user_summary(app_id, day)
        .iter()
        .map(|r| r.new_user.unwrap_or(0) as i64 - r.cancel_user.unwrap_or(0) as i64)
        .sum()
}

/// Followers at the end of `day`: the base at ANCHOR plus every day's net change since, so
/// cumulate(D) = cumulate(D-1) + new(D) - cancel(D) holds exactly.
pub(super) fn cumulate(app_id: &str, day: Date) -> u64 {
    let base = profile(app_id).base.round() as i64;
    let offset = days_from(ANCHOR, day);
    let value = if offset >= 0 {
        base + (1..=offset)
            .map(|i| net_followers(app_id, add_days(ANCHOR, i)))
            .sum::<i64>()
    } else {
        base - (offset + 1..=0)
            .map(|i| net_followers(app_id, add_days(ANCHOR, i)))
            .sum::<i64>()
    };
    value.max(0) as u64
}

impl RowSource<UserSummaryRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<UserSummaryRow> {
        self.per_day(|d| user_summary(self.app_id, d))
    }
}

impl RowSource<UserCumulateRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<UserCumulateRow> {
        let mut rows = Vec::new();
        let mut value = None;
        for d in &self.days {
            // One walk from the anchor, then step by each day's net change.
            let v = match value {
                None => cumulate(self.app_id, *d),
                Some(prev) => (prev as i64 + net_followers(self.app_id, *d)).max(0) as u64,
            };
            value = Some(v);
            rows.push(UserCumulateRow {
                ref_date: Some(*d),
                cumulate_user: Some(v),
                user_source: Some(0),
            });
        }
        rows
    }
}
