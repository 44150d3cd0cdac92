//! Messages users sent: the getupstreammsg family (day, hour, week, month, distribution).

use super::*;

pub(super) const MSG_TYPES: [(u64, f64); 5] =
    [(1, 0.7), (2, 0.12), (3, 0.08), (4, 0.03), (6, 0.07)];

/// (msg_type, msg_user, msg_count) sent to the account on `day`.
pub(super) fn upstream_day(app_id: &str, day: Date) -> Vec<(u64, u64, u64)> {
    let mut r = rng(app_id, "upstream", day);
    let total = (trend(app_id, day) * 0.004 * r.range(0.6, 1.4)).round() as u64;
    let w: Vec<f64> = MSG_TYPES
        .iter()
        .map(|&(_, w)| w * r.range(0.7, 1.3))
        .collect();
    split(total, &w, 0)
        .into_iter()
        .zip(MSG_TYPES)
        .filter(|(count, _)| *count > 0)
        .map(|(count, (t, _))| {
            let user = ((count as f64 / r.range(1.2, 1.8)).round() as u64).clamp(1, count);
            (t, user, count)
        })
        .collect()
}

pub(super) fn upstream_msg(app_id: &str, day: Date) -> Vec<UpstreamMsgRow> {
    upstream_day(app_id, day)
        .into_iter()
        .map(|(t, user, count)| UpstreamMsgRow {
            ref_date: Some(day),
            msg_type: Some(t),
            msg_user: Some(user),
            msg_count: Some(count),
        })
        .collect()
}

pub(super) fn upstream_msg_hour(app_id: &str, day: Date) -> Vec<UpstreamMsgHourRow> {
    let w = hour_weights(app_id, "msg-hours", day);
    let mut rows = Vec::new();
    for (t, user, count) in upstream_day(app_id, day) {
        for (h, c) in split(count, &w, 20).into_iter().enumerate() {
            if c == 0 {
                continue;
            }
            let u = ((c as f64 * user as f64 / count as f64).ceil() as u64).clamp(1, c);
            rows.push(UpstreamMsgHourRow {
                ref_date: Some(day),
                ref_hour: Some(h as u64 * 100),
                msg_type: Some(t),
                msg_user: Some(u),
                msg_count: Some(c),
            });
        }
    }
    rows
}

/// Sums a period's days; distinct users over a period are fewer than the sum of daily users.
pub(super) fn upstream_period(app_id: &str, days: DateRange, overlap: f64) -> Vec<(u64, u64, u64)> {
    MSG_TYPES
        .iter()
        .filter_map(|&(t, _)| {
            let (mut user, mut count) = (0u64, 0u64);
            for day in days.days() {
                for (tt, u, c) in upstream_day(app_id, day) {
                    if tt == t {
                        user += u;
                        count += c;
                    }
                }
            }
            (count > 0).then(|| {
                (
                    t,
                    ((user as f64 * overlap).round() as u64).clamp(1, count),
                    count,
                )
            })
        })
        .collect()
}

pub(super) fn upstream_rows(label: Date, rows: Vec<(u64, u64, u64)>) -> Vec<UpstreamMsgRow> {
    rows.into_iter()
        .map(|(t, user, count)| UpstreamMsgRow {
            ref_date: Some(label),
            msg_type: Some(t),
            msg_user: Some(user),
            msg_count: Some(count),
        })
        .collect()
}

pub(super) fn dist_rows(
    app_id: &str,
    label: Date,
    rows: &[(u64, u64, u64)],
) -> Vec<UpstreamMsgDistRow> {
    let senders: u64 = rows.iter().map(|r| r.1).sum();
    let mut r = rng(app_id, "dist", label);
    let w = [
        0.02,
        0.78 * r.range(0.9, 1.1),
        0.14 * r.range(0.8, 1.2),
        0.06 * r.range(0.8, 1.2),
    ];
    split(senders, &w, 1)
        .into_iter()
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .map(|(i, n)| UpstreamMsgDistRow {
            ref_date: Some(label),
            count_interval: Some(i as u64),
            msg_user: Some(n),
        })
        .collect()
}

/// How much of a period's daily senders are the same people (distinct senders of a week or month
/// are fewer than the sum of its days).
fn overlap(period: Period) -> f64 {
    if period == Period::Week { 0.75 } else { 0.6 }
}

/// getupstreammsg (daily) and getupstreammsgweek / getupstreammsgmonth (per complete period).
impl RowSource<UpstreamMsgRow> for Source<'_> {
    fn rows(&self, endpoint: Endpoint) -> Vec<UpstreamMsgRow> {
        match endpoint.period() {
            Period::Day => self.per_day(|d| upstream_msg(self.app_id, d)),
            period => self
                .labels(period)
                .iter()
                .flat_map(|&l| {
                    upstream_rows(
                        l,
                        upstream_period(self.app_id, period.range(l), overlap(period)),
                    )
                })
                .collect(),
        }
    }
}

impl RowSource<UpstreamMsgHourRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<UpstreamMsgHourRow> {
        self.per_day(|d| upstream_msg_hour(self.app_id, d))
    }
}

/// getupstreammsgdist (daily) and its week / month variants (per complete period).
impl RowSource<UpstreamMsgDistRow> for Source<'_> {
    fn rows(&self, endpoint: Endpoint) -> Vec<UpstreamMsgDistRow> {
        match endpoint.period() {
            Period::Day => {
                self.per_day(|d| dist_rows(self.app_id, d, &upstream_day(self.app_id, d)))
            }
            period => self
                .labels(period)
                .iter()
                .flat_map(|&l| {
                    let msgs = upstream_period(self.app_id, period.range(l), overlap(period));
                    dist_rows(self.app_id, l, &msgs)
                })
                .collect(),
        }
    }
}
