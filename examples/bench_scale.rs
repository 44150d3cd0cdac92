//! Benchmarks of running many accounts (results in docs/benchmarks.md, "Scheduling at scale"; run
//! them with `bash scripts/bench-scale.sh`). Simulator and exporter in one process.
//!
//! - `ready <RATE> <N>...`: for each N, a cold start of N accounts (no saved state) against a
//!   simulator that has yesterday published: the time until every account is ready (one full
//!   poll round), with `[wechat] rate_limit = RATE` and, side by side, without a limit; the
//!   upstream requests the simulator saw and its busiest second.
//! - `calls <N> <DAYS>`: DAYS simulated days on a manual clock: upstream calls per account and day
//!   (datacube, getApiQuota, token) against the T+1 minimum of `schedule::t1_minimum`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use jiff::Timestamp;
use jiff::civil::{Date, Time, date, time};
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock::{self, ManualClock, SharedClock};
use wechat_mp_exporter::config::Config;
use wechat_mp_exporter::demo::config_for_simulator;
use wechat_mp_exporter::schedule;
use wechat_mp_exporter::simulator::{SimConfig, Simulator};
use wechat_mp_exporter::wechat::Endpoint;
use wechat_mp_exporter::wechat::date::{add_days, china_at};

const USAGE: &str = "usage: bench_scale ready <RATE> <N>... | calls <N> <DAYS>";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers = |from: usize| -> anyhow::Result<Vec<usize>> {
        args.get(from..)
            .context(USAGE)?
            .iter()
            .map(|a| {
                a.parse()
                    .with_context(|| format!("{a:?} is not a number; {USAGE}"))
            })
            .collect()
    };
    match args.first().map(String::as_str) {
        Some("ready") => {
            let n = numbers(1)?;
            let (rate, counts) = n.split_first().context(USAGE)?;
            ready(u32::try_from(*rate)?, counts).await
        }
        Some("calls") => match numbers(1)?.as_slice() {
            [n, days] => calls(*n, *days).await,
            _ => bail!(USAGE),
        },
        _ => bail!(USAGE),
    }
}

/// The bench accounts: `SimConfig::numbered`, so the simulator and exporter processes agree.
fn sim_config(n: usize, publish_at: Time) -> SimConfig {
    SimConfig::numbered("wxscale", n, publish_at)
}

async fn start(sim_cfg: &SimConfig, clock: SharedClock) -> anyhow::Result<(Simulator, Config)> {
    let simulator = Simulator::new(sim_cfg.clone(), clock);
    // Far above what any run asks: the quota is not what is measured here.
    simulator.set_daily_limit(u64::MAX);
    let addr = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await?;
    let config = config_for_simulator(url::Url::parse(&format!("http://{addr}"))?, sim_cfg);
    Ok((simulator, config))
}

/// One cold start: seconds until every account is ready, requests seen, busiest second.
async fn cold_start(n: usize, rate: u32) -> anyhow::Result<(f64, usize, usize)> {
    // Published from midnight: whatever the hour, yesterday is there on the first probe.
    let sim_cfg = sim_config(n, Time::midnight());
    let (simulator, mut config) = start(&sim_cfg, clock::system()).await?;
    config.schedule.publish_after = Time::midnight();
    config.schedule.empty_is_zero_after = Time::midnight();
    // Paced: the default window, sized to the rate and the answer time. Unpaced there is no
    // rate to size it from, so a fixed 32.
    if rate == 0 {
        config.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(32);
    }
    config.wechat.rate_limit = rate;
    // Every upstream call is still made; only the per-article series kept are capped, so 5000
    // accounts' snapshots fit the machine (at 200 they would take some 7 GB).
    config.metrics.max_articles_per_account = 10;
    for a in &mut config.accounts {
        a.callback_probe = None;
    }
    let mut exporter = Exporter::new(&config, clock::system())?;
    let started = Instant::now();
    let round = exporter.scheduler.tick().await;
    let elapsed = started.elapsed().as_secs_f64();
    if round.failures > 0 {
        bail!("{} of {} requests failed", round.failures, round.requests);
    }
    // Ready: every account's plan has the target day (yesterday) published and fetched.
    let now = jiff::Timestamp::now();
    let ready = exporter
        .scheduler
        .accounts()
        .iter()
        .filter(|a| a.status().up && a.plan().is_ready(a.plan().target_day(now)))
        .count();
    if ready != n {
        bail!("{ready} of {n} accounts ready after the round");
    }
    Ok((
        elapsed,
        simulator.requests_received(),
        simulator.busiest_second(),
    ))
}

async fn ready(rate: u32, counts: &[usize]) -> anyhow::Result<()> {
    if rate == 0 || counts.is_empty() {
        bail!("ready needs a rate above 0 and at least one account count; {USAGE}");
    }
    println!(
        "| accounts | upstream requests | ready, rate_limit = {rate} | busiest second | ready, no limit | busiest second | limited / unlimited | requests / (rate x time) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &n in counts {
        let (paced, requests, busiest) = cold_start(n, rate).await?;
        let (free, free_requests, free_busiest) = cold_start(n, 0).await?;
        if free_requests != requests {
            eprintln!("note: {requests} requests paced, {free_requests} unpaced");
        }
        println!(
            "| {n} | {requests} | {paced:.2} s | {busiest} | {free:.2} s | {free_busiest} | {:.2}x | {:.2} |",
            paced / free,
            requests as f64 / (f64::from(rate) * paced)
        );
    }
    Ok(())
}

fn at(d: Date, h: i8, m: i8) -> Timestamp {
    china_at(d, time(h, m, 0, 0))
}

async fn calls(n: usize, days: usize) -> anyhow::Result<()> {
    if n == 0 || days == 0 {
        bail!("calls needs at least one account and one day; {USAGE}");
    }
    let days = i64::try_from(days)?;
    // Monday 2 November 2026, 10:00 UTC+8: yesterday is already published.
    let start_day = date(2026, 11, 2);
    println!(
        "| publish_after | accounts | days | datacube / account / day | T+1 minimum | datacube / minimum | getApiQuota / account / day | token / account / day | all upstream / minimum |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    // 09:00: the simulator's publication time, one probe a day. 08:00 retrying every 30 minutes:
    // three probes a day (08:00, 08:30, 09:00, each plus the account's offset).
    for (publish_after, probes) in [(time(9, 0, 0, 0), 1), (time(8, 0, 0, 0), 3)] {
        let clock = Arc::new(ManualClock::new(at(start_day, 10, 0)));
        let sim_cfg = sim_config(n, time(9, 0, 0, 0));
        let (simulator, mut config) = start(&sim_cfg, clock.clone()).await?;
        config.schedule.publish_after = publish_after;
        config.schedule.retry_interval = Duration::from_secs(30 * 60);
        config.schedule.empty_is_zero_after = time(9, 0, 0, 0);
        config.wechat.retry_backoff = Duration::from_millis(1);
        let mut exporter = Exporter::new(&config, clock.clone())?;
        // The cold start is the first poll; the days after it are the steady state measured.
        exporter.scheduler.tick().await;
        simulator.reset_calls();
        let end = at(add_days(start_day, days), 10, 0);
        exporter.scheduler.run_until(&clock, end).await;

        let (mut datacube, mut quota, mut tokens) = (0u64, 0u64, 0u64);
        for ((_, api), count) in simulator.calls() {
            match api.as_str() {
                "quota_get" => quota += count,
                "stable_token" | "token" => tokens += count,
                a if a.parse::<Endpoint>().is_ok() => datacube += count,
                other => bail!("unexpected upstream call {other}"),
            }
        }
        // The minimum after the first poll: the minimum over first..=first+days less the first poll's.
        let first = add_days(start_day, -1);
        let minimum: u64 = sim_cfg
            .accounts
            .iter()
            .map(|a| {
                let had = |e: Endpoint, d: Date| match e {
                    Endpoint::ArticleTotal => simulator.has_mass_send(&a.app_id, d),
                    _ => simulator.has_publish(&a.app_id, d),
                };
                let all: u64 = schedule::t1_minimum(first, days, probes, had)
                    .values()
                    .sum();
                let cold: u64 = schedule::t1_minimum(first, 0, probes, had).values().sum();
                all - cold
            })
            .sum();
        let per_day = |x: u64| x as f64 / n as f64 / days as f64;
        println!(
            "| {publish_after} | {n} | {days} | {:.1} | {:.1} | {:.3}x | {:.1} | {:.2} | {:.2}x |",
            per_day(datacube),
            per_day(minimum),
            datacube as f64 / minimum as f64,
            per_day(quota),
            per_day(tokens),
            (datacube + quota + tokens) as f64 / minimum as f64,
        );
    }
    Ok(())
}
