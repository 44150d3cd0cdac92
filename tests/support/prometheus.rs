//! A real Prometheus server (Debian's package) for end-to-end tests: 127.0.0.1, a temp dir, a
//! 1-second scrape and rule evaluation interval; killed when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub struct Prometheus {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    super::checks::debian_binary("prometheus", "PROMETHEUS")
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (job `wechat-mp`) and evaluating `rule_files`.
    pub async fn start(targets: &[SocketAddr], rule_files: &[PathBuf]) -> Prometheus {
        Self::start_with(targets, rule_files, None, &[]).await
    }

    /// As [`Prometheus::start`], sending alerts to the Alertmanager at `alertmanager`.
    pub async fn start_alerting(
        targets: &[SocketAddr],
        rule_files: &[PathBuf],
        alertmanager: Option<SocketAddr>,
    ) -> Prometheus {
        Self::start_with(targets, rule_files, alertmanager, &[]).await
    }

    /// [`Prometheus::start`] with `--enable-feature=` each of `features` (e.g.
    /// `native-histograms`, which makes Prometheus ask for the protobuf format first).
    pub async fn start_with_features(
        targets: &[SocketAddr],
        rule_files: &[PathBuf],
        features: &[&str],
    ) -> Prometheus {
        Self::start_with(targets, rule_files, None, features).await
    }

    /// Starts Prometheus with an optional Alertmanager and feature flags.
    pub async fn start_with(
        targets: &[SocketAddr],
        rule_files: &[PathBuf],
        alertmanager: Option<SocketAddr>,
        features: &[&str],
    ) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let rules: Vec<String> = rule_files
            .iter()
            .map(|p| format!("  - {}", abs(p).display()))
            .collect();
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{}\nscrape_configs:\n  - job_name: wechat-mp-exporter\n    static_configs:\n      - targets: [{}]\n",
            if rules.is_empty() {
                "  []".to_string()
            } else {
                rules.join("\n")
            },
            targets.join(", ")
        );
        let config = match alertmanager {
            Some(am) => format!(
                "{config}alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"{am}\"]\n"
            ),
            None => config,
        };
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = super::harness::free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(binary())
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-lifecycle")
            .args(features.iter().map(|f| format!("--enable-feature={f}")))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        let prometheus = Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        for _ in 0..300 {
            if let Ok(r) = reqwest::get(format!("{}/-/ready", prometheus.base)).await
                && r.status().is_success()
            {
                return prometheus;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(prometheus._dir.path().join("prometheus.log"))
            .unwrap_or_default();
        panic!("prometheus did not become ready:\n{log}");
    }

    /// An instant query; returns `data.result`.
    pub async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let response: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", expr)])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if response["status"] != "success" {
            return Err(format!("{expr}: {}", response["error"]));
        }
        Ok(response["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// `/api/v1/alerts`: the active (pending or firing) alerts.
    pub async fn alerts(&self) -> Vec<Value> {
        let response: Value = reqwest::get(format!("{}/api/v1/alerts", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits (bounded) until `expr` returns at least one series; returns the last result, empty
    /// if none came within `limit`. A query Prometheus rejects fails at once.
    pub async fn wait_for(&self, expr: &str, limit: Duration) -> Vec<Value> {
        let start = std::time::Instant::now();
        loop {
            let result = self
                .query(expr)
                .await
                .unwrap_or_else(|e| panic!("query rejected: {e}"));
            if !result.is_empty() || start.elapsed() >= limit {
                return result;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn abs(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
    }
}

/// Copies of the shipped rules (`alerts/*.yml`) in `dir` with every `for:` at 2 s, so that a
/// test reaches `firing` without waiting out minutes; promtool's rule unit tests
/// (alerts/tests) keep testing the real `for:` windows. Expressions, labels and annotations are
/// the shipped ones.
pub fn fast_rules(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in super::checks::files("alerts", ".yml") {
        let text = std::fs::read_to_string(&path).unwrap();
        let fast: Vec<String> = text
            .lines()
            .map(|l| match l.trim_start().strip_prefix("for: ") {
                Some(_) => format!("{}for: 2s", &l[..l.len() - l.trim_start().len()]),
                None => l.to_string(),
            })
            .collect();
        assert!(
            fast.iter().any(|l| l.trim_start() == "for: 2s"),
            "{} has a `for:` to shorten",
            path.display()
        );
        let copy = dir.join(path.file_name().unwrap());
        std::fs::write(&copy, fast.join("\n")).unwrap();
        out.push(copy);
    }
    assert!(!out.is_empty(), "alerts/*.yml are shipped");
    out
}
