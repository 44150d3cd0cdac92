//! The T+1 plan of one account: which requests are due at an instant, and what each answer means.
//!
//! Rules (docs/wechat-api.md, "Publication"): the target day is yesterday in UTC+8 once `publish_after`
//! has passed (the day before otherwise); getusercumulate for the target day is the readiness probe
//! and nothing else is asked for a day before it answers; every other daily report is fetched once
//! per day; week/month rows once their period has ended; the per-article running totals are
//! re-polled only while they still change (7 / 30 days) and only for dates that had articles.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};

use crate::config::ScheduleSettings;
use crate::reports::{AccountReports, AccountStatus, DatedReport};
use crate::wechat::date::{add_days, china_at, china_today};
use crate::wechat::error::{Error, ErrorClass};
use crate::wechat::{DateRange, Endpoint, Parsed, Period, Report};

/// The schedule settings the plan needs.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub publish_after: Time,
    pub retry_interval: SignedDuration,
    pub empty_is_zero_after: Time,
    pub error_retry_interval: SignedDuration,
}

impl From<&ScheduleSettings> for PlanSettings {
    fn from(s: &ScheduleSettings) -> Self {
        Self {
            publish_after: s.publish_after,
            retry_interval: signed(s.retry_interval),
            empty_is_zero_after: s.empty_is_zero_after,
            error_retry_interval: signed(s.error_retry_interval),
        }
    }
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// Why a request is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// getusercumulate for the target day: is the day published yet?
    Probe(Date),
    /// A daily endpoint's rows for the target day.
    Day(Date),
    /// getusercumulate for the day before the target, on a cold start while the target is not
    /// published yet: something to show until it is.
    StandIn(Date),
    /// A week/month endpoint's rows for the period labelled with this date.
    Period(Date),
    /// A per-article window endpoint queried by send/publish date `query`, as of target day `as_of`.
    Window { query: Date, as_of: Date },
}

/// One request the plan wants made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Job {
    pub endpoint: Endpoint,
    pub range: DateRange,
    pub purpose: Purpose,
}

/// What applying an answer meant for the account's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// New data was stored.
    Stored,
    /// Not published yet (empty before the cut-off, `is_delay`, 61503): asked again later.
    Pending,
    /// An error that makes this poll round unhealthy (`wechat_mp_up` 0).
    Failed,
    /// The endpoint is gone for this account (47009, or 48001 on a legacy article endpoint); the
    /// published-content endpoints carry on. Not a failure.
    Retired,
}

#[derive(Debug, Default, Clone)]
struct EndpointState {
    /// Day endpoints: the target day fetched. Period endpoints: the period label fetched.
    done: Option<Date>,
    /// Do not call before this instant (retry backoff, quota).
    not_before: Option<Timestamp>,
    /// Never call again (offline / unauthorized legacy endpoint), with the reason label.
    retired: Option<&'static str>,
    latest: Option<DatedReport>,
}

#[derive(Debug, Clone)]
struct WindowEntry {
    report: Report,
    as_of: Date,
}

/// The plan and the latest data of one account.
#[derive(Debug)]
pub struct AccountPlan {
    settings: PlanSettings,
    endpoints: Vec<Endpoint>,
    states: BTreeMap<Endpoint, EndpointState>,
    windows: BTreeMap<Endpoint, BTreeMap<Date, WindowEntry>>,
    errors: BTreeMap<Endpoint, String>,
    quota_blocked: BTreeMap<Endpoint, Timestamp>,
}

impl AccountPlan {
    /// A plan over `endpoints` (getusercumulate is always added: it is the readiness probe).
    pub fn new(settings: PlanSettings, endpoints: impl IntoIterator<Item = Endpoint>) -> Self {
        let mut endpoints: Vec<Endpoint> = endpoints.into_iter().collect();
        endpoints.push(Endpoint::UserCumulate);
        endpoints.sort();
        endpoints.dedup();
        Self {
            settings,
            endpoints,
            states: BTreeMap::new(),
            windows: BTreeMap::new(),
            errors: BTreeMap::new(),
            quota_blocked: BTreeMap::new(),
        }
    }

    /// The latest day whose data may be asked for at `now`.
    pub fn target_day(&self, now: Timestamp) -> Date {
        let today = china_today(now);
        if now >= china_at(today, self.settings.publish_after) {
            add_days(today, -1)
        } else {
            add_days(today, -2)
        }
    }

    fn state(&self, e: Endpoint) -> Option<&EndpointState> {
        self.states.get(&e)
    }

    fn callable(&self, e: Endpoint, now: Timestamp) -> bool {
        self.state(e)
            .is_none_or(|s| s.retired.is_none() && s.not_before.is_none_or(|t| t <= now))
    }

    /// Whether the target day has been published (the probe answered for it).
    pub fn is_ready(&self, target: Date) -> bool {
        self.state(Endpoint::UserCumulate).and_then(|s| s.done) == Some(target)
    }

    /// The requests due at `now`. Only the probe until the target day is published.
    pub fn due(&self, now: Timestamp) -> Vec<Job> {
        let target = self.target_day(now);
        if !self.is_ready(target) {
            let probe = self.state(Endpoint::UserCumulate);
            if self.callable(Endpoint::UserCumulate, now) {
                return vec![Job {
                    endpoint: Endpoint::UserCumulate,
                    range: DateRange::day(target),
                    purpose: Purpose::Probe(target),
                }];
            }
            // A cold start while yesterday is not published yet: rather than show nothing until
            // it is, fetch the day before once (it was published a day ago).
            // (Only when the probe said "not yet": after an error the error is what to show.)
            let cold = probe.is_some_and(|s| s.latest.is_none() && s.not_before.is_some())
                && !self.errors.contains_key(&Endpoint::UserCumulate);
            if cold {
                let day = add_days(target, -1);
                let mut jobs = vec![Job {
                    endpoint: Endpoint::UserCumulate,
                    range: DateRange::day(day),
                    purpose: Purpose::StandIn(day),
                }];
                jobs.extend(self.jobs_for(day, now));
                return jobs;
            }
            return Vec::new();
        }
        self.jobs_for(target, now)
    }

    /// Every request but the probe that `target` needs at `now`.
    fn jobs_for(&self, target: Date, now: Timestamp) -> Vec<Job> {
        let mut jobs = Vec::new();
        for &e in &self.endpoints {
            if e == Endpoint::UserCumulate || !self.callable(e, now) {
                continue;
            }
            if let Some(days) = e.rolling_window_days() {
                for query in window_dates(e, target, days) {
                    let due = match self.windows.get(&e).and_then(|w| w.get(&query)) {
                        None => true,
                        // An empty answer for a send/publish date means nothing was sent that day: final.
                        Some(entry) => !entry.report.is_empty() && entry.as_of < target,
                    };
                    if due {
                        jobs.push(Job {
                            endpoint: e,
                            range: DateRange::day(query),
                            purpose: Purpose::Window {
                                query,
                                as_of: target,
                            },
                        });
                    }
                }
                continue;
            }
            let label = e.period().last_complete(target);
            let purpose = match e.period() {
                Period::Day => Purpose::Day(target),
                Period::Week | Period::Month => Purpose::Period(label),
            };
            if label < e.earliest_date() || self.state(e).and_then(|s| s.done) == Some(label) {
                continue;
            }
            jobs.push(Job {
                endpoint: e,
                range: DateRange::day(label),
                purpose,
            });
        }
        jobs
    }

    /// When the plan next has something to do after `now`.
    pub fn next_wakeup(&self, now: Timestamp) -> Timestamp {
        let today = china_today(now);
        let publish_today = china_at(today, self.settings.publish_after);
        let next_target = if now < publish_today {
            publish_today
        } else {
            china_at(add_days(today, 1), self.settings.publish_after)
        };
        self.states
            .values()
            .filter(|s| s.retired.is_none())
            .filter_map(|s| s.not_before)
            .filter(|&t| t > now)
            .fold(next_target, Timestamp::min)
    }

    /// Applies the answer to `job` received at `now`.
    pub fn apply(&mut self, job: Job, answer: Result<Parsed, Error>, now: Timestamp) -> Outcome {
        match answer {
            Ok(parsed) => self.apply_ok(job, parsed, now),
            Err(err) => self.apply_err(job, &err, now),
        }
    }

    fn apply_ok(&mut self, job: Job, parsed: Parsed, now: Timestamp) -> Outcome {
        let e = job.endpoint;
        self.errors.remove(&e);
        self.quota_blocked.remove(&e);
        if parsed.is_delay == Some(true) {
            return self.pending(e, now);
        }
        let report = parsed.report;
        match job.purpose {
            Purpose::Probe(day) => {
                let Report::UserCumulate(rows) = &report else {
                    return Outcome::Failed;
                };
                if !rows.iter().any(|r| r.ref_date.is_none_or(|d| d == day)) {
                    return self.pending(e, now);
                }
                self.store(e, day, report);
            }
            Purpose::StandIn(day) => {
                // Shown, but it neither marks the target ready nor disturbs the probe's retry.
                self.states.entry(e).or_default().latest = Some(DatedReport { date: day, report });
            }
            Purpose::Day(day) => {
                // An empty list on a published day means "nothing happened" only after the cut-off;
                // before it, some reports are still being computed.
                let cutoff = china_at(china_today(now), self.settings.empty_is_zero_after);
                if report.is_empty() && now < cutoff {
                    return self.pending(e, now);
                }
                self.store(e, day, report);
            }
            Purpose::Period(label) => self.store(e, label, report),
            Purpose::Window { query, as_of } => {
                let state = self.states.entry(e).or_default();
                state.not_before = None;
                let window = self.windows.entry(e).or_default();
                window.insert(query, WindowEntry { report, as_of });
                // Dates that left the window stop changing: forget them, their series disappear.
                let days = e.rolling_window_days().unwrap_or(1);
                let oldest = add_days(as_of, -(i64::from(days) - 1));
                window.retain(|&d, _| d >= oldest);
            }
        }
        Outcome::Stored
    }

    fn store(&mut self, e: Endpoint, date: Date, report: Report) {
        let state = self.states.entry(e).or_default();
        state.done = Some(date);
        state.not_before = None;
        state.latest = Some(DatedReport { date, report });
    }

    fn pending(&mut self, e: Endpoint, now: Timestamp) -> Outcome {
        self.states.entry(e).or_default().not_before = Some(now + self.settings.retry_interval);
        Outcome::Pending
    }

    fn apply_err(&mut self, job: Job, err: &Error, now: Timestamp) -> Outcome {
        let e = job.endpoint;
        let class = err.class();
        let tomorrow = china_at(add_days(china_today(now), 1), Time::midnight());
        let (not_before, outcome) = match class {
            ErrorClass::NotReady => (now + self.settings.retry_interval, Outcome::Pending),
            ErrorClass::Transient => (now + self.settings.retry_interval, Outcome::Failed),
            ErrorClass::Quota => {
                self.quota_blocked.insert(e, tomorrow);
                (tomorrow, Outcome::Failed)
            }
            ErrorClass::Offline => return self.retire(e, "offline", err),
            ErrorClass::Unauthorized if e.is_legacy_article() => {
                return self.retire(e, "unauthorized", err);
            }
            ErrorClass::ClientBug => (tomorrow, Outcome::Failed),
            ErrorClass::Token | ErrorClass::Unauthorized | ErrorClass::Permanent => {
                (now + self.settings.error_retry_interval, Outcome::Failed)
            }
        };
        self.states.entry(e).or_default().not_before = Some(not_before);
        if outcome == Outcome::Failed {
            self.errors.insert(e, err.to_string());
        }
        outcome
    }

    fn retire(&mut self, e: Endpoint, reason: &'static str, err: &Error) -> Outcome {
        tracing::warn!(
            api = e.name(),
            reason,
            error = %err,
            "this legacy article endpoint is gone for the account; no longer calling it, the published-content endpoints (getbizsummary, getarticleread, getarticleshare, getarticletotaldetail) carry on"
        );
        let state = self.states.entry(e).or_default();
        state.retired = Some(reason);
        state.latest = None;
        self.windows.remove(&e);
        self.errors.insert(e, err.to_string());
        Outcome::Retired
    }

    /// The latest data, for the metric mapping.
    pub fn reports(&self) -> AccountReports {
        let mut reports = BTreeMap::new();
        for (&e, state) in &self.states {
            if let Some(latest) = &state.latest {
                reports.insert(e, latest.clone());
            }
        }
        for (&e, window) in &self.windows {
            if let Some(merged) = merge_window(e, window) {
                reports.insert(e, merged);
            }
        }
        AccountReports { reports }
    }

    /// Fills the parts of `status` the plan knows: stopped endpoints and last errors.
    pub fn fill_status(&self, status: &mut AccountStatus, now: Timestamp) {
        status.unavailable.clear();
        for (&e, state) in &self.states {
            if let Some(reason) = state.retired {
                status.unavailable.insert(e, reason.to_string());
            }
        }
        for (&e, &until) in &self.quota_blocked {
            if until > now {
                status.unavailable.insert(e, "quota".to_string());
            }
        }
        status.last_errors = self.errors.clone();
    }
}

/// Send/publish dates whose running totals still change on `target`, oldest first.
fn window_dates(e: Endpoint, target: Date, days: u32) -> impl Iterator<Item = Date> {
    let first = add_days(target, -(i64::from(days) - 1)).max(e.earliest_date());
    DateRange::new(first, target)
        .into_iter()
        .flat_map(|r| r.days())
}

fn merge_window(e: Endpoint, window: &BTreeMap<Date, WindowEntry>) -> Option<DatedReport> {
    let as_of = window.values().map(|w| w.as_of).max()?;
    let report = match e {
        Endpoint::ArticleTotal => Report::ArticleTotal(
            window
                .values()
                .flat_map(|w| match &w.report {
                    Report::ArticleTotal(rows) => rows.clone(),
                    _ => Vec::new(),
                })
                .collect(),
        ),
        Endpoint::ArticleTotalDetail => Report::ArticleTotalDetail(
            window
                .values()
                .flat_map(|w| match &w.report {
                    Report::ArticleTotalDetail(rows) => rows.clone(),
                    _ => Vec::new(),
                })
                .collect(),
        ),
        _ => return None,
    };
    Some(DatedReport {
        date: as_of,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::report::{ArticleTotalRow, UserCumulateRow, UserSummaryRow};
    use jiff::civil::{date, time};

    fn settings() -> PlanSettings {
        PlanSettings {
            publish_after: time(8, 0, 0, 0),
            retry_interval: SignedDuration::from_mins(30),
            empty_is_zero_after: time(12, 0, 0, 0),
            error_retry_interval: SignedDuration::from_hours(1),
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

    /// Answers every due job with a plausible non-empty body (empty for window dates in `quiet`).
    fn answer_all(plan: &mut AccountPlan, now: Timestamp, quiet: &[Date]) -> Vec<Job> {
        let jobs = plan.due(now);
        for &job in &jobs {
            let report = match job.purpose {
                Purpose::Probe(d) => cumulate(d),
                Purpose::Window { query, .. } if quiet.contains(&query) => {
                    Report::empty(job.endpoint)
                }
                Purpose::Window { query, .. } if job.endpoint == Endpoint::ArticleTotal => {
                    article_total(query)
                }
                Purpose::Window { query, .. } => {
                    Report::ArticleTotalDetail(vec![crate::wechat::report::ArticleTotalDetailRow {
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
        let mut status = AccountStatus::default();
        plan.fill_status(&mut status, at(today, 13, 0));
        assert_eq!(
            status
                .unavailable
                .get(&Endpoint::UserSummary)
                .map(String::as_str),
            Some("quota")
        );
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
        let mut status = AccountStatus::default();
        plan.fill_status(&mut status, now);
        assert_eq!(
            status
                .unavailable
                .get(&Endpoint::UserRead)
                .map(String::as_str),
            Some("offline")
        );
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
}
