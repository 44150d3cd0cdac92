//! The fault matrix's cases and the run of one: each fault the simulator can inject, on one
//! report of a running exporter with good data. tests/e2e/faults.rs runs every case (at once,
//! each with its own simulator and exporter) and writes docs/reliability.md; tests/memory.rs
//! runs the 100 MiB body case alone in its own process to measure its peak RSS.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::{Time, date, time};
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::simulator::{BodyFault, Connections, Simulator};
use wechat_mp_exporter::wechat::Endpoint;
use wechat_mp_exporter::wechat::date::{add_days, china_at};

use super::t1::{at, tune};
use super::{Stack, memory_kib, of, parse_text, sim_config, stack, value};

pub struct Case {
    pub fault: &'static str,
    pub injected: &'static str,
    pub api: Endpoint,
    pub inject: fn(&Simulator, &str),
    /// The `errcode` label of `wechat_mp_api_requests_total`.
    pub code: &'static str,
    /// The fault is on the connection: no request reaches the simulator's handlers.
    pub connection: bool,
    /// The exporter's peak RSS may grow by at most this much while the fault is on.
    pub peak_rss_growth_mib: Option<u64>,
    /// `wechat.timeout`.
    pub timeout: Duration,
}

/// A fault the simulator answers with (most of the matrix).
const fn answer(
    fault: &'static str,
    injected: &'static str,
    api: Endpoint,
    inject: fn(&Simulator, &str),
    code: &'static str,
) -> Case {
    Case {
        fault,
        injected,
        api,
        inject,
        code,
        connection: false,
        peak_rss_growth_mib: None,
        timeout: Duration::from_millis(300),
    }
}

pub const CASES: &[Case] = &[
    answer(
        "errcode -1 (system busy)",
        "errcode",
        Endpoint::UserSummary,
        |s, a| s.faults().fail(a, -1, None),
        "-1",
    ),
    answer(
        "45009 daily quota",
        "errcode",
        Endpoint::UserSummary,
        |s, a| s.faults().fail(a, 45009, None),
        "45009",
    ),
    answer(
        "45011 minute quota",
        "errcode",
        Endpoint::UserSummary,
        |s, a| s.faults().fail(a, 45011, None),
        "45011",
    ),
    answer(
        "40001 storm (every token refused)",
        "errcode",
        Endpoint::UserSummary,
        |s, a| s.faults().fail(a, 40001, None),
        "40001",
    ),
    answer(
        "40164 IP not whitelisted",
        "errcode",
        Endpoint::UserSummary,
        |s, a| s.faults().fail(a, 40164, None),
        "40164",
    ),
    answer(
        "48001 unauthorized (legacy endpoint)",
        "errcode",
        Endpoint::ArticleSummary,
        |s, a| s.faults().fail(a, 48001, None),
        "48001",
    ),
    answer(
        "47009 API offline (legacy endpoint)",
        "errcode",
        Endpoint::ArticleSummary,
        |s, a| s.faults().fail(a, 47009, None),
        "47009",
    ),
    answer(
        "61503 data not ready",
        "errcode",
        Endpoint::UserSummary,
        |s, a| s.faults().fail(a, 61503, None),
        "61503",
    ),
    answer(
        "HTTP 500",
        "status",
        Endpoint::UserSummary,
        |s, a| s.faults().http_status(a, 500, None),
        "http_500",
    ),
    answer(
        "HTTP 502",
        "status",
        Endpoint::UserSummary,
        |s, a| s.faults().http_status(a, 502, None),
        "http_502",
    ),
    answer(
        "read timeout (answer after the timeout)",
        "delay 2s, timeout 300ms",
        Endpoint::UserSummary,
        |s, a| s.faults().delay(a, Duration::from_secs(2)),
        "network",
    ),
    answer(
        "truncated JSON",
        "body cut short",
        Endpoint::UserSummary,
        |s, a| s.faults().malformed(a, None),
        "invalid_json",
    ),
    answer(
        "malformed JSON, wrong shape",
        "`{\"list\":\"not a list\"}`",
        Endpoint::UserSummary,
        |s, a| s.faults().body(a, BodyFault::WrongShape, None),
        "invalid_json",
    ),
    answer(
        "malformed JSON, not JSON",
        "an HTML page with HTTP 200",
        Endpoint::UserSummary,
        |s, a| s.faults().body(a, BodyFault::Garbage, None),
        "invalid_json",
    ),
    Case {
        peak_rss_growth_mib: Some(40),
        // Long enough to read 16 MiB on a slow machine: the cap, not the timeout, ends the read.
        timeout: Duration::from_secs(20),
        ..answer(
            "100 MiB body",
            "streamed without a length, timeout 20s; read up to the 16 MiB cap",
            Endpoint::UserSummary,
            // One account, so the process's memory is that of one client reading it.
            |s, a| {
                let app_id = &s.config().accounts[0].app_id;
                s.faults().body_account(app_id, a, BodyFault::Huge, None)
            },
            "invalid_json",
        )
    },
    answer(
        "slow drip",
        "a byte every 100 ms after the headers, timeout 300ms",
        Endpoint::UserSummary,
        |s, a| s.faults().body(a, BodyFault::Drip, None),
        "network",
    ),
    answer(
        "connection reset",
        "half the body, then a TCP RST",
        Endpoint::UserSummary,
        |s, a| s.faults().body(a, BodyFault::Reset, None),
        "network",
    ),
    Case {
        connection: true,
        ..answer(
            "connection refused",
            "nothing listens on the port: every call of every account; the round's first is the publication probe",
            Endpoint::UserCumulate,
            |s, _| s.faults().set_connections(Connections::Refused),
            "network",
        )
    },
    Case {
        connection: true,
        // 300 ms of margin between the two timers: at 300 ms (150 ms to connect) a loaded
        // machine sometimes woke the whole-request timer first, and the row changed.
        timeout: Duration::from_millis(600),
        ..answer(
            "connect timeout",
            "the port's accept queue is full, SYNs go unanswered: every call of every account, the first the publication probe; timeout 600ms, of which connecting gets half",
            Endpoint::UserCumulate,
            |s, _| s.faults().set_connections(Connections::ConnectTimeout),
            "network",
        )
    },
];

/// One row of the table: what the exporter did.
pub struct Observed {
    pub last_good_served: &'static str,
    pub page: String,
    pub behaviour: String,
    pub recovery: &'static str,
}

/// Runs `case` on a fresh simulator and exporter. With `measure_rss`, asserts that the process's
/// peak RSS grows by at most the case's bound during the faulted round: only meaningful in a
/// process where nothing else allocates meanwhile (tests/memory.rs), so the shared e2e binary
/// passes `false`.
pub async fn run_case(case: &Case, measure_rss: bool) -> Observed {
    let day = date(2026, 11, 18);
    // Tokens live two days (the exporter trusts one day at most): the token of the first round,
    // at 10:06, is still cached in the faulted round the next day at 10:00, so even a fault that
    // stops every connection meets a datacube call first; later rounds need a new token.
    let clock = Arc::new(ManualClock::new(china_at(day, time(10, 6, 0, 0))));
    let mut sim = sim_config(Time::constant(9, 0, 0, 0));
    sim.token_ttl = Duration::from_secs(2 * 86_400);
    let Stack {
        simulator,
        config,
        mut exporter,
        ..
    } = stack(sim, clock.clone(), |c| {
        tune(c);
        c.wechat.timeout = case.timeout;
    })
    .await;
    let account = config.accounts[0].name.clone();
    let api = case.api;
    let view = |exporter: &wechat_mp_exporter::app::Exporter| {
        exporter
            .board
            .accounts()
            .iter()
            .find(|v| v.name == account)
            .cloned()
            .unwrap()
    };
    let round = exporter.scheduler.tick().await;
    assert_eq!(round.failures, 0, "{}: a good first round", case.fault);
    assert_eq!(
        view(&exporter).data_dates.get(&api),
        Some(&add_days(day, -1))
    );

    // The next day's round meets the fault.
    let next = add_days(day, 1);
    clock.set(at(next, 10, 0));
    // Calls as the exporter counts them (every errcode), so faults before any answer count too.
    let calls = |exporter: &wechat_mp_exporter::app::Exporter| {
        let text = String::from_utf8_lossy(&exporter.store.exposition().text).into_owned();
        of(&parse_text(&text), "wechat_mp_api_requests_total", &account)
            .iter()
            .filter(|s| s.label("api") == Some(api.name()))
            .map(|s| s.value as u64)
            .sum::<u64>()
    };
    // Whether the exporter asked again: a datacube call, or a token fetch on the way to one.
    let upstream = |exporter: &wechat_mp_exporter::app::Exporter| {
        let text = String::from_utf8_lossy(&exporter.store.exposition().text).into_owned();
        let tokens: f64 = of(
            &parse_text(&text),
            "wechat_mp_token_fetches_total",
            &account,
        )
        .iter()
        .map(|s| s.value)
        .sum();
        calls(exporter) + tokens as u64
    };
    let seen_by_simulator = || simulator.calls_to(&config.accounts[0].app_id, api.name());
    let before_fault = calls(&exporter);
    let simulator_before = seen_by_simulator();
    (case.inject)(&simulator, api.name());
    if case.connection {
        // The listener applies the switch on its own task (closing the port, or filling the
        // queue of the one that never accepts): let it, so the round meets the fault it names.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rss_before = case.peak_rss_growth_mib.filter(|_| measure_rss).map(|_| {
        // "5" resets VmHWM to the current RSS (proc(5), clear_refs).
        std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
        memory_kib("VmRSS:")
    });
    exporter.scheduler.tick().await;
    let after_fault = calls(&exporter);
    let upstream_after_fault = upstream(&exporter);
    if let (Some(before), Some(bound)) = (rss_before, case.peak_rss_growth_mib) {
        let growth = memory_kib("VmHWM:").saturating_sub(before);
        eprintln!("{}: peak RSS grew by {growth} KiB", case.fault);
        assert!(
            growth < bound * 1024,
            "{}: peak RSS grew by {growth} KiB, more than {bound} MiB",
            case.fault
        );
    }
    let reached = seen_by_simulator() - simulator_before;
    if case.connection {
        assert_eq!(
            reached, 0,
            "{}: no request reaches the simulator",
            case.fault
        );
    } else {
        assert_eq!(
            reached,
            after_fault - before_fault,
            "{}: the exporter counts every call the simulator saw",
            case.fault
        );
    }
    let samples = parse_text(&String::from_utf8_lossy(&exporter.store.exposition().text));
    let counted = value(
        &samples,
        "wechat_mp_api_requests_total",
        &account,
        &[("api", api.name()), ("errcode", case.code)],
    );
    assert!(
        counted.is_some_and(|n| n >= 1.0),
        "{}: wechat_mp_api_requests_total{{errcode=\"{}\"}} is {counted:?}",
        case.fault,
        case.code
    );
    let v = view(&exporter);
    let last_good_served = match v.data_dates.get(&api) {
        Some(d) if *d == add_days(day, -1) => "yes",
        Some(d) => panic!("{}: data date {d}", case.fault),
        None => "no: the endpoint is gone, its series are dropped",
    };
    let retired = v.unavailable.get(&api).is_some_and(|r| r != "quota");
    if !retired {
        assert_eq!(last_good_served, "yes", "{}", case.fault);
    }
    let mut page = without_rid(v.last_errors.get(&api).cloned().unwrap_or_default());
    if let Some(reason) = v.unavailable.get(&api) {
        page = format!("[stopped: {reason}] {page}");
    }
    if case.code != "61503" {
        assert!(
            !page.is_empty(),
            "{}: the landing page says nothing",
            case.fault
        );
    }

    // The retry cadence: look again after 31 minutes and after 61 minutes, the fault still on.
    clock.set(at(next, 10, 31));
    exporter.scheduler.tick().await;
    let after_30m = upstream(&exporter);
    clock.set(at(next, 11, 1));
    exporter.scheduler.tick().await;
    let after_1h = upstream(&exporter);
    let behaviour = if retired {
        "stopped for good (retired); the published-content endpoints carry on".to_string()
    } else if after_30m > upstream_after_fault {
        "asked again after retry_interval (30m)".to_string()
    } else if after_1h > after_30m {
        "asked again after error_retry_interval (1h)".to_string()
    } else if v.unavailable.get(&api).map(String::as_str) == Some("quota") {
        "stopped until the next UTC+8 day".to_string()
    } else {
        panic!("{}: never asked again within the day", case.fault)
    };
    let attempts = after_fault - before_fault;
    let behaviour = format!("{attempts} call(s) in the round; {behaviour}");

    // The fault clears: later the same day (or, for a quota, the next day) the data is current.
    simulator.faults().clear();
    clock.set(at(next, 12, 5));
    exporter.scheduler.tick().await;
    // At `next` the target is `day` (yesterday); a day later it is `next`.
    let recovery = if view(&exporter).data_dates.get(&api) == Some(&day) {
        "within the day"
    } else {
        clock.set(at(add_days(next, 1), 10, 0));
        exporter.scheduler.tick().await;
        match view(&exporter).data_dates.get(&api) {
            Some(d) if *d == next => "the next UTC+8 day",
            _ if retired => "not until a restart (the endpoint is retired)",
            other => panic!("{}: no recovery: {other:?}", case.fault),
        }
    };
    let v = view(&exporter);
    if !retired {
        assert!(v.up, "{}: up again after recovery", case.fault);
    }
    Observed {
        last_good_served,
        page,
        behaviour,
        recovery,
    }
}

/// WeChat's errmsg ends in a random request id (` rid: ...`): drop it so the table is stable.
fn without_rid(text: String) -> String {
    match text.find(" rid: ") {
        Some(start) => {
            let end = text[start..].find(')').map_or(text.len(), |i| start + i);
            format!("{}{}", &text[..start], &text[end..])
        }
        None => text,
    }
}
