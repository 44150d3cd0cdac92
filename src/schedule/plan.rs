//! The T+1 plan of one account: which requests are due at an instant, and what each answer means.
//!
//! Rules (docs/datacube-api.md, "Publication"): the target day is yesterday in UTC+8 once `publish_after`
//! has passed (the day before otherwise); getusercumulate for the target day is the readiness probe
//! and nothing else is asked for a day before it answers; every other daily report is fetched once
//! per day; week/month rows once their period has ended; the per-article running totals are
//! re-polled only while they still change (7 / 30 days) and only for dates that had articles.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};

use crate::config::ScheduleSettings;
use crate::latest::{AccountReports, AccountStatus, DatedReport};
use crate::metrics::Exclusions;
use crate::wechat::date::{add_days, china_at, china_today};
use crate::wechat::error::{Error, ErrorClass};
use crate::wechat::{DateRange, Endpoint, Parsed, Period, Report, ReportGroup};

/// The schedule settings the plan needs.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// Yesterday is asked for from this time of day (UTC+8).
    pub publish_after: Time,
    /// How often a day that is not published yet is asked again.
    pub retry_interval: SignedDuration,
    /// After this time (UTC+8) an empty answer on a ready day means zero.
    pub empty_is_zero_after: Time,
    /// How long to wait after an error that needs an operator.
    pub error_retry_interval: SignedDuration,
    /// This account's share of the spread: the day's first probe is at `publish_after` plus
    /// this, so many accounts do not all ask at the same instant ([`probe_offset`]).
    pub probe_offset: SignedDuration,
}

impl From<&ScheduleSettings> for PlanSettings {
    fn from(s: &ScheduleSettings) -> Self {
        Self {
            publish_after: s.publish_after,
            retry_interval: signed(s.retry_interval),
            empty_is_zero_after: s.empty_is_zero_after,
            error_retry_interval: signed(s.error_retry_interval),
            probe_offset: SignedDuration::ZERO,
        }
    }
}

impl PlanSettings {
    /// These settings for the account `app_id`: its first probe of the day spread by
    /// [`probe_offset`].
    pub fn for_account(mut self, app_id: &str) -> Self {
        self.probe_offset = probe_offset(app_id, self.retry_interval);
        self
    }
}

/// Where in [0, `retry_interval`) the account `app_id`'s first readiness probe of the day falls
/// after `publish_after`. Fixed per app_id (a stable hash of it, as `--shard` uses), so a restart
/// does not bunch the accounts again; spread evenly over the interval, so 1000 accounts make
/// about 1000 / interval probes a second rather than 1000 at `publish_after`. An account probes
/// at most once per `retry_interval` either way, so the spread costs no extra calls.
pub fn probe_offset(app_id: &str, retry_interval: SignedDuration) -> SignedDuration {
    let Ok(millis) = u64::try_from(retry_interval.as_millis()) else {
        return SignedDuration::ZERO;
    };
    // Multiply-shift: the mixed hash scaled into [0, millis).
    let offset = (u128::from(crate::shard::mixed_hash(app_id)) * u128::from(millis)) >> 64;
    SignedDuration::from_millis(i64::try_from(offset).unwrap_or(0))
}

/// The endpoints an account's plan calls: those of its `reports` groups with at least one family
/// `[metrics] exclude` keeps (getusercumulate, the readiness probe, is added by the plan anyway).
/// What `backfill` fetches too, so neither spends quota on series nobody keeps.
pub fn endpoints_to_call(reports: &BTreeSet<ReportGroup>, exclude: &Exclusions) -> Vec<Endpoint> {
    Endpoint::ALL
        .into_iter()
        .filter(|e| reports.contains(&e.group()) && exclude.needs(*e))
        .collect()
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
    Window {
        /// The send or publish date asked for.
        query: Date,
        /// The day whose running totals the answer gives.
        as_of: Date,
    },
}

/// One request the plan wants made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Job {
    /// The endpoint to ask.
    pub endpoint: Endpoint,
    /// The days to ask for.
    pub range: DateRange,
    /// Why, and what the answer means.
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

impl WindowEntry {
    /// The entry of one send/publish date, its rows cut to each article's newest running totals
    /// (the only ones the metrics read: `max_by_key(stat_date)` there picks the same item). The
    /// plan asks a window date again in full whenever it still changes, so the older days are
    /// dead weight: they were 80% of a state file, and most of a polled process's rows.
    fn new(report: Report, as_of: Date) -> Self {
        fn newest<T>(items: &mut Vec<T>, date: impl Fn(&T) -> Option<Date>) {
            let newest = (0..items.len()).max_by_key(|&i| date(&items[i]));
            if let Some(i) = newest {
                items.swap(0, i);
                items.truncate(1);
                items.shrink_to_fit();
            }
        }
        let mut report = report;
        match &mut report {
            Report::ArticleTotal(rows) => {
                for r in rows {
                    newest(&mut r.details, |d| d.stat_date);
                }
            }
            Report::ArticleTotalDetail(rows) => {
                for r in rows {
                    newest(&mut r.detail_list, |d| d.stat_date);
                }
            }
            _ => {}
        }
        report.shrink_to_fit();
        Self { report, as_of }
    }
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

    /// When this account starts asking for the day before `day` (UTC+8).
    fn publish_at(&self, day: Date) -> Timestamp {
        china_at(day, self.settings.publish_after) + self.settings.probe_offset
    }

    /// The endpoints the plan still calls (every configured one but those retired).
    pub fn callable_endpoints(&self) -> Vec<Endpoint> {
        self.endpoints
            .iter()
            .copied()
            .filter(|e| self.state(*e).is_none_or(|s| s.retired.is_none()))
            .collect()
    }

    /// The latest day whose data may be asked for at `now`.
    pub fn target_day(&self, now: Timestamp) -> Date {
        let today = china_today(now);
        if now >= self.publish_at(today) {
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
        let publish_today = self.publish_at(today);
        let next_target = if now < publish_today {
            publish_today
        } else {
            self.publish_at(add_days(today, 1))
        };
        self.states
            .values()
            .filter(|s| s.retired.is_none())
            .filter_map(|s| s.not_before)
            .filter(|&t| t > now)
            .fold(next_target, Timestamp::min)
    }

    /// When the plan next asks WeChat after `now`, and why (the status page's "next poll").
    pub fn next_poll(&self, now: Timestamp) -> (Timestamp, String) {
        let at = self.next_wakeup(now);
        let target = self.target_day(now);
        // The endpoint whose backoff or quota wakes the plan, if one does.
        let waker = self
            .states
            .iter()
            .filter(|(_, s)| s.retired.is_none() && s.not_before == Some(at))
            .map(|(&e, _)| e)
            .next();
        let why = match waker {
            Some(e) if self.quota_blocked.get(&e).is_some_and(|&t| t > now) => {
                format!(
                    "{}'s daily quota is used up until the next UTC+8 day",
                    e.name()
                )
            }
            Some(e) if self.errors.contains_key(&e) => {
                format!("backing off after an error of {}", e.name())
            }
            Some(Endpoint::UserCumulate) if !self.is_ready(target) => {
                format!("waiting for WeChat to publish {target}")
            }
            Some(e) => format!("asking {} again", e.name()),
            None => format!(
                "the next day is published after {} UTC+8 (T+1)",
                self.settings.publish_after.strftime("%H:%M")
            ),
        };
        (at, why)
    }

    /// The day WeChat has not published yet, while the plan waits for it without an error.
    pub fn waiting_for(&self, now: Timestamp) -> Option<Date> {
        let target = self.target_day(now);
        (!self.is_ready(target) && !self.errors.contains_key(&Endpoint::UserCumulate))
            .then_some(target)
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
        self.lift(e, now);
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
                let window = self.windows.entry(e).or_default();
                window.insert(query, WindowEntry::new(report, as_of));
                // Dates that left the window stop changing: forget them, their series disappear.
                let days = e.rolling_window_days().unwrap_or(1);
                let oldest = add_days(as_of, -(i64::from(days) - 1));
                window.retain(|&d, _| d >= oldest);
            }
        }
        Outcome::Stored
    }

    fn store(&mut self, e: Endpoint, date: Date, mut report: Report) {
        report.shrink_to_fit();
        let state = self.states.entry(e).or_default();
        state.done = Some(date);
        state.latest = Some(DatedReport { date, report });
    }

    /// A success ends `e`'s backoff, error and quota stop, unless a stop is still ahead of `now`.
    /// An endpoint is only asked once its stop has passed, so a stop still ahead was set by
    /// another answer of the same round that came back first (a 45009 for another date): this
    /// request was sent before it and says nothing about it.
    fn lift(&mut self, e: Endpoint, now: Timestamp) {
        let state = self.states.entry(e).or_default();
        if state.not_before.is_some_and(|t| t > now) {
            return;
        }
        state.not_before = None;
        self.errors.remove(&e);
        self.quota_blocked.remove(&e);
    }

    /// Stops asking `e` until `until`, or later if another answer of the round stopped it longer
    /// (answers come back in any order). True if this stop is the one that holds.
    fn stop_until(&mut self, e: Endpoint, until: Timestamp, now: Timestamp) -> bool {
        let state = self.states.entry(e).or_default();
        match state.not_before.filter(|&t| t > now) {
            Some(held) if held > until => false,
            _ => {
                state.not_before = Some(until);
                true
            }
        }
    }

    fn pending(&mut self, e: Endpoint, now: Timestamp) -> Outcome {
        self.stop_until(e, now + self.settings.retry_interval, now);
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
        if self.stop_until(e, not_before, now) && outcome == Outcome::Failed {
            self.errors.insert(e, err.to_string());
        }
        outcome
    }

    /// Stops calling `e` (the poller logs it, naming the account).
    fn retire(&mut self, e: Endpoint, reason: &'static str, err: &Error) -> Outcome {
        let state = self.states.entry(e).or_default();
        state.retired = Some(reason);
        state.latest = None;
        self.windows.remove(&e);
        self.errors.insert(e, err.to_string());
        Outcome::Retired
    }

    /// The latest data, for the metric mapping.
    pub fn reports(&self) -> AccountReports {
        self.collect_reports(true)
    }

    /// [`AccountPlan::reports`] with each per-article window's rows left out (its date kept):
    /// all the status page's view reads, which is built after every round of every account and
    /// would otherwise copy every article's running totals each time.
    pub fn report_dates(&self) -> AccountReports {
        self.collect_reports(false)
    }

    fn collect_reports(&self, window_rows: bool) -> AccountReports {
        let mut reports = BTreeMap::new();
        for (&e, state) in &self.states {
            if let Some(latest) = &state.latest {
                reports.insert(e, latest.clone());
            }
        }
        for (&e, window) in &self.windows {
            if let Some(merged) = merge_window(e, window, window_rows) {
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

/// One report of every date of `window`, dated its newest `as_of`; without `rows`, empty.
fn merge_window(
    e: Endpoint,
    window: &BTreeMap<Date, WindowEntry>,
    rows: bool,
) -> Option<DatedReport> {
    let as_of = window.values().map(|w| w.as_of).max()?;
    let report = match e {
        Endpoint::ArticleTotal => Report::ArticleTotal(
            window
                .values()
                .flat_map(|w| match &w.report {
                    Report::ArticleTotal(r) if rows => r.clone(),
                    _ => Vec::new(),
                })
                .collect(),
        ),
        Endpoint::ArticleTotalDetail => Report::ArticleTotalDetail(
            window
                .values()
                .flat_map(|w| match &w.report {
                    Report::ArticleTotalDetail(r) if rows => r.clone(),
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

mod persist;

#[cfg(test)]
mod tests;
