//! The T+1 minimum: the fewest datacube calls the publication rules allow (docs/datacube-api.md,
//! "Publication"). The scheduling test asserts the plan makes exactly these; the benchmark
//! compares what it made with them.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;

use crate::wechat::date::{add_days, month_start, week_start};
use crate::wechat::{DateRange, Endpoint, Period};

/// The fewest calls per endpoint for one account whose first poll finds `first_target` published
/// and that then follows `days` more target days:
/// - getusercumulate (the readiness probe): one on the first poll, then `probes_per_day` a day
///   (1 when `publish_after` is WeChat's real publication time; one more per `retry_interval`
///   the exporter starts early);
/// - every other daily report once per target day, week/month reports once per period that ended;
/// - the per-article windows: every date of the window on the first poll, then each day the new
///   date plus each earlier date of the window that had articles (`had_articles(endpoint, date)`:
///   their running totals still change; a date without any is final once answered).
pub fn t1_minimum(
    first_target: Date,
    days: i64,
    probes_per_day: u64,
    had_articles: impl Fn(Endpoint, Date) -> bool,
) -> BTreeMap<Endpoint, u64> {
    let targets: Vec<Date> = (0..=days).map(|k| add_days(first_target, k)).collect();
    let distinct = |label: fn(Date) -> Date| {
        targets
            .iter()
            .map(|&t| label(t))
            .collect::<BTreeSet<_>>()
            .len() as u64
    };
    Endpoint::ALL
        .into_iter()
        .map(|e| {
            let n = match (e, e.rolling_window_days()) {
                (Endpoint::UserCumulate, _) => 1 + probes_per_day * days.max(0) as u64,
                (_, Some(window)) => {
                    let first_day =
                        |t: Date| add_days(t, -(i64::from(window) - 1)).max(e.earliest_date());
                    let t0 = targets[0];
                    let mut n =
                        DateRange::new(first_day(t0), t0).map_or(0, |r| r.len_days() as u64);
                    for &t in &targets[1..] {
                        let earlier = DateRange::new(first_day(t), add_days(t, -1));
                        n += 1 + earlier.map_or(0, |r| {
                            r.days().filter(|&d| had_articles(e, d)).count() as u64
                        });
                    }
                    n
                }
                _ => match e.period() {
                    Period::Day => targets.len() as u64,
                    Period::Week => distinct(week_label),
                    Period::Month => distinct(month_label),
                },
            };
            (e, n)
        })
        .collect()
}

/// The Monday of the last week complete on `target`.
fn week_label(target: Date) -> Date {
    add_days(week_start(add_days(target, 1)), -7)
}

/// The 1st of the last month complete on `target`.
fn month_label(target: Date) -> Date {
    month_start(add_days(month_start(add_days(target, 1)), -1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn a_week_without_articles_costs_one_call_per_daily_report_per_day() {
        // Targets Sun 1 Nov 2026 .. Sun 8 Nov: 8 days, weeks ending 1 Nov and 8 Nov, months Oct.
        let m = t1_minimum(date(2026, 11, 1), 7, 3, |_, _| false);
        assert_eq!(m[&Endpoint::UserCumulate], 1 + 3 * 7);
        assert_eq!(m[&Endpoint::UserSummary], 8);
        assert_eq!(m[&Endpoint::UpstreamMsgWeek], 2);
        assert_eq!(m[&Endpoint::UpstreamMsgMonth], 1);
        // getarticletotal: 7 dates on the first poll, then one new date a day.
        assert_eq!(m[&Endpoint::ArticleTotal], 7 + 7);
        // With articles every day, each day re-asks the 6 earlier dates of its 7-day window.
        let busy = t1_minimum(date(2026, 11, 1), 7, 3, |_, _| true);
        assert_eq!(busy[&Endpoint::ArticleTotal], 7 + 7 * (1 + 6));
    }
}
