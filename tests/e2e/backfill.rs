//! `backfill` end to end against the in-process simulator on 127.0.0.1: the file's shape, its values
//! against the simulator's, the number of upstream calls, promtool turning it into TSDB blocks, and
//! the refusals.

use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::{Date, Time, date};
use secrecy::SecretString;
use wechat_mp_exporter::backfill::{self, Request, Summary};
use wechat_mp_exporter::clock::{ManualClock, SharedClock};
use wechat_mp_exporter::config::Config;
use wechat_mp_exporter::wechat::date::{add_days, china_midnight};
use wechat_mp_exporter::wechat::{DateRange, Endpoint, Report};

use crate::support::checks::run_promtool;
use crate::support::{Stack, Timed, parse_timestamped, sim_config, stack};

const FROM: Date = date(2026, 11, 14);
const TO: Date = date(2026, 11, 23);

/// 12:00 UTC+8 on 2026-11-25: the 24th is published (the simulator publishes at 09:00).
fn clock() -> Arc<ManualClock> {
    let now: Timestamp = "2026-11-25T04:00:00Z".parse().unwrap();
    Arc::new(ManualClock::new(now))
}

async fn setup(clock: &Arc<ManualClock>) -> Stack {
    let shared: SharedClock = clock.clone();
    stack(sim_config(Time::constant(9, 0, 0, 0)), shared, |_| {}).await
}

async fn run(config: &Config, clock: &Arc<ManualClock>, output: &Path) -> anyhow::Result<Summary> {
    let request = Request {
        from: FROM,
        to: TO,
        output: output.to_path_buf(),
    };
    backfill::run(config, &request, clock.clone()).await
}

fn secs(day: Date) -> i64 {
    china_midnight(day).as_second()
}

/// The value of the one sample of `name` at `day` whose labels include `labels`.
fn at(samples: &[Timed], name: &str, labels: &[(&str, &str)], day: Date) -> Option<f64> {
    let found: Vec<f64> = samples
        .iter()
        .filter(|t| t.sample.name == name && t.timestamp == Some(secs(day)))
        .filter(|t| labels.iter().all(|(k, v)| t.sample.label(k) == Some(v)))
        .map(|t| t.sample.value)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} {day}: {found:?}");
    found.first().copied()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_days_of_three_accounts_hold_the_simulators_values_at_china_midnights() {
    let clock = clock();
    let stack = setup(&clock).await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("history.om");
    let summary = run(&stack.config, &clock, &output)
        .await
        .expect("backfill runs");
    assert_eq!(stack.config.accounts.len(), 3);
    assert_eq!(summary.failed, 0);
    assert_eq!(
        summary.fetched,
        3 * 19,
        "21 endpoints minus the two monthly ones"
    );

    let body = std::fs::read_to_string(&output).unwrap();
    assert!(body.ends_with("\n# EOF\n"), "ends with # EOF");
    assert!(!body.contains('\r'));
    assert_eq!(body.matches("# EOF").count(), 1);
    let samples = parse_timestamped(&body);
    assert_eq!(samples.len(), summary.samples);
    // Every sample has a timestamp in seconds at a China midnight inside the range.
    for t in &samples {
        let ts = t
            .timestamp
            .unwrap_or_else(|| panic!("no timestamp: {:?}", t.sample));
        assert_eq!((ts + 8 * 3600) % 86_400, 0, "{ts} is not a China midnight");
        assert!(secs(FROM) <= ts && ts <= secs(TO), "{ts} outside the range");
    }
    // TYPE once per family; no self-metrics.
    let types: Vec<&str> = body.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let mut unique = types.clone();
    unique.dedup();
    assert_eq!(types, unique);
    for t in &samples {
        assert!(
            ![
                "wechat_mp_up",
                "wechat_mp_data_date_timestamp_seconds",
                "wechat_mp_api_requests_total"
            ]
            .contains(&t.sample.name.as_str())
        );
    }

    for account in &stack.config.accounts {
        let (name, app) = (account.name.as_str(), account.app_id.as_str());
        let report = |e: Endpoint, day: Date| stack.simulator.report(app, e, DateRange::day(day));
        let acct = [("account", name)];
        for day in DateRange::new(FROM, TO).unwrap().days() {
            let Report::UserCumulate(rows) = report(Endpoint::UserCumulate, day) else {
                panic!("variant")
            };
            let want = rows[0].cumulate_user.unwrap() as f64;
            assert_eq!(
                at(&samples, "wechat_mp_followers", &acct, day),
                Some(want),
                "{name} {day}"
            );
            let Report::InterfaceSummary(rows) = report(Endpoint::InterfaceSummary, day) else {
                panic!("variant")
            };
            if let Some(row) = rows.first() {
                assert_eq!(
                    at(&samples, "wechat_mp_callback_requests", &acct, day),
                    row.callback_count.map(|v| v as f64)
                );
            }
        }
        // A followers_new{source} value.
        let day = date(2026, 11, 18);
        let Report::UserSummary(rows) = report(Endpoint::UserSummary, day) else {
            panic!("variant")
        };
        let row = rows
            .iter()
            .find(|r| r.user_source == Some(30))
            .expect("the simulator has qr_code followers every day");
        assert_eq!(
            at(
                &samples,
                "wechat_mp_new_followers",
                &[("account", name), ("source", "qr_code")],
                day
            ),
            row.new_user.map(|v| v as f64)
        );
        // The week labelled Monday 16th, stamped at that Monday.
        let Report::UpstreamMsgWeek(rows) = report(Endpoint::UpstreamMsgWeek, date(2026, 11, 16))
        else {
            panic!("variant")
        };
        let text = rows
            .iter()
            .find(|r| r.msg_type == Some(1))
            .expect("text messages");
        assert_eq!(
            at(
                &samples,
                "wechat_mp_weekly_upstream_messages",
                &[("account", name), ("msg_type", "text")],
                date(2026, 11, 16)
            ),
            text.msg_count.map(|v| v as f64)
        );
    }

    // Per-article running totals per stat_date, including articles sent before --from.
    let account = &stack.config.accounts[2];
    let mut checked = 0;
    for sent in DateRange::new(add_days(FROM, -6), TO).unwrap().days() {
        let Report::ArticleTotal(rows) = stack.simulator.report(
            &account.app_id,
            Endpoint::ArticleTotal,
            DateRange::day(sent),
        ) else {
            panic!("variant")
        };
        for row in rows {
            let msgid = row.msgid.clone().unwrap();
            for d in row
                .details
                .iter()
                .filter(|d| d.stat_date.is_some_and(|s| (FROM..=TO).contains(&s)))
            {
                let day = d.stat_date.unwrap();
                assert_eq!(
                    at(
                        &samples,
                        "wechat_mp_massmsg_target_users",
                        &[("account", &account.name), ("msgid", &msgid)],
                        day
                    ),
                    d.target_user.map(|v| v as f64),
                    "{msgid} on {day}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "only {checked} article totals checked");

    // Calls: one per endpoint per span chunk of the range, not one per day.
    for account in &stack.config.accounts {
        let calls = |e: Endpoint| stack.simulator.calls_to(&account.app_id, e.name());
        assert_eq!(calls(Endpoint::UserSummary), 2, "7-day spans");
        assert_eq!(calls(Endpoint::UserCumulate), 2, "7-day spans");
        assert_eq!(calls(Endpoint::UserRead), 4, "3-day spans");
        assert_eq!(calls(Endpoint::UpstreamMsgDist), 1, "15-day span");
        assert_eq!(calls(Endpoint::InterfaceSummary), 1, "30-day span");
        assert_eq!(calls(Endpoint::BizSummary), 1, "30-day span");
        assert_eq!(calls(Endpoint::UserReadHour), 10, "1-day span");
        assert_eq!(calls(Endpoint::ArticleTotal), 16, "10 days and 6 before");
        assert_eq!(
            calls(Endpoint::ArticleTotalDetail),
            39,
            "10 days and 29 before"
        );
        assert_eq!(calls(Endpoint::UpstreamMsgWeek), 1, "one ended week");
        assert_eq!(calls(Endpoint::UpstreamMsgDistWeek), 1, "one ended week");
        assert_eq!(calls(Endpoint::UpstreamMsgMonth), 0, "no 1st in range");
        let total: u64 = Endpoint::ALL.into_iter().map(calls).sum();
        let expected: usize = Endpoint::ALL
            .into_iter()
            .map(|e| {
                DateRange::new(FROM, TO)
                    .unwrap()
                    .split(e.max_span_days())
                    .len()
                    * usize::from(e.period() == wechat_mp_exporter::wechat::Period::Day)
            })
            .sum::<usize>()
            + 6
            + 29
            + 2;
        assert_eq!(total, expected as u64, "{}", account.name);
    }
}

/// `backfill` goes through `[metrics] exclude` like `/metrics`: with `hourly` and `per_article`
/// excluded it writes none of their series and never calls an endpoint only they come from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_families_are_neither_fetched_nor_written() {
    let clock = clock();
    let mut stack = setup(&clock).await;
    stack.config.metrics.exclude =
        wechat_mp_exporter::metrics::Exclusions::parse(["hourly", "per_article"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("history.om");
    let summary = run(&stack.config, &clock, &output)
        .await
        .expect("backfill runs");
    assert_eq!(summary.failed, 0);
    let samples = parse_timestamped(&std::fs::read_to_string(&output).unwrap());
    assert!(samples.len() > 100, "the rest is still written");
    for t in &samples {
        assert!(
            t.sample.label("hour").is_none() && t.sample.label("msgid").is_none(),
            "{t:?}"
        );
    }
    assert!(
        samples
            .iter()
            .any(|t| t.sample.name == "wechat_mp_article_reads")
    );
    let skipped = [
        Endpoint::UserReadHour,
        Endpoint::UserShareHour,
        Endpoint::UpstreamMsgHour,
        Endpoint::InterfaceSummaryHour,
        Endpoint::ArticleSummary,
        Endpoint::ArticleTotal,
        Endpoint::ArticleRead,
        Endpoint::ArticleShare,
        Endpoint::ArticleTotalDetail,
    ];
    for account in &stack.config.accounts {
        for e in Endpoint::ALL {
            let calls = stack.simulator.calls_to(&account.app_id, e.name());
            if skipped.contains(&e) {
                assert_eq!(calls, 0, "{e} called for {}", account.name);
            }
        }
        assert!(stack.simulator.calls_to(&account.app_id, "getuserread") > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_turns_the_file_into_blocks() {
    let clock = clock();
    let stack = setup(&clock).await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("history.om");
    run(&stack.config, &clock, &output)
        .await
        .expect("backfill runs");
    let (ok, text) = run_promtool(
        dir.path(),
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "history.om",
            "data",
        ],
    );
    assert!(ok, "promtool refused the file:\n{text}");
    let (ok, list) = run_promtool(dir.path(), &["tsdb", "list", "data"]);
    assert!(ok, "{list}");
    // One block per day with data (the default 2 h block range), each starting at a China midnight.
    let starts: Vec<i64> = list
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    let mut want: Vec<i64> = DateRange::new(FROM, TO)
        .unwrap()
        .days()
        .map(|d| secs(d) * 1000)
        .collect();
    let mut got = starts.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{list}");

    // The stored followers of demo-1 on the 20th are what the simulator served.
    let app = &stack.config.accounts[0].app_id;
    let day = date(2026, 11, 20);
    let Report::UserCumulate(rows) =
        stack
            .simulator
            .report(app, Endpoint::UserCumulate, DateRange::day(day))
    else {
        panic!("variant")
    };
    // promtool 2.42's dump opens the folder as a read-only DB, which wants a (here empty) WAL.
    std::fs::create_dir_all(dir.path().join("data/wal")).unwrap();
    let (ok, dump) = run_promtool(dir.path(), &["tsdb", "dump", "data"]);
    assert!(
        ok,
        "dump failed: {}",
        &dump[dump.len().saturating_sub(2000)..]
    );
    let line = dump
        .lines()
        .find(|l| {
            l.contains("__name__=\"wechat_mp_followers\"")
                && l.contains("account=\"demo-1\"")
                && l.ends_with(&format!(" {}", secs(day) * 1000))
        })
        .unwrap_or_else(|| panic!("no followers sample of demo-1 at {day}"));
    let value: f64 = line
        .split_whitespace()
        .rev()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(value, rows[0].cumulate_user.unwrap() as f64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_reaching_today_is_refused_before_any_call() {
    let clock = clock();
    let stack = setup(&clock).await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("history.om");
    let request = Request {
        from: FROM,
        to: date(2026, 11, 25),
        output: output.clone(),
    };
    let err = backfill::run(&stack.config, &request, clock.clone())
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("--to 2026-11-25 is not before today (2026-11-25, UTC+8)"),
        "{text}"
    );
    assert!(!output.exists());
    assert!(
        stack.simulator.calls().is_empty(),
        "{:?}",
        stack.simulator.calls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_report_is_skipped_and_nothing_fetched_is_an_error() {
    let clock = clock();
    let stack = setup(&clock).await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("history.om");
    let app2 = stack.config.accounts[1].app_id.clone();
    // 48001: the account lacks the permission; not retried.
    stack
        .simulator
        .faults()
        .fail_account(&app2, "getusersummary", 48001, None);
    let mut config = stack.config.clone();
    config.accounts[2].app_secret = Some(SecretString::from("0".repeat(32)));
    let summary = run(&config, &clock, &output).await.expect("backfill runs");
    // demo-2's getusersummary, and all 19 reports of demo-3, whose secret is wrong.
    assert_eq!(summary.failed, 1 + 19);
    let app3 = &config.accounts[2].app_id;
    assert_eq!(
        stack.simulator.calls_to(app3, "stable_token"),
        1,
        "one token try, not one per report"
    );
    assert_eq!(stack.simulator.calls_to(app3, "getusersummary"), 0);
    let samples = parse_timestamped(&std::fs::read_to_string(&output).unwrap());
    let has = |name: &str, account: &str| {
        samples
            .iter()
            .any(|t| t.sample.name == name && t.sample.label("account") == Some(account))
    };
    assert!(!has("wechat_mp_new_followers", "demo-2"));
    assert!(has("wechat_mp_followers", "demo-2"));
    assert!(has("wechat_mp_new_followers", "demo-1"));
    let demo3: Vec<_> = samples
        .iter()
        .filter(|t| t.sample.label("account") == Some("demo-3"))
        .take(3)
        .collect();
    assert!(demo3.is_empty(), "{demo3:?}");

    // Every report failing: an error, and the earlier file is left as it was.
    let before = std::fs::read_to_string(&output).unwrap();
    for e in Endpoint::ALL {
        stack.simulator.faults().fail(e.name(), 48001, None);
    }
    let err = run(&stack.config, &clock, &output).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("nothing could be fetched"), "{text}");
    assert!(text.contains("57 report(s) failed"), "{text}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), before);
}

#[test]
fn the_command_line_takes_dates_and_an_output_file() {
    use clap::Parser as _;
    use wechat_mp_exporter::cli::{Cli, Command};
    let cli = Cli::try_parse_from([
        "wechat-mp-exporter",
        "backfill",
        "--config.file",
        "c.toml",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-07",
        "--output",
        "out.om",
    ])
    .expect("parses");
    let Some(Command::Backfill(args)) = cli.command else {
        panic!("not the backfill command: {:?}", cli.command)
    };
    assert_eq!(
        (
            args.from,
            args.to,
            args.output.to_str(),
            args.config.path.to_str()
        ),
        (
            date(2026, 11, 1),
            date(2026, 11, 7),
            Some("out.om"),
            Some("c.toml")
        )
    );
    let err = Cli::try_parse_from([
        "wechat-mp-exporter",
        "backfill",
        "--from",
        "2026-11-31",
        "--to",
        "2026-12-01",
        "--output",
        "out.om",
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("expected YYYY-MM-DD"), "{err}");
}
