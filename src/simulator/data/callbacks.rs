//! The callback server: getinterfacesummary and getinterfacesummaryhour.

use super::*;

pub(super) fn interface_hours(
    app_id: &str,
    day: Date,
    ratio: Option<f64>,
) -> Vec<InterfaceSummaryHourRow> {
    let mut r = rng(app_id, "callbacks", day);
    let total = (trend(app_id, day) * 0.05 * r.range(0.8, 1.2)).round() as u64;
    let w = hour_weights(app_id, "callback-hours", day);
    split(total, &w, SLOW_HOUR as usize)
        .into_iter()
        .enumerate()
        .filter(|(_, c)| *c > 0)
        .map(|(h, c)| {
            let slow = h as u64 == SLOW_HOUR;
            let fail_rate = r.range(0.001, 0.01);
            // Random rounding keeps small accounts' failures at the right rate on average.
            let fail = match ratio {
                Some(q) => (q * c as f64).round() as u64,
                None => (c as f64 * fail_rate + r.f64()).floor() as u64,
            };
            let avg = if slow {
                r.range(300.0, 900.0)
            } else {
                r.range(40.0, 150.0)
            };
            // Slow but healthy: under the 4 s the near-timeout alert watches (WeChat's limit is 5 s).
            let max = if slow {
                r.range(1800.0, 3500.0)
            } else {
                avg * r.range(3.0, 10.0)
            };
            InterfaceSummaryHourRow {
                ref_date: Some(day),
                ref_hour: Some(h as u64 * 100),
                callback_count: Some(c),
                fail_count: Some(fail.min(c)),
                total_time_cost: Some((c as f64 * avg).round() as u64),
                max_time_cost: Some(max.round() as u64),
            }
        })
        .collect()
}

pub(super) fn interface_day(
    app_id: &str,
    day: Date,
    ratio: Option<f64>,
) -> Option<InterfaceSummaryRow> {
    let hours = interface_hours(app_id, day, ratio);
    if hours.is_empty() {
        return None;
    }
    let sum = |f: fn(&InterfaceSummaryHourRow) -> Option<u64>| -> u64 {
        hours.iter().filter_map(f).sum()
    };
    let callbacks = sum(|h| h.callback_count);
    let fail = match ratio {
        Some(q) => ((q * callbacks as f64).round() as u64).min(callbacks),
        None => sum(|h| h.fail_count),
    };
    Some(InterfaceSummaryRow {
        ref_date: Some(day),
        callback_count: Some(callbacks),
        fail_count: Some(fail),
        total_time_cost: Some(sum(|h| h.total_time_cost)),
        max_time_cost: hours.iter().filter_map(|h| h.max_time_cost).max(),
    })
}

impl RowSource<InterfaceSummaryRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<InterfaceSummaryRow> {
        self.per_day(|d| {
            interface_day(self.app_id, d, self.ratio)
                .into_iter()
                .collect()
        })
    }
}

impl RowSource<InterfaceSummaryHourRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<InterfaceSummaryHourRow> {
        self.per_day(|d| interface_hours(self.app_id, d, self.ratio))
    }
}
