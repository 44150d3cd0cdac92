//! The state directory's benchmark (results in docs/benchmarks.md, "State directory"; run it with
//! `STATE_ONLY=1 bash scripts/bench.sh`).
//!
//! Modes:
//! - `run <N>`: simulator and exporter in one process, the exporter over a temporary state
//!   directory (`--storage.path`): one poll round, then the state's bytes per account against the
//!   account's share of the gzip OpenMetrics body, and a restart on that directory (how long until
//!   `/metrics` is built, and whether it holds the same business series, quota gauges included).
//!   `BENCH_EXCLUDE="hourly"` and `BENCH_MAX_ARTICLES=50` change the config; `BENCH_KEEP_STATE=1`
//!   keeps the directory (its path on stderr).
//! - `load <N> <DIR>`: only the restart of `run` on a directory it kept, as a restarted process
//!   sees it (no simulator, no first exporter): how long until `/metrics` is built, then the
//!   process's memory per series after a gzip OpenMetrics and a plain text scrape. What to
//!   profile. `BENCH_DROP_STORE=1` then prints the RSS without the store's accounts and without
//!   the exporter (what the samples and bodies hold, and what the plans hold). The exporter
//!   removes the files of accounts it is not configured with: load a kept directory with the
//!   `N` it was made with.
//!
//! Each prints one `key=value` line on stdout.

#[path = "common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context as _, bail};
use jiff::civil::Time;
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock;
use wechat_mp_exporter::demo::config_for_simulator;
use wechat_mp_exporter::metrics::{self, Exposition, Format};
use wechat_mp_exporter::simulator::{SimConfig, Simulator};

const USAGE: &str = "usage: bench_state run <N> | load <N> <DIR>";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let number = |i: usize| -> anyhow::Result<usize> {
        arg(i)
            .context(USAGE)?
            .parse()
            .with_context(|| format!("argument {} is not a number; {USAGE}", i + 1))
    };
    match arg(0) {
        Some("run") => state(number(1)?).await,
        Some("load") => load(number(1)?, arg(2).context(USAGE)?),
        _ => bail!(USAGE),
    }
}

/// The bench accounts: `SimConfig::numbered`, so the simulator and exporter processes agree.
fn sim_config(n: usize, publish_at: Time) -> SimConfig {
    SimConfig::numbered("wxbench", n, publish_at)
}

/// Series a restart starts again by design: the exporter's own and the call and token counters.
const COUNTERS: [&str; 3] = [
    "wechat_mp_exporter_",
    "wechat_mp_api_requests_total",
    "wechat_mp_token_fetches_total",
];

/// The business series of an OpenMetrics body, sorted, values included (not [`COUNTERS`]).
fn business_lines(exposition: &Exposition) -> Vec<String> {
    let body = exposition.response(Format::OpenMetrics, false).concat();
    let mut lines: Vec<String> = String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with("wechat_mp_"))
        .filter(|l| !COUNTERS.iter().any(|c| l.starts_with(c)))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Bytes of every file in `dir` (not recursive).
fn dir_bytes(dir: &std::path::Path) -> anyhow::Result<(u64, usize)> {
    let (mut bytes, mut files) = (0, 0);
    for entry in std::fs::read_dir(dir)? {
        bytes += entry?.metadata()?.len();
        files += 1;
    }
    Ok((bytes, files))
}

/// One poll round with a state directory, its size against the gzip body, then a restart on it.
async fn state(n: usize) -> anyhow::Result<()> {
    let sim_config = sim_config(n, Time::midnight());
    let simulator = Simulator::new(sim_config.clone(), clock::system());
    let addr = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await?;
    let mut config = config_for_simulator(url::Url::parse(&format!("http://{addr}"))?, &sim_config);
    config.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(16);
    if let Ok(exclude) = std::env::var("BENCH_EXCLUDE") {
        config.metrics.exclude = metrics::Exclusions::parse(exclude.split_whitespace())
            .map_err(|(_, e)| anyhow::anyhow!("BENCH_EXCLUDE: {e}"))?;
    }
    if let Ok(max) = std::env::var("BENCH_MAX_ARTICLES") {
        config.metrics.max_articles_per_account = max
            .parse()
            .with_context(|| format!("BENCH_MAX_ARTICLES={max:?} is not a whole number"))?;
    }
    let dir = tempfile::tempdir()?;
    // `BENCH_KEEP_STATE=1`: keep the directory (its path on stderr) to look at the files.
    let dir_path = if std::env::var_os("BENCH_KEEP_STATE").is_some() {
        let kept = dir.keep();
        eprintln!("state directory kept: {}", kept.display());
        kept
    } else {
        dir.path().to_path_buf()
    };
    let dir = &dir_path;
    let mut exporter = Exporter::with_storage(&config, clock::system(), Some(dir))?;
    let round = common::first_round(&mut exporter).await?;
    let writer = exporter.state_writer().context("a state writer")?;
    writer.sync();
    let exposition = exporter.store.exposition();
    let gzip_bytes = exposition
        .response(Format::OpenMetrics, true)
        .concat()
        .len();
    let before = business_lines(&exposition);
    let quota_series = before
        .iter()
        .filter(|l| l.starts_with("wechat_mp_api_quota_"))
        .count();
    let (state_bytes, files) = dir_bytes(&dir.join("accounts"))?;
    drop((exposition, writer));
    drop(exporter);
    let total = |s: &Simulator| s.calls().values().sum::<u64>();
    let calls = total(&simulator);

    // The restart: build the exporter on the same directory and encode its /metrics once.
    let started = Instant::now();
    let restarted = Exporter::with_storage(&config, clock::system(), Some(dir))?;
    let load_seconds = started.elapsed().as_secs_f64();
    let exposition = restarted.store.exposition();
    let _ = exposition.response(Format::OpenMetrics, true);
    let restart_seconds = started.elapsed().as_secs_f64();
    let after = business_lines(&exposition);
    let missing: Vec<&String> = before
        .iter()
        .filter(|l| after.binary_search(l).is_err())
        .collect();
    for line in &missing {
        eprintln!("missing after the restart: {line}");
    }
    let missing = missing.len();
    let calls_after_restart = total(&simulator) - calls;
    println!(
        "accounts={n} files={files} upstream_requests={} state_bytes={state_bytes} \
         state_bytes_per_account={} gzip_openmetrics_bytes={gzip_bytes} gzip_bytes_per_account={} \
         state_over_gzip_share={:.2} business_series={} quota_series={quota_series} \
         restart_seconds={restart_seconds:.3} load_seconds={load_seconds:.3} series_missing_after_restart={missing} \
         upstream_calls_during_restart={calls_after_restart}",
        round.requests,
        state_bytes / n as u64,
        gzip_bytes / n,
        state_bytes as f64 / gzip_bytes as f64,
        before.len(),
    );
    Ok(())
}

/// The exporter of N bench accounts built on the state directory `dir`, and its first gzip body.
fn load(n: usize, dir: &str) -> anyhow::Result<()> {
    let config = config_for_simulator(
        url::Url::parse("http://127.0.0.1:9")?,
        &sim_config(n, Time::midnight()),
    );
    let started = Instant::now();
    let restarted =
        Exporter::with_storage(&config, clock::system(), Some(std::path::Path::new(dir)))?;
    let load_seconds = started.elapsed().as_secs_f64();
    let size = |chunks: Vec<bytes::Bytes>| chunks.iter().map(|c| c.len()).sum::<usize>();
    let gzip_bytes = size(
        restarted
            .store
            .exposition()
            .response(Format::OpenMetrics, true),
    );
    let restart_seconds = started.elapsed().as_secs_f64();
    let rss_gzip = common::rss_kib();
    // Then a plain text scrape (a person with curl, or a scraper without gzip): its body is
    // held too. The figure is the whole process's RSS over every series it serves.
    let exposition = restarted.store.exposition();
    let text = exposition.response(Format::Text, false);
    let text_bytes = size(text.clone());
    let series: usize = text.iter().map(|chunk| common::series(chunk)).sum();
    drop((text, exposition));
    let rss_both = common::rss_kib();
    common::trim();
    let rss_both_trimmed = common::rss_kib();
    let per_series = |kib: u64| kib as f64 * 1024.0 / series as f64;
    println!(
        "accounts={n} load_seconds={load_seconds:.3} restart_seconds={restart_seconds:.3} \
         gzip_openmetrics_bytes={gzip_bytes} text_bytes={text_bytes} series={series} \
         rss_gzip_kib={rss_gzip} rss_gzip_and_text_kib={rss_both} rss_trimmed_kib={rss_both_trimmed} \
         bytes_per_series_gzip={:.0} bytes_per_series_gzip_and_text={:.0} bytes_per_series_trimmed={:.0} \
         peak_kib={}",
        per_series(rss_gzip),
        per_series(rss_both),
        per_series(rss_both_trimmed),
        common::status_kib("VmHWM")
    );
    if std::env::var_os("BENCH_DROP_STORE").is_some() {
        let e = restarted.store.exposition();
        let blocks = e.response(Format::Text, false).len();
        drop(e);
        restarted.store.retain_accounts(&[]);
        drop(restarted.store.exposition());
        common::trim();
        println!(
            "blocks={blocks} rss_without_store_kib={}",
            common::rss_kib()
        );
        drop(restarted);
        common::trim();
        println!("rss_without_exporter_kib={}", common::rss_kib());
    }
    Ok(())
}
