//! Debian's Prometheus server for end-to-end tests: started on 127.0.0.1 (OS-chosen port) in a temp
//! dir with the shipped alert rules and a 1 s scrape and evaluation interval, scraping the given
//! targets as job `wechat-mp-exporter`; plus the HTTP API calls the tests need.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The job name the shipped rules select on.
pub const JOB: &str = "wechat-mp-exporter";

/// `/usr/bin/prometheus`, or `PROMETHEUS`.
pub fn prometheus_binary() -> PathBuf {
    let path = std::env::var_os("PROMETHEUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"));
    assert!(
        path.exists(),
        "prometheus not found at {} (apt-get install prometheus, or set PROMETHEUS)",
        path.display()
    );
    path
}

/// A running Prometheus; killed when dropped.
pub struct Prometheus {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` every second with `alerts/*.yml` loaded, and waits
    /// (bounded) until it is ready.
    pub async fn start(targets: &[SocketAddr]) -> Prometheus {
        let dir = tempfile::tempdir().expect("a temp dir");
        let rules = dir.path().join("rules");
        std::fs::create_dir(&rules).expect("rules dir");
        let alerts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("alerts");
        for entry in std::fs::read_dir(&alerts).expect("alerts/") {
            let path = entry.expect("an entry").path();
            if path.is_file() && path.extension().is_some_and(|e| e == "yml") {
                std::fs::copy(&path, rules.join(path.file_name().expect("a name")))
                    .expect("copy rules");
            }
        }
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - rules/*.yml\n\
             scrape_configs:\n  - job_name: {JOB}\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
             \x20   static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write config");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(prometheus_binary())
            .current_dir(dir.path())
            .args([
                "--config.file=prometheus.yml",
                "--storage.tsdb.path=data",
                "--web.listen-address=127.0.0.1:0",
                "--log.level=info",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        let mut prometheus = Prometheus {
            child,
            base: String::new(),
            dir,
            http: reqwest::Client::new(),
        };
        // Prometheus logs the port the OS chose: `msg="Listening on" address=127.0.0.1:PORT`.
        for _ in 0..300 {
            let text = prometheus.log();
            if let Some(addr) = text
                .lines()
                .filter(|l| l.contains("msg=\"Listening on\""))
                .find_map(|l| l.split("address=").nth(1))
            {
                prometheus.base =
                    format!("http://{}", addr.split_whitespace().next().unwrap_or(addr));
                break;
            }
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                panic!("prometheus exited with {status}:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            !prometheus.base.is_empty(),
            "prometheus did not listen:\n{}",
            prometheus.log()
        );
        for _ in 0..300 {
            let ready = prometheus
                .http
                .get(format!("{}/-/ready", prometheus.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return prometheus;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("prometheus not ready within 30 s:\n{}", prometheus.log());
    }

    /// What Prometheus logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    async fn api(&self, path: &str, params: &[(&str, String)]) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(params)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let body: Value = response.json().await.expect("a JSON answer");
        assert_eq!(body["status"], "success", "{path} {params:?}: {body}");
        body["data"].clone()
    }

    /// Instant query at the server's now: the result vector (or scalar as one element).
    pub async fn query(&self, expr: &str) -> Vec<Value> {
        let data = self
            .api("/api/v1/query", &[("query", expr.to_string())])
            .await;
        match data["resultType"].as_str() {
            Some("scalar") => vec![data["result"].clone()],
            _ => data["result"].as_array().cloned().unwrap_or_default(),
        }
    }

    /// Range query over the last `seconds` seconds with a 1 s step.
    pub async fn query_range(&self, expr: &str, seconds: u64) -> Vec<Value> {
        let end = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let data = self
            .api(
                "/api/v1/query_range",
                &[
                    ("query", expr.to_string()),
                    ("start", format!("{:.3}", end - seconds as f64)),
                    ("end", format!("{end:.3}")),
                    ("step", "1".to_string()),
                ],
            )
            .await;
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// Series matching `selector`.
    pub async fn series(&self, selector: &str) -> Vec<Value> {
        let data = self
            .api("/api/v1/series", &[("match[]", selector.to_string())])
            .await;
        data.as_array().cloned().unwrap_or_default()
    }

    /// Every alerting rule as `/api/v1/rules` reports it (name, state, health, alerts, ...).
    pub async fn alerting_rules(&self) -> Vec<Value> {
        let data = self
            .api("/api/v1/rules", &[("type", "alert".to_string())])
            .await;
        data["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Active alerts (pending or firing) from `/api/v1/alerts`.
    pub async fn alerts(&self) -> Vec<Value> {
        let data = self.api("/api/v1/alerts", &[]).await;
        data["alerts"].as_array().cloned().unwrap_or_default()
    }

    /// Polls (bounded by `limit`; a guard against hangs, not a speed assertion) until `expr`
    /// returns at least one sample.
    pub async fn wait_for(&self, expr: &str, limit: Duration) {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if !self.query(expr).await.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("{expr} returned nothing within {limit:?}:\n{}", self.log());
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
