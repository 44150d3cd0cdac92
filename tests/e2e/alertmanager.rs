//! The paging path end to end: the exporter and the simulator, Debian's Prometheus with the
//! shipped rules, Debian's `prometheus-alertmanager` with the shipped
//! `deploy/alertmanager/alertmanager.yml`, and a webhook receiver in the test. A callback server
//! that fails WeChat's signed check (HTTP 500 in the simulator) arrives as one notification naming
//! its account and carrying the runbook URL, nothing for the healthy accounts; with the exporter
//! stopped only the exporter-down alert notifies, and a data alert still firing then is inhibited. To keep it short the test's copies
//! shorten every `for:` to 2 s (promtool's unit tests cover the real ones) and the Alertmanager
//! waits to 1-2 s; routing, grouping, inhibition and the receivers are the shipped file's.
//! Alerts are named by alert name only.

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::civil::Time;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use wechat_mp_exporter::clock;
use wechat_mp_exporter::simulator::callback::Behaviour;

use crate::support::alertmanager::{Alertmanager, Webhook};
use crate::support::prometheus::{Prometheus, fast_rules};
use crate::support::{fast_probes, get, run_exporter, sim_config, stack};

const PROBE_ALERT: &str = "WechatMpCallbackProbeFailing";
const DOWN_ALERT: &str = "WechatMpExporterDown";

/// `text` with `from` replaced by `to`, which must occur (the shipped file changed shape else).
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the shipped config");
    text.replace(from, to)
}

/// Every alert of every notification: (receiver path, status, alertname, account, runbook_url).
fn alerts(notifications: &[(String, Value)]) -> Vec<(String, String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    notifications
        .iter()
        .flat_map(|(path, body)| {
            body["alerts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |a| {
                    (
                        path.clone(),
                        s(&a["status"]),
                        s(&a["labels"]["alertname"]),
                        s(&a["labels"]["account"]),
                        s(&a["annotations"]["runbook_url"]),
                    )
                })
        })
        .collect()
}

/// Waits (bounded) until a notification holds a firing `alertname`; then `settle` longer for
/// anything that would come with it. Returns every notification received meanwhile.
async fn wait_for(hook: &Webhook, alertname: &str, limit: Duration) -> Vec<(String, Value)> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        seen.extend(hook.take());
        let fired = alerts(&seen)
            .iter()
            .any(|(_, status, name, _, _)| status == "firing" && name == alertname);
        if fired {
            // group_interval is 2 s: anything else about the same groups comes within it.
            tokio::time::sleep(Duration::from_secs(3)).await;
            seen.extend(hook.take());
            return seen;
        }
        assert!(
            start.elapsed() < limit,
            "no {alertname} notification within {limit:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_callback_server_pages_once_and_a_stopped_exporter_only_as_exporter_down() {
    let hook = Webhook::default();
    let hook_base = hook.serve().await;
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/alertmanager/alertmanager.yml"),
    )
    .unwrap();
    let config = swap(&shipped, "http://alert-receiver.example:9095", &hook_base);
    let config = swap(&config, "group_wait: 30s", "group_wait: 1s");
    let config = swap(&config, "group_interval: 5m", "group_interval: 2s");
    let am = Alertmanager::start(&config).await;

    let stack = stack(sim_config(Time::midnight()), clock::system(), fast_probes).await;
    let names: Vec<String> = stack
        .config
        .accounts
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let failing = names.last().unwrap().clone();
    // The simulator's callback server answers 500 for the last account (probe URLs use its name).
    stack.simulator.callback().set(&failing, Behaviour::Status);
    let shutdown = CancellationToken::new();
    let (addr, server) = run_exporter(stack.exporter, &shutdown).await;

    let dir = tempfile::tempdir().unwrap();
    let rules = fast_rules(dir.path());
    let prometheus = Prometheus::start_alerting(&[addr], &rules, Some(am.addr)).await;

    // The failing callback server: one notification, its account, its runbook, to the pager.
    let seen = wait_for(&hook, PROBE_ALERT, Duration::from_secs(90)).await;
    let all = alerts(&seen);
    let probe: Vec<_> = seen
        .iter()
        .filter(|(_, body)| {
            alerts(&[(String::new(), (*body).clone())])
                .iter()
                .any(|(_, s, n, _, _)| s == "firing" && n == PROBE_ALERT)
        })
        .collect();
    assert_eq!(probe.len(), 1, "one notification: {seen:#?}\n{}", am.log());
    let (path, body) = probe[0];
    assert_eq!(path, "/oncall", "critical goes to the pager");
    assert_eq!(body["groupLabels"]["account"], failing.as_str(), "{body}");
    let (_, _, _, account, runbook) = all.iter().find(|(_, _, n, _, _)| n == PROBE_ALERT).unwrap();
    assert_eq!(account, &failing);
    assert!(
        runbook.ends_with(&format!("docs/runbook.md#{}", PROBE_ALERT.to_lowercase())),
        "{runbook}"
    );
    for (_, _, name, account, _) in &all {
        assert!(
            !names[..names.len() - 1].contains(account),
            "{name} notified for healthy account {account}: {all:#?}"
        );
    }
    eprintln!("notifications while the callback server failed: {all:?}");

    // The exporter stops: only the exporter-down alert notifies; what it measured is inhibited.
    shutdown.cancel();
    let _ = server.await;
    let seen = wait_for(&hook, DOWN_ALERT, Duration::from_secs(60)).await;
    let firing: Vec<_> = alerts(&seen)
        .into_iter()
        .filter(|(_, status, _, _, _)| status == "firing")
        .collect();
    assert!(!firing.is_empty());
    for (_, _, name, _, runbook) in &firing {
        assert_eq!(name, DOWN_ALERT, "only the exporter is down: {firing:#?}");
        assert!(runbook.ends_with("#wechatmpexporterdown"), "{runbook}");
    }
    // The data alerts read last_over_time(...[1h]) and stay firing in Prometheus while the
    // exporter is down (here the probe's series simply went stale): one such alert, sent to
    // Alertmanager as Prometheus would, is inhibited by the exporter-down alert, not notified.
    let stale = serde_json::json!([{
        "labels": {
            "alertname": "WechatMpDataStale",
            "job": "wechat-mp-exporter",
            "account": names[0],
            "api": "getusercumulate",
            "severity": "warning",
        },
        "annotations": {"runbook_url": "https://example.invalid/runbook#wechatmpdatastale"},
    }]);
    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{}/api/v2/alerts", am.addr))
        .json(&stale)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    // Alertmanager holds the data alert as suppressed by the exporter-down alert ...
    let mut data = Value::Null;
    for _ in 0..40 {
        let (_, _, body) = get(&format!("http://{}/api/v2/alerts", am.addr), None).await;
        let held: Value = serde_json::from_str(&body).unwrap();
        if let Some(alert) = held
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["alertname"] == "WechatMpDataStale")
        {
            data = alert.clone();
            if data["status"]["state"] == "suppressed" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(data["status"]["state"], "suppressed", "{data}");
    assert!(
        !data["status"]["inhibitedBy"].as_array().unwrap().is_empty(),
        "{data}"
    );
    // ... and notifies nothing for it: a new group would go out after group_wait (1 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = alerts(&hook.take());
    assert!(
        later
            .iter()
            .all(|(_, status, name, _, _)| status != "firing" || name == DOWN_ALERT),
        "only the exporter-down alert notifies: {later:#?}"
    );
    drop(prometheus);
}
