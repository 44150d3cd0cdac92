//! The command line: Prometheus-style dotted flags, each with an environment variable, and the
//! subcommands `serve` (default), `demo`, `simulate`, `check-config` and `backfill`.
// clap turns doc comments into --help text, so the argument structs are described by their
// `#[arg]` and `#[command]` attributes and the subcommands' doc comments, not by rustdoc.
#![allow(missing_docs)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use jiff::civil::{Date, Time};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{Exporter, Reloader, VERSION};
use crate::backfill;
use crate::clock;
use crate::config::Config;
use crate::demo::Demo;
use crate::logging::{self, LogFormat, LogLevel};
use crate::otlp::Pusher;
use crate::shard::Shard;
use crate::simulator::{SimConfig, Simulator};
use crate::web_config::{self, ServerLimits, WebConfig};

/// Prometheus exporter for WeChat Official Account datacube analytics.
#[derive(Debug, Parser)]
#[command(
    name = "wechat-mp-exporter",
    version = crate::version::VERSION_LONG,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the exporter (the default).
    Serve(ServeArgs),
    /// Run the simulator and the exporter for three demo accounts on 127.0.0.1; no config, no account.
    Demo(DemoArgs),
    /// Run the simulated WeChat API alone.
    Simulate(SimulateArgs),
    /// Validate the config file: exit 0, or print every problem with its key and exit 1.
    CheckConfig(CheckConfigArgs),
    /// Write past days as OpenMetrics with timestamps, for `promtool tsdb create-blocks-from openmetrics`.
    ///
    /// Every report of every account for each China day (UTC+8) in [--from, --to], stamped at that
    /// day's 00:00 UTC+8; week/month reports for the weeks/months whose Monday/1st is in the range
    /// and that have ended; per-article running totals (getarticletotal, getarticletotaldetail) per
    /// stat_date, fetching the articles sent up to 7/30 days before --from. The exporter's own
    /// metrics (wechat_mp_up, call counters, data dates) are left out. --to must be before today.
    Backfill(BackfillArgs),
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Only log messages with the given severity or above.
    #[arg(
        long = "log.level",
        env = "WECHAT_MP_EXPORTER_LOG_LEVEL",
        value_enum,
        default_value = "info",
        global = true
    )]
    pub level: LogLevel,
    /// Output format of log messages.
    #[arg(
        long = "log.format",
        env = "WECHAT_MP_EXPORTER_LOG_FORMAT",
        value_enum,
        default_value = "logfmt",
        global = true
    )]
    pub format: LogFormat,
}

/// `--config.file`, shared by every command that reads the config.
#[derive(Debug, Clone, Args)]
pub struct ConfigFile {
    /// Path to the TOML configuration file.
    #[arg(
        long = "config.file",
        env = "WECHAT_MP_EXPORTER_CONFIG_FILE",
        default_value = "wechat-mp-exporter.toml"
    )]
    pub path: PathBuf,
}

impl ConfigFile {
    /// Loads and validates the file; the error lists every problem with its key.
    pub fn load(&self) -> anyhow::Result<Config> {
        Config::load(&self.path).map_err(|errors| {
            anyhow::anyhow!(
                "{}: {} problem(s):\n{errors}",
                self.path.display(),
                errors.0.len()
            )
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    /// Addresses on which to expose metrics and the web interface (repeatable).
    #[arg(
        long = "web.listen-address",
        env = "WECHAT_MP_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = "0.0.0.0:9864",
        value_delimiter = ','
    )]
    pub listen: Vec<SocketAddr>,
    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        env = "WECHAT_MP_EXPORTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,
    /// Path to an exporter-toolkit web configuration file (TLS and basic auth).
    #[arg(long = "web.config.file", env = "WECHAT_MP_EXPORTER_WEB_CONFIG_FILE")]
    pub web_config_file: Option<PathBuf>,
    /// Close a connection that has not sent its request headers (or finished TLS) this long.
    #[arg(
        long = "web.header-read-timeout",
        env = "WECHAT_MP_EXPORTER_WEB_HEADER_READ_TIMEOUT",
        default_value = "10s"
    )]
    pub header_read_timeout: humantime::Duration,
    /// Answer 503 to a request still running after this long.
    #[arg(
        long = "web.request-timeout",
        env = "WECHAT_MP_EXPORTER_WEB_REQUEST_TIMEOUT",
        default_value = "30s"
    )]
    pub request_timeout: humantime::Duration,
    /// Close connections beyond this many open at once.
    #[arg(
        long = "web.max-connections",
        env = "WECHAT_MP_EXPORTER_WEB_MAX_CONNECTIONS",
        default_value = "4096"
    )]
    pub max_connections: usize,
    /// Directory of the state that survives restarts (days fetched, last reports); "" keeps none.
    // A String, not a PathBuf: clap's path parser refuses the empty value that disables it.
    #[arg(
        long = "storage.path",
        env = "WECHAT_MP_EXPORTER_STORAGE_PATH",
        default_value = "data/"
    )]
    pub storage_path: String,
    #[command(flatten)]
    pub shard: ShardArg,
    #[command(flatten)]
    pub log: LogArgs,
}

/// `--shard`, shared by `serve` and `check-config`.
#[derive(Debug, Clone, Args)]
pub struct ShardArg {
    /// Poll only shard I of N (0-based, e.g. 0/3): the accounts whose app_id hashes there. Unset: all accounts.
    #[arg(long = "shard", env = "WECHAT_MP_EXPORTER_SHARD", value_name = "I/N")]
    pub shard: Option<Shard>,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Address of the demo exporter.
    #[arg(
        long = "web.listen-address",
        env = "WECHAT_MP_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = "127.0.0.1:9864"
    )]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Address of the simulated WeChat API.
    #[arg(
        long = "listen",
        env = "WECHAT_MP_SIMULATOR_LISTEN",
        default_value = "127.0.0.1:9865"
    )]
    pub listen: SocketAddr,
    /// UTC+8 time of day after which "yesterday" is published (HH:MM).
    #[arg(long = "publish-at", env = "WECHAT_MP_SIMULATOR_PUBLISH_AT", default_value = "09:00", value_parser = parse_time)]
    pub publish_at: Time,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CheckConfigArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    #[command(flatten)]
    pub shard: ShardArg,
}

#[derive(Debug, Clone, Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    /// First China day (UTC+8) to backfill, YYYY-MM-DD.
    #[arg(long = "from", env = "WECHAT_MP_EXPORTER_BACKFILL_FROM", value_parser = parse_date)]
    pub from: Date,
    /// Last China day (UTC+8) to backfill, YYYY-MM-DD; before today.
    #[arg(long = "to", env = "WECHAT_MP_EXPORTER_BACKFILL_TO", value_parser = parse_date)]
    pub to: Date,
    /// The OpenMetrics file to write (replaced atomically).
    #[arg(long = "output", env = "WECHAT_MP_EXPORTER_BACKFILL_OUTPUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub log: LogArgs,
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::strptime("%Y-%m-%d", s).map_err(|e| format!("expected YYYY-MM-DD: {e}"))
}

fn parse_time(s: &str) -> Result<Time, String> {
    Time::strptime("%H:%M", s).map_err(|e| format!("expected HH:MM: {e}"))
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig(args)) => check_config(&args),
        command => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let result = runtime.block_on(async move {
                match command {
                    Some(Command::Serve(args)) => serve(args).await,
                    None => serve(cli.serve).await,
                    Some(Command::Demo(args)) => demo(args).await,
                    Some(Command::Simulate(args)) => simulate(args).await,
                    Some(Command::Backfill(args)) => backfill(args).await,
                    Some(Command::CheckConfig(_)) => unreachable!("handled above"),
                }
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    // Once, as the multi-line list a person reads (not also as a log line that
                    // repeats it with escaped newlines).
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn check_config(args: &CheckConfigArgs) -> ExitCode {
    match args.config.load() {
        Ok(config) => {
            let n = config.accounts.len();
            let shard = match args.shard.shard {
                Some(shard) => {
                    let kept = crate::app::of_shard(config.clone(), Some(shard));
                    format!("; shard {shard} keeps {}", kept.accounts.len())
                }
                None => String::new(),
            };
            let otlp = match &config.otlp {
                Some(o) => format!(
                    "; OTLP push to {} every {}",
                    o.endpoint,
                    humantime::format_duration(o.interval)
                ),
                None => String::new(),
            };
            let probes = config
                .accounts
                .iter()
                .filter(|a| a.callback_probe.is_some())
                .count();
            let probes = match probes {
                0 => String::new(),
                1 => "; 1 callback probe".to_string(),
                p => format!("; {p} callback probes"),
            };
            println!(
                "{}: OK ({n} account{}{shard}{probes}{otlp})",
                args.config.path.display(),
                if n == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    logging::init(args.log.level, args.log.format);
    let config = args.config.load()?;
    let web = match &args.web_config_file {
        Some(path) => Some(Arc::new(
            WebConfig::load(path).with_context(|| format!("web config {}", path.display()))?,
        )),
        None => None,
    };
    let storage = (!args.storage_path.is_empty()).then(|| PathBuf::from(&args.storage_path));
    let shard = args.shard.shard;
    let exporter = Exporter::build(&config, clock::system(), storage.as_deref(), shard)?;
    if let Some(shard) = shard {
        tracing::info!(%shard, accounts = exporter.accounts(), configured = config.accounts.len(), "polling one shard of the accounts");
    }
    let state = exporter.state_writer();
    let reloader = exporter.reloader(args.config.path.clone());
    tokio::spawn(reload_on_sighup(reloader.clone()));
    let router = web_config::apply(
        exporter.router_with_reload(&args.telemetry_path, Some(reloader)),
        web.as_deref(),
    );
    let limits = ServerLimits {
        header_read_timeout: args.header_read_timeout.into(),
        request_timeout: args.request_timeout.into(),
        max_connections: args.max_connections,
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(wait_for_signals(shutdown.clone()));
    let pusher = match &config.otlp {
        Some(otlp) => {
            let pusher = Pusher::new(otlp, exporter.store.clone())?;
            Some(tokio::spawn(pusher.run(shutdown.clone())))
        }
        None => None,
    };
    let mut servers = tokio::task::JoinSet::new();
    for addr in &args.listen {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(address = %listener.local_addr()?, version = VERSION, accounts = exporter.accounts(), "listening");
        let stop = shutdown.clone().cancelled_owned();
        servers.spawn(web_config::serve(
            listener,
            router.clone(),
            web.clone(),
            limits,
            stop,
        ));
    }
    exporter.start_probes(shutdown.clone());
    exporter.start_discovery(shutdown.clone());
    let scheduler = tokio::spawn(exporter.scheduler.run(shutdown.clone()));
    while let Some(result) = servers.join_next().await {
        if let Ok(Err(e)) = result {
            shutdown.cancel();
            return Err(e).context("web server failed");
        }
    }
    let _ = scheduler.await;
    if let Some(state) = state {
        // The last poll round's state is on disk before the process exits.
        state.sync();
    }
    if let Some(pusher) = pusher {
        // The last push, bounded by the OTLP timeout.
        let _ = pusher.await;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    logging::init(args.log.level, args.log.format);
    let demo = Demo::start(args.listen, clock::system()).await?;
    let exporter = demo.exporter_addr;
    println!(
        "WeChat MP exporter demo: {} simulated accounts ({})",
        demo.account_names.len(),
        demo.account_names.join(", ")
    );
    println!("  metrics:            http://{exporter}/metrics");
    println!("  landing page:       http://{exporter}/");
    println!(
        "  simulated WeChat:   http://{}/_sim/calls",
        demo.simulator_addr
    );
    println!("Press Ctrl-C to stop.");
    let shutdown = demo.shutdown.clone();
    wait_for_signals(shutdown).await;
    demo.stop().await;
    Ok(())
}

async fn backfill(args: BackfillArgs) -> anyhow::Result<()> {
    logging::init(args.log.level, args.log.format);
    let config = args.config.load()?;
    let request = backfill::Request {
        from: args.from,
        to: args.to,
        output: args.output,
    };
    let summary = backfill::run(&config, &request, clock::system()).await?;
    println!(
        "{}: {} samples in {} series ({} report(s) fetched, {} failed and skipped)",
        request.output.display(),
        summary.samples,
        summary.series,
        summary.fetched,
        summary.failed
    );
    Ok(())
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    logging::init(args.log.level, args.log.format);
    let mut config = SimConfig::demo();
    config.publish_at = args.publish_at;
    let simulator = Simulator::new(config.clone(), clock::system());
    let addr = simulator.spawn(args.listen).await?;
    println!(
        "Simulated WeChat API on http://{addr} (publishes yesterday after {} UTC+8)",
        args.publish_at
    );
    for account in &config.accounts {
        println!(
            "  app_id {}  app_secret {}",
            account.app_id, account.app_secret
        );
    }
    let shutdown = CancellationToken::new();
    wait_for_signals(shutdown).await;
    Ok(())
}

/// Reloads the config file on every SIGHUP, as Prometheus does.
async fn reload_on_sighup(reloader: Arc<Reloader>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; use POST /-/reload");
            return;
        };
        while hup.recv().await.is_some() {
            // Reloader::reload logs the outcome either way.
            let _ = reloader.reload().await;
        }
    }
    #[cfg(not(unix))]
    drop(reloader);
}

/// Cancels `shutdown` on the first SIGINT/SIGTERM (graceful: in-flight requests finish); a second
/// signal exits at once.
async fn wait_for_signals(shutdown: CancellationToken) {
    signal().await;
    tracing::info!("shutting down; a second signal exits at once");
    shutdown.cancel();
    tokio::spawn(async {
        signal().await;
        std::process::exit(130);
    });
}

async fn signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
