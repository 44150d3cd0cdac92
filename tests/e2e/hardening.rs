//! HTTP server hardening on the real binary: connections that never finish their request
//! headers (or their TLS handshake) are closed after `--web.header-read-timeout`, and a scrape
//! succeeds while 2,000 of them are open.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::harness::{exporter_command, free_port};
use crate::support::{start_simulator, write_config};

fn spawn(dir: &Path, port: u16, extra: &[String]) -> Child {
    exporter_command()
        .arg(format!(
            "--config.file={}",
            dir.join("exporter.toml").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.path=")
        .arg("--web.header-read-timeout=2s")
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Opens `n` connections that send `prefix` and never anything more.
async fn open_stalled(port: u16, n: usize, prefix: &'static [u8]) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(prefix).await.unwrap();
        out.push(s);
    }
    out
}

/// Whether the server closes `s` (EOF or reset) within `within` (a hang guard, generous).
async fn closed(mut s: TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

async fn all_closed(streams: Vec<TcpStream>) -> usize {
    let checks = streams
        .into_iter()
        .map(|s| closed(s, Duration::from_secs(30)));
    futures::future::join_all(checks)
        .await
        .into_iter()
        .filter(|c| *c)
        .count()
}

async fn wait_answering(client: &reqwest::Client, url: &str) {
    for _ in 0..300 {
        if client.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_clients_are_closed_and_a_scrape_succeeds_among_2000_of_them() {
    let (_simulator, sim_addr, sim) = start_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(
        &dir.path().join("exporter.toml"),
        sim_addr,
        &sim,
        &[("brand", 0)],
    );
    let port = free_port();
    let mut child = spawn(dir.path(), port, &[]);
    let client = reqwest::Client::new();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    wait_answering(&client, &metrics).await;

    let stalled = open_stalled(port, 2000, b"GET /metrics HTTP/1.1\r\nHost: x\r\n").await;
    let response = client.get(&metrics).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("wechat_mp_up"));
    assert_eq!(
        all_closed(stalled).await,
        2000,
        "every stalled client is closed"
    );

    // Silent connections (not a byte sent) too.
    let silent = open_stalled(port, 100, b"").await;
    assert_eq!(all_closed(silent).await, 100);
    let response = client.get(&metrics).send().await.unwrap();
    assert_eq!(response.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_tls_handshakes_are_closed_and_tls_scrapes_succeed() {
    let (_simulator, sim_addr, sim) = start_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(
        &dir.path().join("exporter.toml"),
        sim_addr,
        &sim,
        &[("brand", 0)],
    );
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.path().join("server.crt"), key.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("server.key"),
        key.signing_key.serialize_pem(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    )
    .unwrap();
    let port = free_port();
    let web = format!("--web.config.file={}", dir.path().join("web.yml").display());
    let mut child = spawn(dir.path(), port, &[web]);
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(key.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let metrics = format!("https://localhost:{port}/metrics");
    wait_answering(&client, &metrics).await;

    // Never start the handshake; and start a request after a real handshake but never finish it
    // is the plain case above, which TLS shares.
    let stalled = open_stalled(port, 500, b"").await;
    let response = client.get(&metrics).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(all_closed(stalled).await, 500);
    child.kill().unwrap();
    child.wait().unwrap();
}
