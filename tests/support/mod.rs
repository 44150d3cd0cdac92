//! Helpers shared by the end-to-end tests: scraping, parsing the text exposition, locating promtool,
//! wiring an exporter to an in-process simulator.
#![allow(dead_code)]

pub mod alertmanager;
pub mod checks;
pub mod chromium;
pub mod faults;
pub mod harness;
pub mod prometheus;
pub mod t1;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use jiff::civil::Time;
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock::{self, SharedClock};
use wechat_mp_exporter::config::Config;
use wechat_mp_exporter::demo::config_for_simulator;
use wechat_mp_exporter::simulator::{SimConfig, Simulator};

/// One sample of the classic text exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// Parses the classic Prometheus text format (0.0.4), unescaping label values.
pub fn parse_text(body: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in body.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name_end, mut labels) = match line.find('{') {
            Some(open) => (open, BTreeMap::new()),
            None => (
                line.find(' ').expect("a sample line has a value"),
                BTreeMap::new(),
            ),
        };
        let name = line[..name_end].to_string();
        let mut rest = &line[name_end..];
        if rest.starts_with('{') {
            rest = &rest[1..];
            loop {
                if let Some(r) = rest.strip_prefix('}') {
                    rest = r;
                    break;
                }
                let eq = rest.find('=').expect("label=value");
                let key = rest[..eq].trim_start_matches(',').to_string();
                let mut chars = rest[eq + 1..].char_indices();
                assert_eq!(
                    chars.next().map(|c| c.1),
                    Some('"'),
                    "label value opens with a quote: {line}"
                );
                let mut value = String::new();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|c| c.1) {
                            Some('n') => value.push('\n'),
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            other => panic!("bad escape {other:?} in {line}"),
                        },
                        '"' => {
                            end = Some(eq + 1 + i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                labels.insert(key, value);
                rest = &rest[end.expect("label value closes")..];
                rest = rest.strip_prefix(',').unwrap_or(rest);
            }
        }
        let value = rest.trim().split(' ').next().expect("a value");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|e| panic!("bad value {v:?} in {line}: {e}")),
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

/// Samples of `name` for `account`.
pub fn of<'a>(samples: &'a [Sample], name: &str, account: &str) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.name == name && s.label("account") == Some(account))
        .collect()
}

/// The single sample of `name` for `account` whose labels include `labels`.
pub fn value(
    samples: &[Sample],
    name: &str,
    account: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    let found: Vec<_> = of(samples, name, account)
        .into_iter()
        .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .collect();
    assert!(
        found.len() <= 1,
        "{name} {labels:?} matches {} samples",
        found.len()
    );
    found.first().map(|s| s.value)
}

/// GETs `url`; returns status, content type and body.
pub async fn get(url: &str, accept: Option<&str>) -> (u16, String, String) {
    let client = reqwest::Client::new();
    let mut request = client.get(url);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (
        status,
        content_type,
        response.text().await.expect("a text body"),
    )
}

/// Waits (bounded) until `url` answers 200; this guards against hangs, it does not measure speed.
pub async fn wait_until_ok(url: &str) {
    for _ in 0..600 {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not become ready within a minute");
}

/// A simulator on 127.0.0.1 and an exporter (not yet polling) configured for all its accounts.
pub struct Stack {
    pub simulator: Simulator,
    pub simulator_addr: SocketAddr,
    pub config: Config,
    pub exporter: Exporter,
}

pub async fn stack(sim: SimConfig, clock: SharedClock, tune: impl FnOnce(&mut Config)) -> Stack {
    let simulator = Simulator::new(sim.clone(), clock.clone());
    let simulator_addr = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator starts");
    let base = url::Url::parse(&format!("http://{simulator_addr}")).unwrap();
    let mut config = config_for_simulator(base, &sim);
    config.wechat.retry_backoff = Duration::from_millis(1);
    tune(&mut config);
    let exporter = Exporter::new(&config, clock).expect("exporter builds");
    Stack {
        simulator,
        simulator_addr,
        config,
        exporter,
    }
}

/// SimConfig::demo() publishing at `publish_at` UTC+8.
pub fn sim_config(publish_at: Time) -> SimConfig {
    let mut sim = SimConfig::demo();
    sim.publish_at = publish_at;
    sim
}

/// Probes every account's callback server each second (with a 1 s timeout), so probe results and
/// alerts come within seconds.
pub fn fast_probes(c: &mut Config) {
    for p in c
        .accounts
        .iter_mut()
        .filter_map(|a| a.callback_probe.as_mut())
    {
        p.interval = Duration::from_secs(1);
        p.timeout = Duration::from_secs(1);
    }
}

/// Serves `exporter` on 127.0.0.1 until `shutdown`, starts its probes and its poll loop, and waits
/// until it is ready. Returns its address and the server's task (it ends after `shutdown`).
pub async fn run_exporter(
    exporter: Exporter,
    shutdown: &tokio_util::sync::CancellationToken,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = exporter.router("/metrics");
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    exporter.start_probes(shutdown.clone());
    tokio::spawn(exporter.scheduler.run(shutdown.clone()));
    wait_until_ok(&format!("http://{addr}/-/ready")).await;
    (addr, server)
}

/// Serves `exporter`'s routes on 127.0.0.1; returns the base URL.
pub async fn serve(exporter: &Exporter) -> String {
    format!(
        "http://{}",
        harness::serve_router(exporter.router("/metrics"), None).await
    )
}

/// One sample of a timestamped OpenMetrics file (the backfill output) and its timestamp in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub sample: Sample,
    /// The last field of the line, parsed as whole seconds; `None` when missing or not an integer.
    pub timestamp: Option<i64>,
}

/// Parses OpenMetrics sample lines `name{labels} value timestamp`, skipping `#` lines.
pub fn parse_timestamped(body: &str) -> Vec<Timed> {
    body.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut sample = parse_text(line);
            assert_eq!(sample.len(), 1, "one sample per line: {line}");
            // Value and timestamp follow the label set, whose last `}` ends it (they hold none).
            let rest = match line.rfind('}') {
                Some(i) => &line[i + 1..],
                None => line.split_once(' ').map_or("", |(_, r)| r),
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let timestamp = match fields.as_slice() {
                [_value, ts] => ts.parse().ok(),
                _ => None,
            };
            Timed {
                sample: sample.remove(0),
                timestamp,
            }
        })
        .collect()
}

/// A config file polling `accounts` (name, index into the simulator's accounts).
pub fn write_config(
    path: &Path,
    sim_addr: SocketAddr,
    sim: &SimConfig,
    accounts: &[(&str, usize)],
) {
    let mut text = format!(
        "[wechat]\napi_base_url = \"http://{sim_addr}\"\nretry_backoff = \"1ms\"\n[schedule]\npublish_after = \"00:00\"\nempty_is_zero_after = \"00:00\"\n"
    );
    for (name, i) in accounts {
        let a = &sim.accounts[*i];
        text.push_str(&format!(
            "[[account]]\nname = \"{name}\"\napp_id = \"{}\"\napp_secret = \"{}\"\n",
            a.app_id, a.app_secret
        ));
    }
    std::fs::write(path, text).unwrap();
}

pub async fn start_simulator() -> (Simulator, SocketAddr, SimConfig) {
    let sim = sim_config(Time::midnight());
    let simulator = Simulator::new(sim.clone(), clock::system());
    let addr = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    (simulator, addr, sim)
}

/// Polls `url` until `done(body)` (bounded; a hang guard, not a timing assertion).
pub async fn wait_for_metrics(url: &str, done: impl Fn(&str) -> bool) -> String {
    for _ in 0..300 {
        let (_, _, body) = get(url, None).await;
        if done(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never reached the expected state");
}

pub fn up(body: &str, account: &str) -> Option<f64> {
    value(&parse_text(body), "wechat_mp_up", account, &[])
}

/// `n` simulated accounts (app_ids `wxscale` + index) publishing at `publish_at` UTC+8.
pub fn many_accounts(n: usize, publish_at: Time) -> SimConfig {
    let mut sim = sim_config(publish_at);
    sim.accounts = (0..n)
        .map(|i| wechat_mp_exporter::simulator::SimAccount {
            app_id: format!("wxscale{i:011}"),
            app_secret: format!("secret-{i:026}"),
        })
        .collect();
    sim
}

/// Polls only the follower reports (getusersummary, getusercumulate): the cheapest complete
/// account, for tests about many accounts rather than about the reports.
pub fn users_only(c: &mut Config) {
    for a in &mut c.accounts {
        a.reports = [wechat_mp_exporter::wechat::ReportGroup::Users]
            .into_iter()
            .collect();
    }
}

/// The text of every account file in `storage/accounts` (gzipped JSON since state format 2),
/// concatenated: what the tests search for secrets.
pub fn state_text(storage: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(storage.join("accounts")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
    }
    text
}

/// The environment variable that replays a random test: its value is the seed to use.
pub const SEED_VAR: &str = "WECHAT_MP_TEST_SEED";

/// A random generator for `test`, seeded from `WECHAT_MP_TEST_SEED` when set, else from a fresh
/// random seed; the seed is printed (shown when the test fails) so that a failure can be replayed.
pub fn seeded_rng(test: &str) -> rand::rngs::StdRng {
    use rand::SeedableRng as _;
    let seed = match std::env::var(SEED_VAR) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VAR}={v:?} is not an unsigned 64-bit number")),
        Err(_) => rand::random(),
    };
    println!("{test}: random seed {seed} (replay with {SEED_VAR}={seed})");
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// `field` of /proc/self/status (`VmHWM:`, the peak resident memory since the last reset, or
/// `VmRSS:`, the current), in KiB.
pub fn memory_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}
