//! The one place tests start things: the exporter binary, routers on free 127.0.0.1 ports, an
//! exporter served with a reloader, promtool reading stdin.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};

use tokio_util::sync::CancellationToken;
use wechat_mp_exporter::app::Exporter;

/// The exporter binary Cargo built for this test run.
pub fn exporter_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wechat-mp-exporter"))
}

/// A port free on 127.0.0.1 a moment ago, for a child process to listen on.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves `router` on a free 127.0.0.1 port, until `shutdown` when given; returns its address.
pub async fn serve_router(
    router: axum::Router,
    shutdown: Option<&CancellationToken>,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = shutdown.cloned().unwrap_or_default();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    addr
}

/// Serves `exporter`'s routes with `/-/reload` reloading the config file `path`; returns the base
/// URL. The poll loop and the probes are the caller's to start.
pub async fn serve_with_reload(exporter: &Exporter, path: &Path) -> String {
    let reloader = exporter.reloader(path.to_path_buf());
    let router = exporter.router_with_reload("/metrics", Some(reloader));
    format!("http://{}", serve_router(router, None).await)
}

/// Runs promtool with `args`, `input` on its stdin; returns (success, stdout + stderr).
pub fn promtool_stdin(args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(super::checks::promtool())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}
