//! State that survives restarts (`--storage.path`): a restarted exporter serves the last values
//! (quota gauges included) before any upstream call, is ready at once and never fetches a final
//! day again; SIGKILL at any moment loses nothing that was stored; damaged state files are set
//! aside with a warning; a format 1 file is migrated.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::support::harness::{exporter_command, free_port};
use jiff::civil::{Time, time};
use rand::Rng as _;
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::metrics::lookup;
use wechat_mp_exporter::simulator::Simulator;
use wechat_mp_exporter::storage;
use wechat_mp_exporter::wechat::Endpoint;
use wechat_mp_exporter::wechat::date::{add_days, china_at, china_today};

use crate::support::{
    Sample, Stack, get, parse_text, seeded_rng, sim_config, stack, start_simulator, up,
    wait_for_metrics, write_config,
};

/// The series that describe the accounts (every catalogued family with a WeChat source, the
/// quota gauges and `wechat_mp_up`), not the exporter's own counters, which start again at 0 by
/// design.
fn business(body: &str) -> Vec<Sample> {
    parse_text(body)
        .into_iter()
        .filter(|s| {
            s.name == "wechat_mp_up"
                || s.name == "wechat_mp_data_date_timestamp_seconds"
                || s.name.starts_with("wechat_mp_api_quota_")
                || lookup(&s.name).is_some_and(|m| !m.endpoint.is_empty())
        })
        .collect()
}

/// The quota gauges among `samples`: (name, account, api) and value.
fn quotas(samples: &[Sample]) -> Vec<(String, String, String, f64)> {
    samples
        .iter()
        .filter(|s| s.name.starts_with("wechat_mp_api_quota_"))
        .map(|s| {
            let label = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
            (s.name.clone(), label("account"), label("api"), s.value)
        })
        .collect()
}

/// Checks the quota gauges of `samples` are those of a first day's reads of `accounts`: every
/// family for every account, and the figures hold together (limit = used + remaining).
fn assert_quota_gauges(samples: &[Sample], accounts: &[&str]) {
    let q = quotas(samples);
    for account in accounts {
        for family in [
            "wechat_mp_api_quota_limit_requests",
            "wechat_mp_api_quota_used_requests",
            "wechat_mp_api_quota_remaining_requests",
        ] {
            assert!(
                q.iter().any(|(n, a, _, _)| n == family && a == account),
                "no {family} of {account}: {q:?}"
            );
        }
        let of = |family: &str, api: &str| {
            q.iter()
                .find(|(n, a, p, _)| n == family && a == account && p == api)
                .map(|(.., v)| *v)
                .unwrap_or_else(|| panic!("no {family} of {account} {api}: {q:?}"))
        };
        let limit = of("wechat_mp_api_quota_limit_requests", "getusercumulate");
        let used = of("wechat_mp_api_quota_used_requests", "getusercumulate");
        let remain = of("wechat_mp_api_quota_remaining_requests", "getusercumulate");
        assert!(
            limit > 0.0 && used >= 1.0,
            "{account}: limit {limit}, used {used}"
        );
        assert_eq!(limit, used + remain, "{account}");
    }
}

fn datacube_calls(sim: &Simulator) -> BTreeMap<(String, String), u64> {
    sim.calls()
        .into_iter()
        .filter(|((_, api), _)| api.parse::<Endpoint>().is_ok())
        .collect()
}

/// A simulator publishing at 09:00 and its exporter's stack at 10:00 UTC+8 on `day`, the day
/// before published.
async fn published_stack(day: jiff::civil::Date) -> (Stack, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(china_at(day, time(10, 0, 0, 0))));
    let tune = |c: &mut wechat_mp_exporter::config::Config| {
        c.schedule.publish_after = time(8, 0, 0, 0);
        c.schedule.empty_is_zero_after = time(9, 0, 0, 0);
    };
    let stack = stack(sim_config(Time::constant(9, 0, 0, 0)), clock.clone(), tune).await;
    (stack, clock)
}

#[tokio::test]
async fn a_restart_serves_the_saved_values_and_fetches_no_final_day_again() {
    let day = jiff::civil::date(2026, 11, 18);
    let (stack, clock) = published_stack(day).await;
    let dir = tempfile::tempdir().unwrap();
    let mut first = Exporter::with_storage(&stack.config, clock.clone(), Some(dir.path())).unwrap();
    let round = first.scheduler.tick().await;
    assert!(round.requests > 50, "a full first round: {round:?}");
    assert_eq!(round.failures, 0);
    let before = business(&String::from_utf8_lossy(&first.store.exposition().text));
    assert!(before.len() > 100, "{} series", before.len());
    let names: Vec<&str> = stack
        .config
        .accounts
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_quota_gauges(&before, &names);
    first.state_writer().unwrap().sync();
    drop(first);

    stack.simulator.reset_calls();
    let mut second =
        Exporter::with_storage(&stack.config, clock.clone(), Some(dir.path())).unwrap();
    let after = business(&String::from_utf8_lossy(&second.store.exposition().text));
    assert_eq!(
        after, before,
        "every business series, same value, quota gauges included, before any call"
    );
    assert!(second.board.is_ready(), "/-/ready at once");
    assert!(stack.simulator.calls().is_empty());

    // The rest of the simulated day, waking up as the scheduler would: nothing is final-day work.
    let end = china_at(add_days(day, 1), Time::midnight()) - jiff::SignedDuration::from_secs(1);
    loop {
        second.scheduler.tick().await;
        let next = second.scheduler.next_wakeup();
        if next > end {
            break;
        }
        clock.set(next);
    }
    assert_eq!(datacube_calls(&stack.simulator), BTreeMap::new());
}

/// The exporter binary on `storage`, logging to `log`.
fn spawn(config: &Path, storage: &Path, port: u16, log: &Path) -> Child {
    exporter_command()
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--storage.path={}", storage.display()))
        .current_dir(storage.parent().unwrap())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Polls `url` until it answers at all (at most 30 s: a debug binary starting on a loaded
/// machine), returning the first answer's status.
async fn first_answer(url: &str) -> (u16, String) {
    for _ in 0..1500 {
        if let Ok(r) = reqwest::get(url).await {
            let status = r.status().as_u16();
            return (status, r.text().await.unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url} never answered");
}

/// Waits until the simulator has seen no datacube call for a while and the state file has
/// stopped changing: the first round is over and saved.
async fn settle(sim: &Simulator, file: &Path) {
    let mut last = (datacube_calls(sim), std::fs::read(file).ok());
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = (datacube_calls(sim), std::fs::read(file).ok());
        if now == last && now.1.is_some() {
            return;
        }
        last = now;
    }
    panic!("the exporter never settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_restarts_from_its_state_after_sigterm_and_after_sigkill() {
    let (simulator, sim_addr, sim) = start_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("exporter.toml");
    write_config(&config, sim_addr, &sim, &[("brand", 0), ("news", 1)]);
    let storage = dir.path().join("state");
    let log = dir.path().join("log");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let metrics = format!("{base}/metrics");

    let mut child = spawn(&config, &storage, port, &log);
    first_answer(&metrics).await;
    wait_for_metrics(&metrics, |b| {
        up(b, "brand") == Some(1.0) && up(b, "news") == Some(1.0)
    })
    .await;
    settle(&simulator, &storage.join("accounts/news.json.gz")).await;
    let (_, _, body) = get(&metrics, None).await;
    let before = business(&body);
    assert_quota_gauges(&before, &["brand", "news"]);

    for sig in ["TERM", "KILL"] {
        signal(&child, sig);
        let exit = child.wait().unwrap();
        if sig == "TERM" {
            assert!(exit.success(), "SIGTERM exits cleanly: {exit:?}");
        }
        let calls = simulator.calls();
        child = spawn(&config, &storage, port, &log);
        let (status, _) = first_answer(&format!("{base}/-/ready")).await;
        assert_eq!(status, 200, "ready at once after SIG{sig}");
        let (_, _, body) = get(&metrics, None).await;
        assert_eq!(
            business(&body),
            before,
            "after SIG{sig}: every series, quota gauges included"
        );
        if sig == "TERM" {
            // Before any upstream call at all: no datacube, quota or token request.
            assert_eq!(simulator.calls(), calls, "no upstream call after SIGTERM");
        }
        assert_eq!(
            datacube_calls(&simulator),
            calls
                .into_iter()
                .filter(|((_, api), _)| api.parse::<Endpoint>().is_ok())
                .collect(),
            "no datacube call after SIG{sig} (values above came from the state)"
        );
        // And none later: every day it has is final.
        settle(&simulator, &storage.join("accounts/news.json.gz")).await;
        let (_, _, body) = get(&metrics, None).await;
        assert_eq!(business(&body), before);
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("loaded the saved state"), "{text}");
    signal(&child, "TERM");
    child.wait().unwrap();
    // Never a token or a secret in the state.
    let tokens = simulator.issued_tokens();
    assert!(!tokens.is_empty());
    for name in ["brand", "news"] {
        let bytes = std::fs::read(storage.join(format!("accounts/{name}.json.gz"))).unwrap();
        let mut file = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut file)
            .unwrap();
        assert!(file.contains("\"quota\""), "{file}");
        for secret in sim.accounts.iter().map(|a| &a.app_secret).chain(&tokens) {
            assert!(
                !file.contains(secret.as_str()),
                "{name}.json.gz holds a secret"
            );
        }
    }
}

/// What a saved file says was stored: endpoints (not the re-polled windows) with a day done.
fn stored(file: &Path, app_id: &str) -> Vec<Endpoint> {
    let Ok(bytes) = std::fs::read(file) else {
        return Vec::new();
    };
    let saved = storage::decode(&bytes, "brand", app_id).expect("a file SIGKILL left is whole");
    saved
        .plan
        .endpoints
        .iter()
        .filter(|(_, r)| r.done.is_some())
        .filter_map(|(name, _)| name.parse::<Endpoint>().ok())
        .filter(|e| e.rolling_window_days().is_none())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_of_the_first_round_loses_nothing_stored() {
    let (simulator, sim_addr, sim) = start_simulator().await;
    let app_id = sim.accounts[0].app_id.clone();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("exporter.toml");
    write_config(&config, sim_addr, &sim, &[("brand", 0)]);
    let storage = dir.path().join("state");
    let file = storage.join("accounts/brand.json.gz");
    let log = dir.path().join("log");
    let mut rng = seeded_rng("sigkill_at_random_moments_of_the_first_round_loses_nothing_stored");
    let today = china_today(jiff::Timestamp::now());
    for _ in 0..50 {
        let done = stored(&file, &app_id);
        let calls = simulator.calls();
        let port = free_port();
        let mut child = spawn(&config, &storage, port, &log);
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..400))).await;
        signal(&child, "KILL");
        child.wait().unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            !text.contains("moved aside"),
            "an atomic write is never torn: {text}"
        );
        for e in done {
            let key = (app_id.clone(), e.name().to_string());
            assert_eq!(
                simulator.calls().get(&key),
                calls.get(&key),
                "{e} was stored before this run and fetched again"
            );
        }
    }
    if china_today(jiff::Timestamp::now()) != today {
        return; // The China day turned meanwhile: yesterday moved, so did the plan.
    }
    // A last run completes the round; after it, a restart makes no datacube call.
    let port = free_port();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    let mut child = spawn(&config, &storage, port, &log);
    first_answer(&metrics).await;
    wait_for_metrics(&metrics, |b| up(b, "brand") == Some(1.0)).await;
    settle(&simulator, &file).await;
    let (_, _, body) = get(&metrics, None).await;
    let before = business(&body);
    signal(&child, "KILL");
    child.wait().unwrap();
    let calls = datacube_calls(&simulator);
    let mut child = spawn(&config, &storage, port, &log);
    first_answer(&format!("http://127.0.0.1:{port}/-/ready")).await;
    let (_, _, body) = get(&metrics, None).await;
    assert_eq!(business(&body), before);
    settle(&simulator, &file).await;
    assert_eq!(datacube_calls(&simulator), calls);
    signal(&child, "KILL");
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_state_files_are_set_aside_with_a_warning_and_the_exporter_runs() {
    let (_simulator, sim_addr, sim) = start_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("exporter.toml");
    let names = [("corrupt", 0), ("truncated", 1), ("foreign", 2)];
    write_config(&config, sim_addr, &sim, &names);
    let storage = dir.path().join("state");
    let accounts = storage.join("accounts");
    std::fs::create_dir_all(&accounts).unwrap();
    let whole = storage::encode(
        "truncated",
        &sim.accounts[1].app_id,
        &storage::Saved::default(),
    );
    std::fs::write(accounts.join("corrupt.json.gz"), b"\x00\xffnot json").unwrap();
    std::fs::write(
        accounts.join("truncated.json.gz"),
        &whole[..whole.len() - 5],
    )
    .unwrap();
    // Where format 1 lived, a version this exporter does not know: set aside, not migrated.
    std::fs::write(
        accounts.join("foreign.json"),
        br#"{"version": 99, "account": "foreign"}"#,
    )
    .unwrap();
    let expected = [
        ("corrupt.json.gz", "not a state file"),
        ("truncated.json.gz", "not a state file: damaged gzip data"),
        ("foreign.json", "format version 99"),
    ];
    run_and_check_warnings(&config, &storage, &names, &expected, dir.path()).await;

    // Unreadable: a directory in place of the file cannot be read, whoever runs the test.
    std::fs::remove_file(accounts.join("corrupt.json.gz")).unwrap();
    std::fs::create_dir(accounts.join("corrupt.json.gz")).unwrap();
    run_and_check_warnings(
        &config,
        &storage,
        &names,
        &[("corrupt.json.gz", "cannot be read")],
        dir.path(),
    )
    .await;
    let aside = std::fs::read_dir(&accounts)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .count();
    assert_eq!(aside, 4, "every damaged file is kept for the operator");
    for (name, i) in names {
        let bytes = std::fs::read(accounts.join(format!("{name}.json.gz"))).unwrap();
        let decoded = storage::decode(&bytes, name, &sim.accounts[i].app_id);
        assert!(decoded.is_ok(), "{name} is saved afresh: {decoded:?}");
    }
}

/// Runs the binary until every account is up and checks it warned about exactly `expected`
/// (file name, reason), then stops it with SIGTERM.
async fn run_and_check_warnings(
    config: &Path,
    storage: &Path,
    names: &[(&str, usize)],
    expected: &[(&str, &str)],
    dir: &Path,
) {
    let log = dir.join("log");
    let port = free_port();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    let mut child = spawn(config, storage, port, &log);
    first_answer(&metrics).await;
    wait_for_metrics(&metrics, |b| {
        names.iter().all(|(n, _)| up(b, n) == Some(1.0))
    })
    .await;
    signal(&child, "TERM");
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("moved aside")).collect();
    assert_eq!(warnings.len(), expected.len(), "{text}");
    for (name, why) in expected {
        let line = warnings
            .iter()
            .find(|l| l.contains(&format!("/{name} ")) || l.contains(&format!("/{name}\"")))
            .unwrap_or_else(|| panic!("no warning names {name}: {text}"));
        assert!(line.contains(why), "{line}");
    }
}

#[tokio::test]
async fn a_format_1_state_is_migrated_and_served_before_any_call() {
    let day = jiff::civil::date(2026, 11, 18);
    let (stack, clock) = published_stack(day).await;
    let dir = tempfile::tempdir().unwrap();
    let mut first = Exporter::with_storage(&stack.config, clock.clone(), Some(dir.path())).unwrap();
    first.scheduler.tick().await;
    let before = business(&String::from_utf8_lossy(&first.store.exposition().text));
    first.state_writer().unwrap().sync();
    drop(first);

    // Every account's file turned into what an exporter before format 2 left: pretty JSON of
    // version 1, without quota readings, in `<name>.json`.
    let accounts = dir.path().join("accounts");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&accounts).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().replace(".json.gz", "");
        let mut json = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&std::fs::read(&path).unwrap()[..]),
            &mut json,
        )
        .unwrap();
        let mut value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        value["version"] = 1.into();
        let status = value["status"].as_object_mut().unwrap();
        status.remove("quota");
        status.remove("quota_read");
        let old = accounts.join(format!("{name}.json"));
        std::fs::write(&old, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        names.push(name);
    }
    assert_eq!(names.len(), stack.config.accounts.len());

    stack.simulator.reset_calls();
    let second = Exporter::with_storage(&stack.config, clock.clone(), Some(dir.path())).unwrap();
    let after = business(&String::from_utf8_lossy(&second.store.exposition().text));
    let without_quota: Vec<Sample> = before
        .iter()
        .filter(|s| !s.name.starts_with("wechat_mp_api_quota_"))
        .cloned()
        .collect();
    assert_eq!(
        after, without_quota,
        "every series format 1 kept, before any call"
    );
    assert!(stack.simulator.calls().is_empty());
    for name in names {
        assert!(
            !accounts.join(format!("{name}.json")).exists(),
            "{name}: the old file is gone"
        );
        let bytes = std::fs::read(accounts.join(format!("{name}.json.gz"))).unwrap();
        let app_id = &stack
            .config
            .accounts
            .iter()
            .find(|a| a.name == name)
            .unwrap()
            .app_id;
        assert!(
            storage::decode(&bytes, &name, app_id).is_ok(),
            "{name}: rewritten in format 2"
        );
    }
    let aside = std::fs::read_dir(&accounts)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .count();
    assert_eq!(aside, 0, "migrated, not set aside");
}
