//! The fault matrix: each fault the simulator can inject, on one report of a running exporter
//! with good data. For each: the last good data is still served, `wechat_mp_api_requests_total`
//! counts the code, the landing page says what is wrong, the exporter retries or stops as the
//! errcode class says, and it recovers once the fault clears. docs/reliability.md is this
//! test's table (`UPDATE_DOCS=1` rewrites it; the test fails when it is stale).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::{Date, Time, date, time};
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::config::Config;
use wechat_mp_exporter::simulator::Simulator;
use wechat_mp_exporter::wechat::Endpoint;
use wechat_mp_exporter::wechat::date::{add_days, china_at};

use crate::support::{Stack, parse_text, sim_config, stack, value};

struct Case {
    fault: &'static str,
    injected: &'static str,
    api: Endpoint,
    inject: fn(&Simulator, &str),
    /// The `errcode` label of `wechat_mp_api_requests_total`.
    code: &'static str,
}

const CASES: &[Case] = &[
    Case {
        fault: "errcode -1 (system busy)",
        injected: "errcode",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().fail(a, -1, None),
        code: "-1",
    },
    Case {
        fault: "45009 daily quota",
        injected: "errcode",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().fail(a, 45009, None),
        code: "45009",
    },
    Case {
        fault: "45011 minute quota",
        injected: "errcode",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().fail(a, 45011, None),
        code: "45011",
    },
    Case {
        fault: "40001 storm (every token refused)",
        injected: "errcode",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().fail(a, 40001, None),
        code: "40001",
    },
    Case {
        fault: "40164 IP not whitelisted",
        injected: "errcode",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().fail(a, 40164, None),
        code: "40164",
    },
    Case {
        fault: "48001 unauthorized (legacy endpoint)",
        injected: "errcode",
        api: Endpoint::ArticleSummary,
        inject: |s, a| s.faults().fail(a, 48001, None),
        code: "48001",
    },
    Case {
        fault: "47009 API offline (legacy endpoint)",
        injected: "errcode",
        api: Endpoint::ArticleSummary,
        inject: |s, a| s.faults().fail(a, 47009, None),
        code: "47009",
    },
    Case {
        fault: "61503 data not ready",
        injected: "errcode",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().fail(a, 61503, None),
        code: "61503",
    },
    Case {
        fault: "HTTP 500",
        injected: "status",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().http_status(a, 500, None),
        code: "http_500",
    },
    Case {
        fault: "HTTP 502",
        injected: "status",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().http_status(a, 502, None),
        code: "http_502",
    },
    Case {
        fault: "read timeout (answer after the timeout)",
        injected: "delay 2s, timeout 300ms",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().delay(a, Duration::from_secs(2)),
        code: "network",
    },
    Case {
        fault: "truncated JSON",
        injected: "body cut short",
        api: Endpoint::UserSummary,
        inject: |s, a| s.faults().malformed(a, None),
        code: "invalid_json",
    },
];

fn tune(c: &mut Config) {
    c.wechat.timeout = Duration::from_millis(300);
    c.schedule.publish_after = time(8, 0, 0, 0);
    c.schedule.retry_interval = Duration::from_secs(30 * 60);
    c.schedule.empty_is_zero_after = time(9, 0, 0, 0);
    c.schedule.error_retry_interval = Duration::from_secs(3600);
}

fn at(d: Date, h: i8, m: i8) -> Timestamp {
    china_at(d, time(h, m, 0, 0))
}

/// One row of the table: what the exporter did.
struct Observed {
    last_good_served: &'static str,
    page: String,
    behaviour: String,
    recovery: &'static str,
}

async fn run_case(case: &Case) -> Observed {
    let day = date(2026, 11, 18);
    let clock = Arc::new(ManualClock::new(at(day, 10, 0)));
    let Stack {
        simulator,
        config,
        mut exporter,
        ..
    } = stack(sim_config(Time::constant(9, 0, 0, 0)), clock.clone(), tune).await;
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
    let calls = || simulator.calls_to(&config.accounts[0].app_id, api.name());
    let before_fault = calls();
    (case.inject)(&simulator, api.name());
    exporter.scheduler.tick().await;
    let after_fault = calls();
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
    let after_30m = calls();
    clock.set(at(next, 11, 1));
    exporter.scheduler.tick().await;
    let after_1h = calls();
    let behaviour = if retired {
        "stopped for good (retired); the published-content endpoints carry on".to_string()
    } else if after_30m > after_fault {
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

#[tokio::test]
async fn every_fault_keeps_the_last_data_says_why_backs_off_and_recovers() {
    let mut doc = String::from(
        "# Reliability\n\n\
         Generated by `tests/e2e/faults.rs` (`UPDATE_DOCS=1 cargo test --test e2e faults` rewrites it; the test fails when it is stale).\n\n\
         Each fault is injected by the simulator on one report of an account that already has good data, on the next day's round \
         (retry_interval 30m, error_retry_interval 1h, wechat.timeout 300ms, max_retries 3). \
         The last good data stays on /metrics unless the endpoint is gone; `wechat_mp_api_requests_total{errcode}` counts the code.\n\n\
         | fault | on | errcode label | last good data served | landing page says | retry or stop | recovery once cleared |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for case in CASES {
        let o = run_case(case).await;
        let page = if o.page.is_empty() {
            "(not an error: pending)".to_string()
        } else {
            o.page.replace('|', "\\|")
        };
        let _ = writeln!(
            doc,
            "| {} ({}) | {} | `{}` | {} | {} | {} | {} |",
            case.fault,
            case.injected,
            case.api.name(),
            case.code,
            o.last_good_served,
            page,
            o.behaviour,
            o.recovery
        );
    }
    doc.push_str(
        "\nNot in this matrix yet (the simulator cannot inject them): connect timeout, a slow drip, \
         malformed (not truncated) JSON shapes, connection refused and connection reset. A body over 16 MiB is cut by the \
         transport (`wechat::transport` unit test with a 100 MiB body).\n",
    );
    // The file's "## Load" section and what follows come from scripts/load.sh, not from here.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/reliability.md");
    let file = std::fs::read_to_string(&path).unwrap_or_default();
    let (generated, rest) = file.split_at(file.find(LOAD_SECTION).unwrap_or(file.len()));
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{doc}{rest}")).unwrap();
    } else {
        assert!(
            generated == doc,
            "docs/reliability.md is stale; run `UPDATE_DOCS=1 cargo test --test e2e faults`\n{doc}"
        );
    }
}

/// Where the generated part of docs/reliability.md ends.
const LOAD_SECTION: &str = "\n## Load";
