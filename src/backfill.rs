//! `backfill`: fetches past days of every account and writes them as OpenMetrics text with explicit
//! timestamps, for `promtool tsdb create-blocks-from openmetrics`.
//!
//! The values go through the live mapping (`metrics::map_account_excluding`, with `[metrics]
//! exclude`) one China day at a time, so the names and labels are exactly the ones `/metrics`
//! serves and an excluded family is neither fetched nor written; each sample is stamped with
//! 00:00 UTC+8 of the day it describes, in seconds.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt as _;
use jiff::civil::Date;

use crate::app::Runtime;
use crate::clock::SharedClock;
use crate::config::{Config, MAX_IN_FLIGHT, TokenSourceConfig};
use crate::latest::{AccountReports, AccountStatus, DatedReport};
use crate::metrics;
use crate::metrics::timestamped::{self, TimedSample};
use crate::wechat::date::{add_days, china_midnight, china_today};
use crate::wechat::error::{Error, ErrorClass};
use crate::wechat::transport::NoopObserver;
use crate::wechat::{DateRange, Endpoint, Period, Report};

/// What to backfill: every day in `[from, to]` (China days), written to `output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The first China day to write.
    pub from: Date,
    /// The last China day to write (before today).
    pub to: Date,
    /// Where the OpenMetrics text goes.
    pub output: PathBuf,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// (account, endpoint) reports fetched.
    pub fetched: usize,
    /// (account, endpoint) reports that failed and were skipped.
    pub failed: usize,
    /// Distinct series written.
    pub series: usize,
    /// Samples written.
    pub samples: usize,
}

/// The range to backfill, or why not: `from <= to < today` (UTC+8), since WeChat only serves past
/// days, and `from` no earlier than WeChat keeps data.
pub fn check_range(from: Date, to: Date, today: Date) -> Result<DateRange, String> {
    if from > to {
        return Err(format!("--from {from} is after --to {to}"));
    }
    let earliest = Endpoint::ALL
        .into_iter()
        .map(Endpoint::earliest_date)
        .min()
        .unwrap_or(from);
    if from < earliest {
        return Err(format!(
            "--from {from} is before {earliest}, the first day WeChat keeps any report for"
        ));
    }
    if to >= today {
        return Err(format!(
            "--to {to} is not before today ({today}, UTC+8): WeChat only serves complete past \
             days, so the range must end yesterday ({}) at the latest",
            add_days(today, -1)
        ));
    }
    Ok(DateRange {
        begin: from,
        end: to,
    })
}

/// The ranges one endpoint is fetched over to cover `range` (each handed to `fetch_range`, which
/// splits it by the endpoint's span); empty when WeChat keeps nothing for it.
pub fn fetch_ranges(endpoint: Endpoint, range: DateRange, today: Date) -> Vec<DateRange> {
    let earliest = endpoint.earliest_date();
    if let Some(window) = endpoint.rolling_window_days() {
        // The query date is the send/publish date and its rows carry running totals for the
        // following days: articles sent up to window-1 days before `from` still have a total on it.
        let begin = add_days(range.begin, -i64::from(window - 1)).max(earliest);
        return DateRange::new(begin, range.end).into_iter().collect();
    }
    match endpoint.period() {
        Period::Day => DateRange::new(range.begin.max(earliest), range.end)
            .into_iter()
            .collect(),
        // One request per period: its label date (Monday / the 1st) inside the range, once the
        // whole period is past.
        period @ (Period::Week | Period::Month) => range
            .days()
            .filter(|d| period.label(*d) == *d && *d >= earliest && period.range(*d).end < today)
            .map(DateRange::day)
            .collect(),
    }
}

/// Only the business metrics: the exporter's own (up, data date, call counters, dropped-series
/// counts...) describe a running exporter, not the past.
fn is_business_metric(name: &str) -> bool {
    metrics::lookup(name).is_some_and(|m| !m.endpoint.is_empty())
}

/// The samples of one account from its fetched reports: each day in `range` mapped on its own
/// with the live mapping and stamped with that day's 00:00 UTC+8.
pub fn account_samples(
    account: &str,
    reports: BTreeMap<Endpoint, Report>,
    range: DateRange,
    max_articles: usize,
    exclude: &Arc<metrics::Exclusions>,
) -> Vec<TimedSample> {
    let mut days: BTreeMap<Date, AccountReports> = BTreeMap::new();
    for (endpoint, report) in reports {
        let (by_day, undated) = report.split_by_day();
        if undated > 0 {
            tracing::warn!(
                account,
                api = endpoint.name(),
                rows = undated,
                "rows without a date left out"
            );
        }
        for (day, report) in by_day {
            // Window rows carry totals for days after `to`; the extra fetched days before `from`
            // only serve the windows.
            if day < range.begin || day > range.end {
                continue;
            }
            days.entry(day)
                .or_default()
                .reports
                .insert(endpoint, DatedReport { date: day, report });
        }
    }
    let status = AccountStatus::default();
    let mut out = Vec::new();
    for (day, reports) in days {
        let timestamp = china_midnight(day).as_second();
        out.extend(
            metrics::map_account_excluding(
                account,
                &reports,
                &status,
                max_articles,
                exclude.clone(),
            )
            .into_iter()
            .filter(|s| is_business_metric(s.name))
            .map(|sample| TimedSample { sample, timestamp }),
        );
    }
    out
}

/// Writes `body` to a temporary file beside `path`, syncs it and renames it over `path`, so a
/// reader never sees half a file.
pub fn write_atomically(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let result = (|| -> std::io::Result<()> {
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(body)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// One account's endpoint and the ranges to fetch it over.
struct Job {
    account: usize,
    endpoint: Endpoint,
    ranges: Vec<DateRange>,
}

/// Fetches every account's reports over the request's range, with at most `wechat.concurrency`
/// requests in flight (the runtime's pace bounds them), and writes the OpenMetrics file. Failing
/// reports are logged and skipped; it is an error only when the range is refused or nothing
/// could be fetched.
pub async fn run(
    config: &Config,
    request: &Request,
    clock: SharedClock,
) -> anyhow::Result<Summary> {
    let today = china_today(clock.now());
    let range = check_range(request.from, request.to, today).map_err(anyhow::Error::msg)?;
    // The runtime `serve` uses, without a state directory: its HTTP client keeps the rate limit.
    let runtime = Runtime::new(config, clock.clone(), None, None)?;
    let mut clients = Vec::with_capacity(config.accounts.len());
    let mut caches = Vec::with_capacity(config.accounts.len());
    for account in &config.accounts {
        if matches!(account.token, TokenSourceConfig::Classic) {
            tracing::warn!(
                account = %account.name,
                "classic token source: fetching a token here invalidates the one a running exporter holds"
            );
        }
        let (tokens, client) = runtime.account_client(config, account, Arc::new(NoopObserver))?;
        caches.push(tokens);
        clients.push(client);
    }

    // One token per account first: a wrong secret or a missing whitelist entry then costs one
    // log line and one call, not one per report. Transient failures are left to the client's
    // retries.
    let caches = &caches;
    let tokens: Vec<(usize, Result<(), Error>)> = futures::stream::iter(0..caches.len())
        .map(|i| async move { (i, caches[i].get().await.map(|_| ())) })
        .buffer_unordered(MAX_IN_FLIGHT)
        .collect()
        .await;
    let mut no_token = vec![false; config.accounts.len()];
    for (i, result) in tokens {
        if let Err(e) = result
            && e.class() != ErrorClass::Transient
        {
            tracing::warn!(account = %config.accounts[i].name, error = %e, "account skipped: no access token");
            no_token[i] = true;
        }
    }

    let mut summary = Summary::default();
    let mut jobs = Vec::new();
    for (i, account) in config.accounts.iter().enumerate() {
        for endpoint in
            crate::schedule::endpoints_to_call(&account.reports, &config.metrics.exclude)
        {
            let ranges = fetch_ranges(endpoint, range, today);
            if ranges.is_empty() {
                continue;
            }
            if no_token[i] {
                summary.failed += 1;
                continue;
            }
            jobs.push(Job {
                account: i,
                endpoint,
                ranges,
            });
        }
    }
    tracing::info!(
        %range,
        accounts = config.accounts.len(),
        reports = jobs.len(),
        output = %request.output.display(),
        "backfill started"
    );

    // Jobs wait for their turns in the runtime's pace, which bounds the requests in flight.
    let clients = &clients;
    let answers: Vec<(usize, Endpoint, Result<Report, Error>)> = futures::stream::iter(jobs)
        .map(|job| async move {
            let client = &clients[job.account];
            let mut merged: Option<Report> = None;
            for part in &job.ranges {
                let parsed = match client.fetch_range(job.endpoint, *part).await {
                    Ok(parsed) => parsed,
                    Err(e) => return (job.account, job.endpoint, Err(e)),
                };
                if parsed.is_delay == Some(true) {
                    // Kept (it is all WeChat has), but said: re-running these days later would
                    // overlap blocks already stored.
                    tracing::warn!(
                        account = %config.accounts[job.account].name,
                        api = job.endpoint.name(),
                        range = %part,
                        "WeChat marks this data as delayed (not final yet)"
                    );
                }
                match &mut merged {
                    None => merged = Some(parsed.report),
                    // Same endpoint, so the variants always match.
                    Some(m) => {
                        let _ = m.extend(parsed.report);
                    }
                }
            }
            let report = merged.unwrap_or_else(|| Report::empty(job.endpoint));
            // Logged as each report completes: the progress of a long run.
            tracing::info!(
                account = %config.accounts[job.account].name,
                api = job.endpoint.name(),
                rows = report.len(),
                "report fetched"
            );
            (job.account, job.endpoint, Ok(report))
        })
        .buffer_unordered(MAX_IN_FLIGHT)
        .collect()
        .await;

    let mut per_account: Vec<BTreeMap<Endpoint, Report>> =
        vec![BTreeMap::new(); config.accounts.len()];
    for (i, endpoint, answer) in answers {
        let name = &config.accounts[i].name;
        match answer {
            Ok(report) => {
                summary.fetched += 1;
                per_account[i].insert(endpoint, report);
            }
            Err(e) => {
                summary.failed += 1;
                // The error's text carries the errcode's meaning and never the token.
                tracing::warn!(account = %name, api = endpoint.name(), error = %e, "report skipped");
            }
        }
    }
    if summary.fetched == 0 {
        anyhow::bail!(
            "nothing could be fetched for {range} ({} report(s) failed; see the log); {} not written",
            summary.failed,
            request.output.display()
        );
    }
    let mut samples = Vec::new();
    let exclude = Arc::new(config.metrics.exclude.clone());
    for (account, reports) in config.accounts.iter().zip(per_account) {
        samples.extend(account_samples(
            &account.name,
            reports,
            range,
            config.metrics.max_articles_per_account,
            &exclude,
        ));
    }
    let encoded = timestamped::encode_timestamped(samples);
    summary.series = encoded.series;
    summary.samples = encoded.samples;
    write_atomically(&request.output, encoded.text.as_bytes())?;
    tracing::info!(
        output = %request.output.display(),
        fetched = summary.fetched,
        failed = summary.failed,
        series = summary.series,
        samples = summary.samples,
        "backfill written"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests;
