//! `backfill`: fetches past days of every account and writes them as OpenMetrics text with explicit
//! timestamps, for `promtool tsdb create-blocks-from openmetrics`.
//!
//! The values go through the live mapping (`metrics::map_account`) one China day at a time, so the
//! names and labels are exactly the ones `/metrics` serves; each sample is stamped with 00:00 UTC+8
//! of the day it describes, in seconds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt as _;
use jiff::civil::Date;

use crate::app;
use crate::clock::SharedClock;
use crate::config::{Config, TokenSourceConfig};
use crate::metrics::text::{self, Format};
use crate::metrics::{self, MetricKind, Sample, Value};
use crate::reports::{AccountReports, AccountStatus, DatedReport};
use crate::wechat::date::{add_days, china_midnight, china_today};
use crate::wechat::error::{Error, ErrorClass};
use crate::wechat::transport::{NoopObserver, try_http_client};
use crate::wechat::{DateRange, Endpoint, Period, Report};

/// What to backfill: every day in `[from, to]` (China days), written to `output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub from: Date,
    pub to: Date,
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

/// One sample with its timestamp (Unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct TimedSample {
    pub sample: Sample,
    pub timestamp: i64,
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
            metrics::map_account(account, &reports, &status, max_articles)
                .into_iter()
                .filter(|s| is_business_metric(s.name))
                .map(|sample| TimedSample { sample, timestamp }),
        );
    }
    out
}

type Labels = Vec<(&'static str, String)>;

/// The OpenMetrics text and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub text: String,
    pub series: usize,
    pub samples: usize,
}

/// Encodes samples as OpenMetrics text: families sorted by name with HELP and TYPE once, each
/// series' samples together and in timestamp order (promtool drops out-of-order samples within a
/// block window), timestamps in seconds, LF endings, `# EOF` last. For a series with two samples
/// at one timestamp the first is kept.
pub fn encode(samples: Vec<TimedSample>) -> Encoded {
    let mut families: BTreeMap<&'static str, BTreeMap<Labels, BTreeMap<i64, Value>>> =
        BTreeMap::new();
    for TimedSample { sample, timestamp } in samples {
        families
            .entry(sample.name)
            .or_default()
            .entry(sample.labels)
            .or_default()
            .entry(timestamp)
            .or_insert(sample.value);
    }
    let mut out = String::new();
    let (mut series, mut written) = (0, 0);
    for (name, family) in &families {
        let info = metrics::lookup(name);
        let kind = info.map_or(MetricKind::Gauge, |m| m.kind);
        let family_name = match kind {
            MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
            MetricKind::Gauge => name,
        };
        let _ = write!(out, "# HELP {family_name} ");
        text::escape_help(info.map_or("", |m| m.help), Format::OpenMetrics, &mut out);
        let _ = writeln!(out, "\n# TYPE {family_name} {}", kind.as_str());
        for (labels, points) in family {
            series += 1;
            let mut head = String::from(*name);
            if !labels.is_empty() {
                head.push('{');
                for (i, (k, v)) in labels.iter().enumerate() {
                    if i > 0 {
                        head.push(',');
                    }
                    head.push_str(k);
                    head.push_str("=\"");
                    text::escape_label_value(v, &mut head);
                    head.push('"');
                }
                head.push('}');
            }
            for (timestamp, value) in points {
                written += 1;
                out.push_str(&head);
                out.push(' ');
                text::write_value(*value, &mut out);
                let _ = writeln!(out, " {timestamp}");
            }
        }
    }
    out.push_str("# EOF\n");
    Encoded {
        text: out,
        series,
        samples: written,
    }
}

/// Writes `body` to a temporary file beside `path`, syncs it and renames it over `path`, so a
/// reader never sees half a file.
pub fn write_atomically(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(body)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// One account's endpoint and the ranges to fetch it over.
struct Job {
    account: usize,
    endpoint: Endpoint,
    ranges: Vec<DateRange>,
}

/// Fetches every account's reports over the request's range, with at most
/// `wechat.concurrency` requests in flight, and writes the OpenMetrics file. Failing reports are
/// logged and skipped; it is an error only when the range is refused or nothing could be fetched.
pub async fn run(
    config: &Config,
    request: &Request,
    clock: SharedClock,
) -> anyhow::Result<Summary> {
    let today = china_today(clock.now());
    let range = check_range(request.from, request.to, today).map_err(anyhow::Error::msg)?;
    let http = try_http_client(config.wechat.timeout)
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
    let mut clients = Vec::with_capacity(config.accounts.len());
    let mut caches = Vec::with_capacity(config.accounts.len());
    for account in &config.accounts {
        if matches!(account.token, TokenSourceConfig::Classic) {
            tracing::warn!(
                account = %account.name,
                "classic token source: fetching a token here invalidates the one a running exporter holds"
            );
        }
        let (tokens, client) =
            app::account_client(config, account, &http, &clock, Arc::new(NoopObserver))?;
        caches.push(tokens);
        clients.push(client);
    }

    // One token per account first: a wrong secret or a missing whitelist entry then costs one
    // log line and one call, not one per report. Transient failures are left to the client's
    // retries.
    let caches = &caches;
    let tokens: Vec<(usize, Result<(), Error>)> = futures::stream::iter(0..caches.len())
        .map(|i| async move { (i, caches[i].get().await.map(|_| ())) })
        .buffer_unordered(config.wechat.concurrency.max(1))
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
        for endpoint in Endpoint::ALL {
            if !account.reports.contains(&endpoint.group()) {
                continue;
            }
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

    // Each job's requests run one after another, so `concurrency` jobs at once bound the
    // requests in flight.
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
        .buffer_unordered(config.wechat.concurrency.max(1))
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
    for (account, reports) in config.accounts.iter().zip(per_account) {
        samples.extend(account_samples(
            &account.name,
            reports,
            range,
            config.metrics.max_articles_per_account,
        ));
    }
    let encoded = encode(samples);
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
mod tests {
    use super::*;
    use crate::wechat::report::{
        ArticleTotalDetail, ArticleTotalRow, UpstreamMsgRow, UserCumulateRow, UserSummaryRow,
    };
    use jiff::civil::date;

    fn range(a: Date, b: Date) -> DateRange {
        DateRange::new(a, b).unwrap()
    }

    #[test]
    fn the_range_must_end_before_today() {
        let today = date(2026, 11, 25);
        assert_eq!(
            check_range(date(2026, 11, 1), date(2026, 11, 24), today),
            Ok(range(date(2026, 11, 1), date(2026, 11, 24)))
        );
        let err = check_range(date(2026, 11, 1), date(2026, 11, 25), today).unwrap_err();
        assert!(err.contains("--to 2026-11-25 is not before today"), "{err}");
        assert!(err.contains("yesterday (2026-11-24)"), "{err}");
        let err = check_range(date(2026, 11, 5), date(2026, 11, 4), today).unwrap_err();
        assert_eq!(err, "--from 2026-11-05 is after --to 2026-11-04");
        let err = check_range(date(-9999, 1, 1), date(2026, 11, 4), today).unwrap_err();
        assert_eq!(
            err,
            "--from -009999-01-01 is before 2014-12-01, the first day WeChat keeps any report for"
        );
    }

    #[test]
    fn fetch_ranges_per_kind_of_endpoint() {
        let today = date(2026, 11, 25);
        let r = range(date(2026, 11, 14), date(2026, 11, 23));
        // Daily: the whole range once (the client splits it by span).
        assert_eq!(fetch_ranges(Endpoint::UserSummary, r, today), vec![r]);
        // Windows: the send/publish dates whose running totals reach into the range.
        assert_eq!(
            fetch_ranges(Endpoint::ArticleTotal, r, today),
            vec![range(date(2026, 11, 8), date(2026, 11, 23))]
        );
        assert_eq!(
            fetch_ranges(Endpoint::ArticleTotalDetail, r, today),
            vec![range(date(2026, 10, 16), date(2026, 11, 23))]
        );
        // Weeks: Mondays 16th and 23rd are in range; the week of the 23rd has not ended.
        assert_eq!(
            fetch_ranges(Endpoint::UpstreamMsgWeek, r, today),
            vec![DateRange::day(date(2026, 11, 16))]
        );
        assert_eq!(fetch_ranges(Endpoint::UpstreamMsgMonth, r, today), vec![]);
        let months = range(date(2026, 9, 20), date(2026, 11, 3));
        assert_eq!(
            fetch_ranges(Endpoint::UpstreamMsgDistMonth, months, today),
            vec![
                DateRange::day(date(2026, 10, 1)),
                // November has not ended.
            ]
        );
        // Nothing before the day WeChat keeps data from.
        let early = range(date(2025, 10, 20), date(2025, 11, 3));
        assert_eq!(
            fetch_ranges(Endpoint::BizSummary, early, today),
            vec![range(date(2025, 11, 1), date(2025, 11, 3))]
        );
        let too_early = range(date(2025, 10, 1), date(2025, 10, 5));
        assert_eq!(
            fetch_ranges(Endpoint::ArticleRead, too_early, today),
            vec![]
        );
    }

    fn total_row(msgid: &str, sent: Date, stats: &[(Date, u64)]) -> ArticleTotalRow {
        ArticleTotalRow {
            ref_date: Some(sent),
            msgid: Some(msgid.into()),
            title: Some(format!("title {msgid}")),
            details: stats
                .iter()
                .map(|(d, reads)| ArticleTotalDetail {
                    stat_date: Some(*d),
                    target_user: Some(1000),
                    counters: crate::wechat::report::ArticleCounters {
                        int_page_read_user: Some(*reads),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn windows_split_by_stat_date_keeping_one_total_per_article() {
        let (d1, d2, d3) = (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3));
        let report = Report::ArticleTotal(vec![
            total_row("1_1", d1, &[(d1, 10), (d2, 25), (d3, 30)]),
            total_row("2_1", d2, &[(d2, 7), (d3, 9)]),
        ]);
        let (days, undated) = report.split_by_day();
        assert_eq!(undated, 0);
        assert_eq!(days.keys().copied().collect::<Vec<_>>(), vec![d1, d2, d3]);
        let Report::ArticleTotal(on_d2) = &days[&d2] else {
            panic!("wrong variant")
        };
        let got: Vec<_> = on_d2
            .iter()
            .map(|r| {
                (
                    r.msgid.clone().unwrap(),
                    r.ref_date.unwrap(),
                    r.details.len(),
                    r.details[0].counters.int_page_read_user,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("1_1".into(), d1, 1, Some(25)),
                ("2_1".into(), d2, 1, Some(7))
            ]
        );
    }

    #[test]
    fn daily_rows_split_by_ref_date_and_undated_rows_are_counted() {
        let (d1, d2) = (date(2026, 11, 1), date(2026, 11, 2));
        let row = |d: Option<Date>, n| UserCumulateRow {
            ref_date: d,
            cumulate_user: Some(n),
            user_source: Some(0),
        };
        let (days, undated) =
            Report::UserCumulate(vec![row(Some(d1), 100), row(Some(d2), 105), row(None, 7)])
                .split_by_day();
        assert_eq!(undated, 1);
        assert_eq!(days[&d1], Report::UserCumulate(vec![row(Some(d1), 100)]));
        assert_eq!(days[&d2], Report::UserCumulate(vec![row(Some(d2), 105)]));
    }

    fn find<'a>(
        samples: &'a [TimedSample],
        name: &str,
        labels: &[(&str, &str)],
    ) -> Vec<(i64, &'a Value)> {
        samples
            .iter()
            .filter(|s| {
                s.sample.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.sample.labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| (s.timestamp, &s.sample.value))
            .collect()
    }

    #[test]
    fn each_day_is_mapped_alone_and_stamped_at_china_midnight() {
        let (d1, d2, d3) = (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3));
        let mut reports = BTreeMap::new();
        reports.insert(
            Endpoint::UserCumulate,
            Report::UserCumulate(
                [(d1, 100), (d2, 105), (d3, 111)]
                    .iter()
                    .map(|(d, n)| UserCumulateRow {
                        ref_date: Some(*d),
                        cumulate_user: Some(*n),
                        user_source: Some(0),
                    })
                    .collect(),
            ),
        );
        reports.insert(
            Endpoint::UserSummary,
            Report::UserSummary(vec![UserSummaryRow {
                ref_date: Some(d2),
                user_source: Some(30),
                new_user: Some(6),
                cancel_user: Some(1),
            }]),
        );
        // A week row labelled with a Monday outside the range is left out.
        reports.insert(
            Endpoint::UpstreamMsgWeek,
            Report::UpstreamMsgWeek(vec![UpstreamMsgRow {
                ref_date: Some(date(2026, 10, 26)),
                msg_type: Some(1),
                msg_user: Some(3),
                msg_count: Some(4),
            }]),
        );
        // Window totals: the one on d1 is inside the range, the one on d3 is not.
        reports.insert(
            Endpoint::ArticleTotal,
            Report::ArticleTotal(vec![total_row(
                "9_1",
                date(2026, 10, 31),
                &[(d1, 40), (d3, 60)],
            )]),
        );
        let samples = account_samples("brand", reports, range(d1, d2), 200);
        // 2026-11-01 00:00 UTC+8 = 2026-10-31T16:00:00Z.
        let t1 = 1_793_462_400;
        assert_eq!(china_midnight(d1).as_second(), t1);
        let t2 = t1 + 86_400;
        assert_eq!(
            find(&samples, "wechat_mp_followers", &[("account", "brand")]),
            vec![(t1, &Value::Int(100)), (t2, &Value::Int(105))]
        );
        assert_eq!(
            find(
                &samples,
                "wechat_mp_followers_new",
                &[("source", "qr_code")]
            ),
            vec![(t2, &Value::Int(6))]
        );
        assert_eq!(
            find(
                &samples,
                "wechat_mp_massmsg_target_users",
                &[("msgid", "9_1")]
            ),
            vec![(t1, &Value::Int(1000))]
        );
        assert!(find(&samples, "wechat_mp_upstream_messages", &[]).is_empty());
        // No self-metrics: they describe a running exporter.
        for s in &samples {
            assert!(
                !matches!(
                    s.sample.name,
                    "wechat_mp_up"
                        | "wechat_mp_data_date_seconds"
                        | "wechat_mp_article_series_dropped"
                ),
                "{}",
                s.sample.name
            );
            assert!(s.timestamp == t1 || s.timestamp == t2);
        }
    }

    fn timed(
        name: &'static str,
        labels: &[(&'static str, &str)],
        v: Value,
        ts: i64,
    ) -> TimedSample {
        TimedSample {
            sample: Sample {
                name,
                labels: labels.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                value: v,
            },
            timestamp: ts,
        }
    }

    #[test]
    fn encoding_sorts_each_series_by_time_and_ends_with_eof() {
        let encoded = encode(vec![
            timed(
                "wechat_mp_followers",
                &[("account", "b")],
                Value::Int(7),
                200,
            ),
            timed(
                "wechat_mp_followers",
                &[("account", "a")],
                Value::Int(2),
                200,
            ),
            timed(
                "wechat_mp_callback_time_cost_seconds",
                &[("account", "a")],
                Value::Float(1.5),
                100,
            ),
            timed(
                "wechat_mp_followers",
                &[("account", "a")],
                Value::Int(1),
                100,
            ),
            // Same series and time twice: the first is kept.
            timed(
                "wechat_mp_followers",
                &[("account", "a")],
                Value::Int(99),
                100,
            ),
            timed(
                "wechat_mp_massmsg_reads",
                &[
                    ("account", "a"),
                    ("msgid", "1_1"),
                    ("title", "a \"b\" \\ c\nd"),
                    ("source", "all"),
                ],
                Value::Int(3),
                100,
            ),
        ]);
        assert_eq!(encoded.series, 4);
        assert_eq!(encoded.samples, 5);
        let help = |name: &str| {
            metrics::lookup(name)
                .unwrap()
                .help
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        };
        let expected = format!(
            "# HELP wechat_mp_callback_time_cost_seconds {}\n\
             # TYPE wechat_mp_callback_time_cost_seconds gauge\n\
             wechat_mp_callback_time_cost_seconds{{account=\"a\"}} 1.5 100\n\
             # HELP wechat_mp_followers {}\n\
             # TYPE wechat_mp_followers gauge\n\
             wechat_mp_followers{{account=\"a\"}} 1 100\n\
             wechat_mp_followers{{account=\"a\"}} 2 200\n\
             wechat_mp_followers{{account=\"b\"}} 7 200\n\
             # HELP wechat_mp_massmsg_reads {}\n\
             # TYPE wechat_mp_massmsg_reads gauge\n\
             wechat_mp_massmsg_reads{{account=\"a\",msgid=\"1_1\",title=\"a \\\"b\\\" \\\\ c\\nd\",source=\"all\"}} 3 100\n\
             # EOF\n",
            help("wechat_mp_callback_time_cost_seconds"),
            help("wechat_mp_followers"),
            help("wechat_mp_massmsg_reads"),
        );
        assert_eq!(encoded.text, expected);
        assert!(!encoded.text.contains('\r'));
    }

    #[test]
    fn writes_atomically_without_leaving_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.om");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new\n# EOF\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n# EOF\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["out.om".to_string()]);
        let err = write_atomically(&dir.path().join("missing/out.om"), b"x").unwrap_err();
        assert!(format!("{err:#}").contains("cannot write"), "{err:#}");
    }
}
