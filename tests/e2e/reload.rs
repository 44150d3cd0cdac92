//! Config reload (POST /-/reload in-process, SIGHUP on the real binary): accounts that leave the
//! config lose their series, new ones are polled, unchanged ones keep their state, and a broken
//! file changes nothing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use tokio_util::sync::CancellationToken;
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock;
use wechat_mp_exporter::config::Config;
use wechat_mp_exporter::simulator::SimConfig;
use wechat_mp_exporter::wechat::Endpoint;

use crate::support::harness::{exporter_command, serve_with_reload};
use crate::support::{get, parse_text, start_simulator, up, value, wait_for_metrics, write_config};

/// An exporter of the config file `path`, serving `/metrics` and `/-/reload` on 127.0.0.1 and
/// polling; its base URL and the token that stops it.
async fn serve_reloading(path: &Path) -> (String, CancellationToken) {
    let config = Config::load(path).unwrap();
    let exporter = Exporter::new(&config, clock::system()).unwrap();
    let base = serve_with_reload(&exporter, path).await;
    let shutdown = CancellationToken::new();
    tokio::spawn(exporter.scheduler.run(shutdown.clone()));
    (base, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_reload_swaps_accounts_and_a_broken_file_changes_nothing() {
    let (simulator, sim_addr, sim) = start_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    write_config(&path, sim_addr, &sim, &[("brand", 0), ("leaving", 1)]);
    let (base, shutdown) = serve_reloading(&path).await;
    let metrics = format!("{base}/metrics");
    wait_for_metrics(&metrics, |b| {
        up(b, "brand") == Some(1.0) && up(b, "leaving") == Some(1.0)
    })
    .await;
    let brand_calls = simulator.calls_to(&sim.accounts[0].app_id, "getusersummary");
    assert_eq!(brand_calls, 1);

    // "leaving" goes, "joining" comes, "brand" is untouched.
    write_config(&path, sim_addr, &sim, &[("brand", 0), ("joining", 2)]);
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("2 account(s), 1 kept, 1 new or changed, 1 removed"),
        "{text}"
    );
    let body = wait_for_metrics(&metrics, |b| up(b, "joining") == Some(1.0)).await;
    assert!(
        !body.contains("account=\"leaving\""),
        "every series of the removed account is gone"
    );
    assert_eq!(up(&body, "brand"), Some(1.0));
    assert_eq!(
        simulator.calls_to(&sim.accounts[0].app_id, "getusersummary"),
        brand_calls,
        "the kept account is not fetched again"
    );
    assert!(body.contains("wechat_mp_exporter_config_last_reload_successful 1"));

    // A broken file: 400 naming the key, the running config stays.
    std::fs::write(&path, "[[account]]\nname = \"brand\"\napp_id = \"nope\"\n").unwrap();
    let response = client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("account \"brand\".app_id"), "{text}");
    let (_, _, body) = get(&metrics, None).await;
    assert_eq!(up(&body, "brand"), Some(1.0));
    assert_eq!(up(&body, "joining"), Some(1.0));
    assert!(body.contains("wechat_mp_exporter_config_last_reload_successful 0"));
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reloads_on_sighup() {
    let (_simulator, sim_addr, sim) = start_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    write_config(&path, sim_addr, &sim, &[("brand", 0), ("leaving", 1)]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = exporter_command()
        .arg(format!("--config.file={}", path.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    crate::support::wait_until_ok(&format!("http://127.0.0.1:{port}/-/ready")).await;
    wait_for_metrics(&metrics, |b| up(b, "leaving") == Some(1.0)).await;

    write_config(&path, sim_addr, &sim, &[("brand", 0)]);
    let status = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let body = wait_for_metrics(&metrics, |b| !b.contains("account=\"leaving\"")).await;
    assert_eq!(up(&body, "brand"), Some(1.0));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "SIGTERM shuts down cleanly: {exit:?}");
}

/// A config of one account `brand` with a probe of the simulator's callback server signed with
/// `token` (none when `None`), every 200 ms.
fn write_probe_config(path: &Path, sim_addr: SocketAddr, sim: &SimConfig, token: Option<&str>) {
    write_config(path, sim_addr, sim, &[("brand", 0)]);
    if let Some(token) = token {
        let mut text = std::fs::read_to_string(path).unwrap();
        text.push_str(&format!(
            "[account.callback_probe]\nurl = \"http://{sim_addr}/callback/brand\"\ntoken = \"{token}\"\ninterval = \"1s\"\ntimeout = \"1s\"\n"
        ));
        std::fs::write(path, text).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_restarts_a_changed_probe_and_drops_a_removed_one() {
    use wechat_mp_exporter::simulator::callback::SIM_CALLBACK_TOKEN;
    let (_simulator, sim_addr, sim) = start_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    write_probe_config(&path, sim_addr, &sim, Some(SIM_CALLBACK_TOKEN));
    let config = Config::load(&path).unwrap();
    let exporter = Exporter::new(&config, clock::system()).unwrap();
    let base = serve_with_reload(&exporter, &path).await;
    let shutdown = CancellationToken::new();
    exporter.start_probes(shutdown.clone());
    tokio::spawn(exporter.scheduler.run(shutdown.clone()));
    let metrics = format!("{base}/metrics");
    let success = |b: &str| {
        value(
            &parse_text(b),
            "wechat_mp_callback_probe_success",
            "brand",
            &[],
        )
    };
    wait_for_metrics(&metrics, |b| success(b) == Some(1.0)).await;

    // The Token changed in the file only: the server rejects the new signature.
    write_probe_config(&path, sim_addr, &sim, Some("rotatedtoken1"));
    let client = reqwest::Client::new();
    let reload = |client: reqwest::Client| {
        let url = format!("{base}/-/reload");
        async move { client.post(url).send().await.unwrap().status() }
    };
    assert_eq!(reload(client.clone()).await, 200);
    let body = wait_for_metrics(&metrics, |b| success(b) == Some(0.0)).await;
    assert!(
        body.contains(
            "wechat_mp_callback_probe_failures_total{account=\"brand\",reason=\"signature_rejected\"} "
        ),
        "{body}"
    );
    assert!(!body.contains("rotatedtoken1") && !body.contains(SIM_CALLBACK_TOKEN));

    // The probe leaves the file: its series go, the account's others stay.
    write_probe_config(&path, sim_addr, &sim, None);
    assert_eq!(reload(client).await, 200);
    let body = wait_for_metrics(&metrics, |b| !b.contains("wechat_mp_callback_probe_")).await;
    assert!(up(&body, "brand").is_some());
    shutdown.cancel();
}

/// A reload that excludes `hourly` rebuilds the pollers without the hourly endpoints: their series
/// go at once, and the rebuilt accounts fetch everything else but never an hourly endpoint again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_excluding_hourly_stops_calling_the_hourly_endpoints() {
    let (simulator, sim_addr, sim) = start_simulator().await;
    let app = &sim.accounts[0].app_id;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    write_config(&path, sim_addr, &sim, &[("brand", 0)]);
    let (base, shutdown) = serve_reloading(&path).await;
    let metrics = format!("{base}/metrics");
    wait_for_metrics(&metrics, |b| {
        up(b, "brand") == Some(1.0) && b.contains("wechat_mp_hourly_article_reads{")
    })
    .await;
    const HOURLY: [&str; 4] = [
        "getuserreadhour",
        "getusersharehour",
        "getupstreammsghour",
        "getinterfacesummaryhour",
    ];
    let calls = || -> BTreeMap<&'static str, u64> {
        Endpoint::ALL
            .into_iter()
            .map(|e| (e.name(), simulator.calls_to(app, e.name())))
            .collect()
    };
    let before = calls();
    assert!(HOURLY.iter().all(|api| before[api] >= 1), "{before:?}");

    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("[metrics]\nexclude = [\"hourly\"]\n");
    std::fs::write(&path, text).unwrap();
    let response = reqwest::Client::new()
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let said = response.text().await.unwrap();
    assert!(said.contains("1 new or changed"), "{said}");
    let (_, _, body) = get(&metrics, None).await;
    assert!(!body.contains("hour=\""), "hourly series go at once");
    // The rebuilt poller fetches the day again (no state directory here): wait until every
    // other endpoint has been called again, so its round is over.
    let refetched = |now: &BTreeMap<&str, u64>| {
        now.iter()
            .all(|(api, n)| HOURLY.contains(api) || *n > before[api])
    };
    for _ in 0..300 {
        if refetched(&calls()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let after = calls();
    assert!(refetched(&after), "{before:?} -> {after:?}");
    for api in HOURLY {
        assert_eq!(after[api], before[api], "{api} called after the reload");
    }
    // The rebuilt account is up again once its first round has ended.
    let body = wait_for_metrics(&metrics, |b| up(b, "brand") == Some(1.0)).await;
    assert!(!body.contains("hour=\""));
    assert!(body.contains("wechat_mp_article_reads{"));
    shutdown.cancel();
}
