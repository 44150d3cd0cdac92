//! A real Alertmanager (Debian's `prometheus-alertmanager`) on 127.0.0.1 with a given config, and
//! a webhook receiver that records every notification; both stop when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;

use super::harness::{free_port, serve_router};

pub struct Alertmanager {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    super::checks::debian_binary("prometheus-alertmanager", "ALERTMANAGER")
}

impl Alertmanager {
    /// Starts Alertmanager with `config` (YAML text), clustering off, data in a temp dir.
    pub async fn start(config: &str) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alertmanager.yml");
        std::fs::write(&path, config).unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = std::fs::File::create(dir.path().join("alertmanager.log")).unwrap();
        let child = Command::new(binary())
            .arg(format!("--config.file={}", path.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            // No gossip: a single instance that binds nothing but its web port.
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("alertmanager starts");
        let am = Alertmanager { child, addr, dir };
        for _ in 0..300 {
            if let Ok(r) = reqwest::get(format!("http://{addr}/-/ready")).await
                && r.status().is_success()
            {
                return am;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("alertmanager did not become ready:\n{}", am.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }
}

/// Every notification a webhook receiver got: the path it was sent to and the JSON body.
#[derive(Clone, Default)]
pub struct Webhook {
    pub received: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Webhook {
    /// Serves the receiver on 127.0.0.1; returns its base URL.
    pub async fn serve(&self) -> String {
        async fn record(
            State(hook): State<Webhook>,
            uri: axum::http::Uri,
            Json(body): Json<Value>,
        ) -> &'static str {
            hook.received
                .lock()
                .unwrap()
                .push((uri.path().to_string(), body));
            "ok"
        }
        let router = axum::Router::new()
            .route("/{*path}", post(record))
            .with_state(self.clone());
        format!("http://{}", serve_router(router, None).await)
    }

    pub fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}
