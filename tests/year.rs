//! A simulated year on the manual clock, alone in this test binary because it measures the
//! process's RSS: 20 simulator accounts for 365 days (every month end and UTC+8 midnight), a
//! restart from the state directory every 30 days, a 45009 (daily quota) day and the legacy
//! article endpoints retired by 47009. Datacube calls stay exactly the T+1 minimum, the
//! per-article windows roll off, series and state bytes at the end are within 10% of day 30 and
//! RSS within 10% of the first 90 days' largest (one sample of it is too noisy a baseline).
//! `WECHAT_MP_YEAR_ACCOUNTS` and `WECHAT_MP_YEAR_DAYS` widen or lengthen the run (the benchmark,
//! `scripts/bench.sh` with `YEAR_ONLY=1`). It runs in release builds only: in a debug build it is
//! reported as ignored, with the command that runs it.

#[path = "support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use jiff::civil::{Date, Time, date};
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::simulator::Simulator;
use wechat_mp_exporter::wechat::Endpoint;
use wechat_mp_exporter::wechat::date::{add_days, china_midnight};

use support::t1::{at, calls, t1_minimum, tune};
use support::{Sample, many_accounts, memory_kib, parse_text, stack, value};

/// Days between restarts, and between the printed checkpoints.
const RESTART_EVERY: i64 = 30;
/// On this day's poll the legacy article endpoints answer 47009 (offline) from then on. Before
/// the first checkpoint, so that day 30 and the last day serve the same families.
const RETIRED_ON: i64 = 10;
/// On this day's poll getusersummary answers 45009 (daily quota) for every account; a restart
/// follows the same morning, so the stop must survive it.
const QUOTA_ON: i64 = 4 * RESTART_EVERY;
/// The exporter looks at 09:00 UTC+8, when the simulator publishes (`publish_after` set to
/// WeChat's real time, as an agency would once it knows it): one probe a day, which finds the day
/// published. The early start and its retries cost two rounds more a day and are the scheduling
/// tests' subject (tests/e2e/scheduling.rs), not this one's.
const PROBES_PER_DAY: u64 = 1;
/// getarticletotaldetail's re-poll window: no article published earlier may still be served.
const DETAIL_WINDOW: i64 = 30;

fn env_or(var: &str, default: i64) -> i64 {
    std::env::var(var).map_or(default, |v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{var}={v:?} is not a number"))
    })
}

/// The sum of the sizes of the files under `dir`, recursively: the state format is not this
/// test's business, only its footprint.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap())
                .map(|e| {
                    let meta = e.metadata().unwrap();
                    if meta.is_dir() {
                        dir_bytes(&e.path())
                    } else {
                        meta.len()
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The T+1 minimum of one account after `days` days, with this run's two events:
/// - each legacy article endpoint costs its minimum up to the retirement day included, and
///   nothing after: that day's round issues its calls at once, so they all answer 47009 (one per
///   endpoint, and for getarticletotal the new send date plus each earlier date of its window
///   that had articles, as on any day);
/// - getusersummary costs one more call, the one answered 45009: the day it could not fetch is
///   fetched once, at the next UTC+8 midnight, in place of its normal fetch (on the quota day
///   itself the refused call stands in for that fetch, not yet made).
fn minimum(
    sim: &Simulator,
    app_id: &str,
    first_target: Date,
    days: i64,
) -> BTreeMap<Endpoint, u64> {
    let mut want = t1_minimum(sim, app_id, first_target, days, PROBES_PER_DAY);
    if days > RETIRED_ON {
        let until = t1_minimum(sim, app_id, first_target, RETIRED_ON, PROBES_PER_DAY);
        for e in Endpoint::ALL.into_iter().filter(|e| e.is_legacy_article()) {
            want.insert(e, until[&e]);
        }
    }
    if days > QUOTA_ON {
        *want.get_mut(&Endpoint::UserSummary).unwrap() += 1;
    }
    want
}

/// What the run looked like at the end of one day's poll.
struct Checkpoint {
    day: i64,
    series: usize,
    state_bytes: u64,
    rss_kib: u64,
    /// After `malloc_trim(0)`: what glibc keeps of freed heap varies from run to run (arenas per
    /// thread), so the bound is on this; a leak grows it as much as the raw figure.
    trimmed_kib: u64,
    msgids: BTreeSet<String>,
    calls: u64,
    minimum: u64,
}

/// Builds the exporter a (re)started process would: same config, clock and state directory.
fn exporter(stack: &support::Stack, clock: &Arc<ManualClock>, state: &Path) -> Exporter {
    Exporter::with_storage(&stack.config, clock.clone(), Some(state)).expect("exporter builds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "a simulated year takes about 100 s in release and five times that in debug: \
              cargo test --release --test year, or YEAR_ONLY=1 bash scripts/bench.sh"
)]
async fn a_simulated_year_stays_at_the_t1_minimum_and_stops_growing() {
    let accounts = env_or("WECHAT_MP_YEAR_ACCOUNTS", 20) as usize;
    let days = env_or("WECHAT_MP_YEAR_DAYS", 365);
    assert!(days > QUOTA_ON, "the run covers the 45009 day");
    let started = Instant::now();

    // Thursday 1 January 2026, 10:00 UTC+8: 31 December 2025 is published; the run crosses every
    // month end of 2026 (February's 28th included) and the year end.
    let day0 = date(2026, 1, 1);
    let first_target = add_days(day0, -1);
    let clock = Arc::new(ManualClock::new(at(day0, 10, 0)));
    let sim = many_accounts(accounts, Time::constant(9, 0, 0, 0));
    let stack = stack(sim, clock.clone(), |c| {
        tune(c);
        c.schedule.publish_after = Time::constant(9, 0, 0, 0);
        // Each account's day goes out 8 requests at a time (the default, 4 without a rate limit,
        // leaves one core idle: this run is CPU-bound on both sides of the loopback).
        c.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(16);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut exp = exporter(&stack, &clock, &state);
    let sim = &stack.simulator;

    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    let mut every_msgid = BTreeSet::new();
    let mut rounds = 0;
    for k in 1..=days {
        let day = add_days(day0, k);
        if k == RETIRED_ON {
            sim.faults().set_legacy_articles_offline(true);
        }
        if k == QUOTA_ON {
            sim.faults().fail("getusersummary", 45009, None);
        }
        let before: Vec<u64> = (stack.config.accounts.iter())
            .map(|a| sim.calls_to(&a.app_id, "getusersummary"))
            .collect();
        rounds += exp.scheduler.run_until(&clock, at(day, 10, 0)).await;

        if k == QUOTA_ON {
            sim.faults().clear();
            let body = exp.store.exposition().text.clone();
            let samples = parse_text(std::str::from_utf8(&body).unwrap());
            for (a, before) in stack.config.accounts.iter().zip(&before) {
                let got = sim.calls_to(&a.app_id, "getusersummary");
                assert_eq!(got, before + 1, "{}: one call, answered 45009", a.name);
                let stopped = [("api", "getusersummary"), ("reason", "quota")];
                assert_eq!(
                    value(&samples, "wechat_mp_api_unavailable", &a.name, &stopped),
                    Some(1.0),
                    "{}",
                    a.name
                );
            }
        }

        let last = k == days;
        if k % RESTART_EVERY == 0 || last {
            let checkpoint = measure(&exp, sim, &stack, &state, first_target, k);
            // As it goes, so that a slow run shows where it is.
            eprintln!(
                "day {k}: {} series, {} state bytes, {} KiB RSS ({} trimmed), {:.1} s",
                checkpoint.series,
                checkpoint.state_bytes,
                checkpoint.rss_kib,
                checkpoint.trimmed_kib,
                started.elapsed().as_secs_f64()
            );
            every_msgid.extend(checkpoint.msgids.iter().cloned());
            checkpoints.push(checkpoint);
        }
        if k % RESTART_EVERY == 0 && !last {
            // As a restarted process would: everything queued is on disk, then a new exporter.
            exp.state_writer().expect("a state directory").sync();
            drop(exp);
            exp = exporter(&stack, &clock, &state);
            assert!(exp.board.is_ready(), "ready from its state at once");
        }

        if k == QUOTA_ON {
            // The stop outlives the restart; at 00:00 UTC+8 the day missed is fetched, once.
            let midnight = at(add_days(day, 1), 0, 30);
            rounds += exp.scheduler.run_until(&clock, midnight).await;
            for (a, before) in stack.config.accounts.iter().zip(&before) {
                let got = sim.calls_to(&a.app_id, "getusersummary");
                assert_eq!(got, before + 2, "{}: retried the next China day", a.name);
            }
        }
    }

    println!(
        "simulated year: {accounts} accounts, {days} days, {rounds} scheduler rounds, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "day  date        series  state_bytes  rss_kib  trimmed_kib  msgids  calls    minimum"
    );
    for c in &checkpoints {
        println!(
            "{:>3}  {}  {:>6}  {:>11}  {:>7}  {:>11}  {:>6}  {:>7}  {:>7}",
            c.day,
            add_days(day0, c.day),
            c.series,
            c.state_bytes,
            c.rss_kib,
            c.trimmed_kib,
            c.msgids.len(),
            c.calls,
            c.minimum
        );
    }

    let first = &checkpoints[0];
    let end = checkpoints.last().unwrap();
    assert_eq!(first.day, RESTART_EVERY);
    let within = |name: &str, a: f64, b: f64| {
        assert!(
            (b - a).abs() <= 0.1 * a,
            "{name}: day {} {a} vs day {} {b}: more than 10% apart",
            first.day,
            end.day
        );
    };
    within("series", first.series as f64, end.series as f64);
    within(
        "state bytes",
        first.state_bytes as f64,
        end.state_bytes as f64,
    );
    // RSS holds the same data at every checkpoint yet moved by up to 30% between them (heap
    // fragmentation across the runtime's and the writer's threads; at 20 accounts: 122,100,
    // 148,652, 159,192 and 131,632 KiB trimmed at days 30-120), so one sample is no baseline:
    // the end must not exceed the first quarter's largest by more than 10%. A leak of a fraction
    // of a percent a day would over nine months.
    let quarter = checkpoints.iter().filter(|c| c.day <= 3 * RESTART_EVERY);
    let baseline = quarter.map(|c| c.trimmed_kib).max().unwrap();
    assert!(
        end.trimmed_kib as f64 <= 1.1 * baseline as f64,
        "RSS (trimmed): {} KiB at day {}, at most {baseline} KiB in the first 90 days",
        end.trimmed_kib,
        end.day
    );
    // The articles served turn over: checkpoints are a window apart, so over the run several
    // times more were served than at any one time; windows that never expired would serve them
    // all at once (and fail the published-date check at every checkpoint).
    let most = checkpoints.iter().map(|c| c.msgids.len()).max().unwrap();
    assert!(
        every_msgid.len() >= 3 * most,
        "{} articles over the year, at most {most} at once",
        every_msgid.len()
    );
}

/// Returns the heap glibc keeps free to the system.
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: malloc_trim only releases free memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Measures the run at the end of day `k`'s poll and asserts what must hold at every checkpoint:
/// exactly the T+1 minimum of calls so far, and no article older than its window served.
fn measure(
    exp: &Exporter,
    sim: &Simulator,
    stack: &support::Stack,
    state: &Path,
    first_target: Date,
    k: i64,
) -> Checkpoint {
    let (mut calls_total, mut minimum_total) = (0, 0);
    for a in &stack.config.accounts {
        let got = calls(sim, &a.app_id);
        let want = minimum(sim, &a.app_id, first_target, k);
        assert_eq!(got, want, "day {k}: calls per endpoint for {}", a.name);
        calls_total += got.values().sum::<u64>();
        minimum_total += want.values().sum::<u64>();
    }

    let body = exp.store.exposition().text.clone();
    let samples = parse_text(std::str::from_utf8(&body).unwrap());
    let named = |name: &'static str| samples.iter().filter(move |s| s.name == name);
    // The cap on articles never cut: what bounds them is the windows alone.
    for s in named("wechat_mp_dropped_articles") {
        assert_eq!(s.value, 0.0, "day {k}: articles dropped by the cap: {s:?}");
    }
    let today = add_days(first_target, k + 1);
    let oldest = china_midnight(add_days(today, -DETAIL_WINDOW)).as_second() as f64;
    let published: Vec<&Sample> = named("wechat_mp_article_published_timestamp_seconds").collect();
    assert!(!published.is_empty(), "day {k}: articles are served");
    for s in &published {
        assert!(
            s.value >= oldest,
            "day {k}: an article past its {DETAIL_WINDOW}-day window is still served: {s:?}"
        );
    }
    let msgids = samples
        .iter()
        .filter_map(|s| Some(format!("{}/{}", s.label("account")?, s.label("msgid")?)))
        .collect();

    exp.state_writer().expect("a state directory").sync();
    let rss_kib = memory_kib("VmRSS:");
    Checkpoint {
        day: k,
        series: samples.len(),
        state_bytes: dir_bytes(state),
        rss_kib,
        trimmed_kib: {
            trim();
            memory_kib("VmRSS:")
        },
        msgids,
        calls: calls_total,
        minimum: minimum_total,
    }
}
