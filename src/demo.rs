//! `wechat-mp-exporter demo`: the simulator and the exporter in one process on 127.0.0.1.
//!
//! The simulated accounts publish "yesterday" from midnight UTC+8, so every report has data at once,
//! whatever the hour the demo starts.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use jiff::civil::Time;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::Exporter;
use crate::clock::SharedClock;
use crate::config::{
    AccountConfig, AesKey, CallbackProbeConfig, Config, MessageMode, MetricsSettings,
    ScheduleSettings, TokenSourceConfig, WeChatSettings,
};
use crate::simulator::callback::{SIM_CALLBACK_TOKEN, SIM_ENCODING_AES_KEY};
use crate::simulator::{SimConfig, Simulator};
use crate::wechat::ReportGroup;

/// A running demo.
pub struct Demo {
    /// The simulated WeChat API.
    pub simulator: Simulator,
    /// Where the simulator listens.
    pub simulator_addr: SocketAddr,
    /// Where the exporter listens.
    pub exporter_addr: SocketAddr,
    /// The `account` labels of the demo accounts.
    pub account_names: Vec<String>,
    /// Cancelled by `stop` (or by the caller) to end both servers.
    pub shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The simulator's demo accounts, named `demo-1`, `demo-2`, ...
pub fn demo_sim_config() -> SimConfig {
    let mut sim = SimConfig::demo();
    sim.publish_at = Time::midnight();
    sim
}

/// How often the demo probes: often enough that the dashboard's probe row fills in a minute.
pub const DEMO_PROBE_INTERVAL: Duration = Duration::from_secs(10);

/// The probe of the simulator's callback server for `name`; the second account also sends the
/// message probe in safe mode.
fn demo_probe(base_url: &url::Url, name: &str, i: usize) -> Option<CallbackProbeConfig> {
    Some(CallbackProbeConfig {
        url: base_url.join(&format!("callback/{name}")).ok()?,
        token: SecretString::from(SIM_CALLBACK_TOKEN),
        interval: DEMO_PROBE_INTERVAL,
        timeout: Duration::from_secs(5),
        encoding_aes_key: (i == 1)
            .then(|| AesKey::parse(SIM_ENCODING_AES_KEY))
            .flatten(),
        message_probe: i == 1,
        message_mode: if i == 1 {
            MessageMode::Safe
        } else {
            MessageMode::Plain
        },
    })
}

/// A config polling `accounts` of a simulator at `base_url` and probing its callback server.
pub fn config_for_simulator(base_url: url::Url, sim: &SimConfig) -> Config {
    Config {
        wechat: WeChatSettings {
            api_base_url: base_url.clone(),
            timeout: Duration::from_secs(10),
            max_retries: 3,
            retry_backoff: Duration::from_millis(200),
            concurrency: crate::config::Concurrency::Fixed(8),
            rate_limit: 0,
        },
        schedule: ScheduleSettings {
            publish_after: sim.publish_at,
            retry_interval: Duration::from_secs(30 * 60),
            // The simulator publishes a day completely or not at all, so an empty answer on a
            // published day means nothing happened.
            empty_is_zero_after: sim.publish_at,
            error_retry_interval: Duration::from_secs(3600),
        },
        metrics: MetricsSettings {
            max_articles_per_account: 200,
            exclude: Default::default(),
        },
        otlp: None,
        components: Vec::new(),
        accounts: sim
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| AccountConfig {
                name: format!("demo-{}", i + 1),
                app_id: a.app_id.clone(),
                app_secret: Some(SecretString::from(a.app_secret.clone())),
                token: TokenSourceConfig::Stable,
                reports: ReportGroup::ALL.into_iter().collect::<BTreeSet<_>>(),
                callback_probe: demo_probe(&base_url, &format!("demo-{}", i + 1), i),
            })
            .collect(),
    }
}

impl Demo {
    /// Starts the simulator on an OS-chosen port and the exporter on `listen`, both polling at once.
    pub async fn start(listen: SocketAddr, clock: SharedClock) -> anyhow::Result<Demo> {
        let sim_config = demo_sim_config();
        let simulator = Simulator::new(sim_config.clone(), clock.clone());
        let simulator_addr = simulator
            .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await?;
        let base_url = url::Url::parse(&format!("http://{simulator_addr}"))?;
        let config = config_for_simulator(base_url, &sim_config);
        let account_names = config.accounts.iter().map(|a| a.name.clone()).collect();
        let exporter = Exporter::new(&config, clock)?;
        // The status page links the simulator, whose `/` lists the credentials it accepts.
        exporter
            .board
            .add_link("Simulated WeChat API", &format!("http://{simulator_addr}/"));
        let listener = TcpListener::bind(listen).await?;
        let exporter_addr = listener.local_addr()?;
        let router = exporter.router("/metrics");
        let shutdown = CancellationToken::new();
        let serve_shutdown = shutdown.clone();
        let server = tokio::spawn(async move {
            let stop = serve_shutdown.cancelled_owned();
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(error = %e, "demo exporter server failed");
            }
        });
        exporter.start_probes(shutdown.clone());
        let poller = tokio::spawn(exporter.scheduler.run(shutdown.clone()));
        Ok(Demo {
            simulator,
            simulator_addr,
            exporter_addr,
            account_names,
            shutdown,
            tasks: vec![server, poller],
        })
    }

    /// Stops both servers and waits for them.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
