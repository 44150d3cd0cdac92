//! Unit tests of `plan`.

use super::*;
use crate::wechat::rows::{ArticleTotalRow, UserCumulateRow, UserSummaryRow};
use jiff::civil::{date, time};

fn settings() -> PlanSettings {
    PlanSettings {
        publish_after: time(8, 0, 0, 0),
        retry_interval: SignedDuration::from_mins(30),
        empty_is_zero_after: time(12, 0, 0, 0),
        error_retry_interval: SignedDuration::from_hours(1),
        probe_offset: SignedDuration::ZERO,
    }
}

/// An instant given as UTC+8 wall time.
fn at(d: Date, h: i8, m: i8) -> Timestamp {
    china_at(d, time(h, m, 0, 0))
}

fn all() -> AccountPlan {
    AccountPlan::new(settings(), Endpoint::ALL)
}

fn ok(report: Report) -> Result<Parsed, Error> {
    Ok(Parsed {
        report,
        is_delay: None,
    })
}

fn err(errcode: i64) -> Result<Parsed, Error> {
    Err(Error::Api {
        api: "test".into(),
        errcode,
        errmsg: "test".into(),
    })
}

fn cumulate(day: Date) -> Report {
    Report::UserCumulate(vec![UserCumulateRow {
        ref_date: Some(day),
        cumulate_user: Some(100),
        user_source: None,
    }])
}

fn summary(day: Date) -> Report {
    Report::UserSummary(vec![UserSummaryRow {
        ref_date: Some(day),
        user_source: Some(0),
        new_user: Some(1),
        cancel_user: Some(0),
    }])
}

fn article_total(send: Date) -> Report {
    Report::ArticleTotal(vec![ArticleTotalRow {
        ref_date: Some(send),
        msgid: Some(format!("{send}_1")),
        ..Default::default()
    }])
}

/// The status the plan reports at `now`.
fn status_at(plan: &AccountPlan, now: Timestamp) -> AccountStatus {
    let mut status = AccountStatus::default();
    plan.fill_status(&mut status, now);
    status
}

/// Why `e` is not called, if it is not.
fn unavailable(status: &AccountStatus, e: Endpoint) -> Option<&str> {
    status.unavailable.get(&e).map(String::as_str)
}

/// Answers every due job with a plausible non-empty body (empty for window dates in `quiet`).
fn answer_all(plan: &mut AccountPlan, now: Timestamp, quiet: &[Date]) -> Vec<Job> {
    let jobs = plan.due(now);
    for &job in &jobs {
        let report = match job.purpose {
            Purpose::Probe(d) => cumulate(d),
            Purpose::Window { query, .. } if quiet.contains(&query) => Report::empty(job.endpoint),
            Purpose::Window { query, .. } if job.endpoint == Endpoint::ArticleTotal => {
                article_total(query)
            }
            Purpose::Window { query, .. } => {
                Report::ArticleTotalDetail(vec![crate::wechat::rows::ArticleTotalDetailRow {
                    ref_date: Some(query),
                    msgid: Some(format!("{query}_1")),
                    ..Default::default()
                }])
            }
            _ if job.endpoint == Endpoint::UserSummary => summary(job.range.begin),
            // The plan does not look inside daily bodies, only at whether they are empty.
            _ => Report::UserSummary(vec![UserSummaryRow::default()]),
        };
        plan.apply(job, ok(report), now);
    }
    jobs
}

#[test]
fn target_day_follows_publish_after_in_utc8() {
    let plan = all();
    let today = date(2026, 11, 24);
    assert_eq!(plan.target_day(at(today, 7, 59)), date(2026, 11, 22));
    assert_eq!(plan.target_day(at(today, 8, 0)), date(2026, 11, 23));
    assert_eq!(plan.target_day(at(today, 23, 59)), date(2026, 11, 23));
}

#[test]
fn only_the_probe_until_the_day_is_published_then_retry_interval() {
    let mut plan = all();
    let today = date(2026, 11, 24);
    let now = at(today, 8, 0);
    let jobs = plan.due(now);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].purpose, Purpose::Probe(date(2026, 11, 23)));
    assert_eq!(
        plan.apply(jobs[0], ok(Report::empty(Endpoint::UserCumulate)), now),
        Outcome::Pending
    );
    // A cold start: the day before is fetched once meanwhile, never the probe's day.
    let cold = plan.due(at(today, 8, 0));
    assert!(cold.len() > 20, "{cold:?}");
    let before = date(2026, 11, 22);
    assert!(cold.iter().all(|j| match j.purpose {
        Purpose::Day(d) | Purpose::StandIn(d) => d == before,
        Purpose::Window { as_of, .. } => as_of == before,
        Purpose::Period(label) => label < before,
        Purpose::Probe(_) => false,
    }));
    for job in cold {
        let answer = match job.endpoint {
            Endpoint::UserCumulate => cumulate(date(2026, 11, 22)),
            e => Report::empty(e),
        };
        plan.apply(job, ok(answer), now);
    }
    assert_eq!(
        plan.reports().reports[&Endpoint::UserCumulate].date,
        date(2026, 11, 22)
    );
    assert!(!plan.is_ready(date(2026, 11, 23)));
    assert!(plan.due(at(today, 8, 29)).is_empty());
    assert_eq!(plan.next_wakeup(now), at(today, 8, 30));
    // 61503 means the same as an empty list.
    let jobs = plan.due(at(today, 8, 30));
    assert_eq!(
        plan.apply(jobs[0], err(61503), at(today, 8, 30)),
        Outcome::Pending
    );
    assert_eq!(plan.next_wakeup(at(today, 8, 30)), at(today, 9, 0));
    // A row for another day is not readiness either.
    let jobs = plan.due(at(today, 9, 0));
    assert_eq!(
        plan.apply(jobs[0], ok(cumulate(date(2026, 11, 22))), at(today, 9, 0)),
        Outcome::Pending
    );
    let jobs = plan.due(at(today, 9, 30));
    assert_eq!(
        plan.apply(jobs[0], ok(cumulate(date(2026, 11, 23))), at(today, 9, 30)),
        Outcome::Stored
    );
    assert!(plan.is_ready(date(2026, 11, 23)));
}

#[test]
fn a_published_day_fetches_every_report_once_and_the_windows() {
    let mut plan = all();
    let today = date(2026, 11, 24); // a Tuesday; the target day is Monday 23rd
    let now = at(today, 10, 0);
    let probe = plan.due(now);
    plan.apply(probe[0], ok(cumulate(date(2026, 11, 23))), now);
    let jobs = plan.due(now);
    let count = |e: Endpoint| jobs.iter().filter(|j| j.endpoint == e).count();
    for e in Endpoint::ALL {
        let expected = match e {
            Endpoint::UserCumulate => 0,
            Endpoint::ArticleTotal => 7,
            Endpoint::ArticleTotalDetail => 30,
            _ => 1,
        };
        assert_eq!(count(e), expected, "{e}");
    }
    // The latest complete week ended Sunday 22nd (labelled Monday 16th); the latest month is October.
    let week = jobs
        .iter()
        .find(|j| j.endpoint == Endpoint::UpstreamMsgWeek)
        .unwrap();
    assert_eq!(week.range, DateRange::day(date(2026, 11, 16)));
    let month = jobs
        .iter()
        .find(|j| j.endpoint == Endpoint::UpstreamMsgDistMonth)
        .unwrap();
    assert_eq!(month.range, DateRange::day(date(2026, 10, 1)));
    let oldest = jobs
        .iter()
        .filter(|j| j.endpoint == Endpoint::ArticleTotalDetail)
        .map(|j| j.range.begin)
        .min();
    assert_eq!(oldest, Some(date(2026, 10, 25)));
}

#[test]
fn windows_re_poll_only_dates_with_articles_and_drop_dates_that_left() {
    let mut plan = AccountPlan::new(settings(), [Endpoint::ArticleTotal]);
    let day1 = date(2026, 11, 24);
    let quiet = [date(2026, 11, 18), date(2026, 11, 20)];
    while !answer_all(&mut plan, at(day1, 10, 0), &quiet).is_empty() {}
    let reports = plan.reports();
    let Report::ArticleTotal(rows) = &reports.reports[&Endpoint::ArticleTotal].report else {
        panic!()
    };
    assert_eq!(rows.len(), 5, "7 send dates, 2 without articles");

    // Next day: probe, then the new date plus the 4 dates with articles still inside 7 days
    // (17th leaves the window).
    let day2 = date(2026, 11, 25);
    let probe = plan.due(at(day2, 10, 0));
    plan.apply(probe[0], ok(cumulate(date(2026, 11, 24))), at(day2, 10, 0));
    let mut dates: Vec<Date> = plan
        .due(at(day2, 10, 0))
        .iter()
        .map(|j| j.range.begin)
        .collect();
    dates.sort();
    assert_eq!(
        dates,
        vec![
            date(2026, 11, 19),
            date(2026, 11, 21),
            date(2026, 11, 22),
            date(2026, 11, 23),
            date(2026, 11, 24)
        ]
    );
    while !answer_all(&mut plan, at(day2, 10, 0), &[]).is_empty() {}
    let reports = plan.reports();
    let Report::ArticleTotal(rows) = &reports.reports[&Endpoint::ArticleTotal].report else {
        panic!()
    };
    let sends: Vec<Date> = rows.iter().filter_map(|r| r.ref_date).collect();
    assert!(
        !sends.contains(&date(2026, 11, 17)),
        "left the window: {sends:?}"
    );
    assert_eq!(
        reports.reports[&Endpoint::ArticleTotal].date,
        date(2026, 11, 24)
    );
}

#[test]
fn report_dates_keep_every_date_and_no_window_rows() {
    let mut plan = AccountPlan::new(
        settings(),
        [
            Endpoint::UserCumulate,
            Endpoint::ArticleTotal,
            Endpoint::ArticleTotalDetail,
        ],
    );
    let day = date(2026, 11, 24);
    while !answer_all(&mut plan, at(day, 10, 0), &[]).is_empty() {}
    let (full, dates) = (plan.reports(), plan.report_dates());
    assert!(full.reports[&Endpoint::ArticleTotalDetail].report.len() >= 7);
    let dated = |r: &AccountReports| -> Vec<(Endpoint, Date)> {
        r.reports.iter().map(|(&e, d)| (e, d.date)).collect()
    };
    assert_eq!(dated(&dates), dated(&full));
    for e in [Endpoint::ArticleTotal, Endpoint::ArticleTotalDetail] {
        assert!(dates.reports[&e].report.is_empty(), "{e}: no rows copied");
    }
    // The probe's rows (followers) are still there.
    assert_eq!(
        dates.reports[&Endpoint::UserCumulate],
        full.reports[&Endpoint::UserCumulate]
    );
}

#[test]
fn quota_stops_the_api_until_the_next_utc8_day() {
    let mut plan = AccountPlan::new(settings(), [Endpoint::UserSummary, Endpoint::UpstreamMsg]);
    let today = date(2026, 11, 24);
    let now = at(today, 10, 0);
    let probe = plan.due(now);
    plan.apply(probe[0], ok(cumulate(date(2026, 11, 23))), now);
    for job in plan.due(now) {
        let answer = if job.endpoint == Endpoint::UserSummary {
            err(45009)
        } else {
            ok(Report::empty(job.endpoint))
        };
        plan.apply(job, answer, at(today, 12, 30));
    }
    let status = status_at(&plan, at(today, 13, 0));
    assert_eq!(unavailable(&status, Endpoint::UserSummary), Some("quota"));
    for h in [13, 18, 23] {
        assert!(
            plan.due(at(today, h, 59))
                .iter()
                .all(|j| j.endpoint != Endpoint::UserSummary),
            "{h}:59"
        );
    }
    let tomorrow = add_days(today, 1);
    assert_eq!(plan.next_wakeup(at(today, 13, 0)), at(tomorrow, 0, 0));
    // After midnight UTC+8 the target is still the 23rd (before publish_after), so it is retried.
    let jobs = plan.due(at(tomorrow, 0, 0));
    assert_eq!(
        jobs.iter()
            .map(|j| (j.endpoint, j.range.begin))
            .collect::<Vec<_>>(),
        vec![(Endpoint::UserSummary, date(2026, 11, 23))]
    );
}

/// Answers of one round come back in any order: a success for one send date that lands after
/// another date's 45009 was sent before the quota ran out, and must not lift the stop.
#[test]
fn a_success_after_a_45009_of_the_same_round_keeps_the_quota_stop() {
    let today = date(2026, 11, 24);
    let now = at(today, 10, 0);
    for order in ["45009 first", "45009 in the middle"] {
        let mut plan = AccountPlan::new(settings(), [Endpoint::ArticleTotal]);
        let probe = plan.due(now);
        plan.apply(probe[0], ok(cumulate(date(2026, 11, 23))), now);
        let jobs = plan.due(now);
        assert_eq!(jobs.len(), 7, "{order}");
        let failing = if order == "45009 first" { 0 } else { 3 };
        // Then a "not ready yet" for another date: its half hour does not shorten the stop.
        let pending = jobs.len() - 1;
        for (i, &job) in jobs.iter().enumerate() {
            let answer = match i {
                i if i == failing => err(45009),
                i if i == pending => Ok(Parsed {
                    report: Report::empty(job.endpoint),
                    is_delay: Some(true),
                }),
                _ => ok(article_total(job.range.begin)),
            };
            plan.apply(job, answer, now);
        }
        let status = status_at(&plan, now);
        assert_eq!(
            unavailable(&status, Endpoint::ArticleTotal),
            Some("quota"),
            "{order}"
        );
        assert!(
            status.last_errors[&Endpoint::ArticleTotal].contains("45009"),
            "{order}: the 45009 is the error shown"
        );
        assert_eq!(
            plan.due(now),
            Vec::new(),
            "{order}: nothing asked again today"
        );
        assert_eq!(plan.due(at(today, 23, 59)), Vec::new(), "{order}");
        let tomorrow = add_days(today, 1);
        assert_eq!(plan.next_wakeup(now), at(tomorrow, 0, 0), "{order}");
        // The two dates not stored are asked at midnight; the stored five are done.
        let again: Vec<Date> = plan
            .due(at(tomorrow, 0, 0))
            .iter()
            .map(|j| j.range.begin)
            .collect();
        assert_eq!(
            again,
            vec![jobs[failing].range.begin, jobs[pending].range.begin],
            "{order}"
        );
    }
}

/// A success still ends an expired backoff: the error it left is cleared.
#[test]
fn a_success_after_the_backoff_clears_the_error() {
    let mut plan = AccountPlan::new(settings(), [Endpoint::UserSummary]);
    let today = date(2026, 11, 24);
    let now = at(today, 10, 0);
    let probe = plan.due(now);
    plan.apply(probe[0], ok(cumulate(date(2026, 11, 23))), now);
    let job = plan.due(now)[0];
    plan.apply(job, err(-1), now);
    assert_eq!(plan.due(now), Vec::new(), "backing off");
    let later = at(today, 10, 30);
    let job = plan.due(later)[0];
    plan.apply(job, ok(summary(date(2026, 11, 23))), later);
    let status = status_at(&plan, later);
    assert!(status.last_errors.is_empty(), "{:?}", status.last_errors);
    assert_eq!(plan.due(later), Vec::new(), "done for the day");
}

#[test]
fn offline_legacy_endpoint_is_retired_and_the_new_ones_carry_on() {
    let mut plan = AccountPlan::new(settings(), [Endpoint::UserRead, Endpoint::BizSummary]);
    let today = date(2026, 11, 24);
    let now = at(today, 10, 0);
    let probe = plan.due(now);
    plan.apply(probe[0], ok(cumulate(date(2026, 11, 23))), now);
    for job in plan.due(now) {
        let answer = if job.endpoint == Endpoint::UserRead {
            err(47009)
        } else {
            ok(Report::empty(job.endpoint))
        };
        let outcome = plan.apply(job, answer, at(today, 13, 0));
        let expected = if job.endpoint == Endpoint::UserRead {
            Outcome::Retired
        } else {
            Outcome::Stored
        };
        assert_eq!(outcome, expected);
    }
    let status = status_at(&plan, now);
    assert_eq!(unavailable(&status, Endpoint::UserRead), Some("offline"));
    let tomorrow = add_days(today, 1);
    let probe = plan.due(at(tomorrow, 10, 0));
    plan.apply(probe[0], ok(cumulate(today)), at(tomorrow, 10, 0));
    let endpoints: Vec<Endpoint> = plan
        .due(at(tomorrow, 10, 0))
        .iter()
        .map(|j| j.endpoint)
        .collect();
    assert_eq!(endpoints, vec![Endpoint::BizSummary]);
}

#[test]
fn empty_means_zero_only_after_the_cutoff() {
    let mut plan = AccountPlan::new(settings(), [Endpoint::InterfaceSummary]);
    let today = date(2026, 11, 24);
    let probe = plan.due(at(today, 10, 0));
    plan.apply(probe[0], ok(cumulate(date(2026, 11, 23))), at(today, 10, 0));
    let job = plan.due(at(today, 10, 0))[0];
    assert_eq!(
        plan.apply(job, ok(Report::empty(job.endpoint)), at(today, 10, 0)),
        Outcome::Pending
    );
    assert!(plan.due(at(today, 10, 29)).is_empty());
    let job = plan.due(at(today, 11, 59))[0];
    assert_eq!(
        plan.apply(job, ok(Report::empty(job.endpoint)), at(today, 11, 59)),
        Outcome::Pending
    );
    let job = plan.due(at(today, 12, 29))[0];
    assert_eq!(
        plan.apply(job, ok(Report::empty(job.endpoint)), at(today, 12, 29)),
        Outcome::Stored
    );
    assert!(
        plan.reports().reports[&Endpoint::InterfaceSummary]
            .report
            .is_empty()
    );
    assert!(plan.due(at(today, 23, 0)).is_empty());
}

#[test]
fn is_delay_is_not_ready() {
    let mut plan = AccountPlan::new(settings(), [Endpoint::BizSummary]);
    let today = date(2026, 11, 24);
    let probe = plan.due(at(today, 10, 0));
    plan.apply(probe[0], ok(cumulate(date(2026, 11, 23))), at(today, 10, 0));
    let job = plan.due(at(today, 13, 0))[0];
    let delayed = Ok(Parsed {
        report: Report::empty(Endpoint::BizSummary),
        is_delay: Some(true),
    });
    assert_eq!(plan.apply(job, delayed, at(today, 13, 0)), Outcome::Pending);
    assert!(plan.due(at(today, 13, 29)).is_empty());
    assert_eq!(plan.due(at(today, 13, 30)).len(), 1);
}

#[test]
fn probe_offsets_spread_evenly_over_the_retry_interval_and_never_change() {
    let interval = SignedDuration::from_mins(30);
    let ids: Vec<String> = (0..1000).map(|i| format!("wx{i:016x}")).collect();
    let mut buckets = [0u32; 10];
    for id in &ids {
        let o = probe_offset(id, interval);
        assert!(o >= SignedDuration::ZERO && o < interval, "{id}: {o}");
        assert_eq!(o, probe_offset(id, interval), "deterministic");
        buckets[(o.as_millis() * 10 / interval.as_millis()) as usize] += 1;
    }
    // 100 expected per 3-minute bucket; never all at 08:00.
    assert!(
        buckets.iter().all(|&b| (60..140).contains(&b)),
        "{buckets:?}"
    );
    // Fixed per app_id: a restart (or an upgrade) probes at the same minute.
    assert_eq!(
        probe_offset("wx0123456789abcdef", interval),
        SignedDuration::from_millis(PINNED_OFFSET_MS)
    );
    assert_eq!(
        probe_offset("wx0123456789abcdef", SignedDuration::ZERO),
        SignedDuration::ZERO
    );
}

// 3 min 53.952 s.
const PINNED_OFFSET_MS: i64 = 233_952;

#[test]
fn the_first_probe_of_the_day_waits_for_the_accounts_offset() {
    let day = date(2026, 11, 3);
    let mut s = settings();
    s.probe_offset = SignedDuration::from_mins(17);
    let plan = AccountPlan::new(s, [Endpoint::UserSummary]);
    // Before 08:17 the target is still the day before yesterday; from 08:17 it is yesterday.
    assert_eq!(plan.target_day(at(day, 8, 16)), add_days(day, -2));
    assert_eq!(plan.target_day(at(day, 8, 17)), add_days(day, -1));
    // Waiting from 07:00 wakes at 08:17, not 08:00.
    assert_eq!(plan.next_wakeup(at(day, 7, 0)), at(day, 8, 17));
}

#[test]
fn the_windows_keep_each_articles_newest_totals_in_memory_and_saved_and_serve_the_same() {
    use crate::wechat::rows::ArticleTotalDetail;
    let mut plan = AccountPlan::new(settings(), [Endpoint::ArticleTotal]);
    let day = date(2026, 11, 24);
    while !answer_all(&mut plan, at(day, 10, 0), &[]).is_empty() {}
    // One send date answered with three days of running totals, newest in the middle.
    let send = date(2026, 11, 21);
    let detail = |d: i8, target: u64| ArticleTotalDetail {
        stat_date: Some(date(2026, 11, d)),
        target_user: Some(target),
        ..Default::default()
    };
    let row = ArticleTotalRow {
        details: vec![detail(21, 1), detail(23, 3), detail(22, 2)],
        ..match article_total(send) {
            Report::ArticleTotal(mut rows) => rows.remove(0),
            _ => unreachable!(),
        }
    };
    let job = Job {
        endpoint: Endpoint::ArticleTotal,
        range: DateRange::day(send),
        purpose: Purpose::Window {
            query: send,
            as_of: date(2026, 11, 23),
        },
    };
    plan.apply(job, ok(Report::ArticleTotal(vec![row])), at(day, 10, 0));
    // Held as saved: the older days' totals are gone from memory too.
    let Report::ArticleTotal(held) = &plan.reports().reports[&Endpoint::ArticleTotal].report else {
        panic!()
    };
    let held: Vec<_> = held.iter().flat_map(|r| &r.details).collect();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].stat_date, Some(date(2026, 11, 23)));

    let saved = plan.export();
    let body = saved.windows["getarticletotal"][&send].body.value();
    assert_eq!(
        body["list"][0]["details"],
        serde_json::json!([{"stat_date": "2026-11-23", "target_user": 3}]),
        "only the newest stat_date"
    );
    let mut restored = AccountPlan::new(settings(), [Endpoint::ArticleTotal]);
    restored.restore(&saved, at(day, 10, 0));
    let newest = |plan: &AccountPlan| -> Vec<(Option<Date>, Option<u64>)> {
        let Report::ArticleTotal(rows) = &plan.reports().reports[&Endpoint::ArticleTotal].report
        else {
            panic!()
        };
        rows.iter()
            .filter_map(|r| r.details.iter().max_by_key(|d| d.stat_date))
            .map(|d| (d.stat_date, d.target_user))
            .collect()
    };
    assert_eq!(
        newest(&restored),
        newest(&plan),
        "what /metrics reads is the same"
    );
    assert!(newest(&plan).contains(&(Some(date(2026, 11, 23)), Some(3))));
    assert!(
        restored.due(at(day, 10, 0)).is_empty(),
        "nothing to fetch again"
    );
}
