//! The shipped alert rules (`alerts/*.yml`): Debian's promtool accepts them with every lint fatal,
//! their unit tests (`alerts/tests/*.yml`) pass and cover every alert both firing and quiet, every
//! alert carries severity, summary, a description with its value and a runbook_url whose anchor
//! exists in docs/runbook.md, every metric is known, and deploy/prometheus.yml loads them.

use crate::support::checks;

use std::collections::{BTreeMap, BTreeSet};

use checks::{
    FAULT_ONLY, PROMETHEUS_SERIES, demo_metric_names, files, known_metric, repo_root, run_promtool,
    selectors,
};

const RUNBOOK_BASE: &str =
    "https://github.com/wechat-mp-exporter/wechat-mp-exporter/blob/main/docs/runbook.md#";

/// One alerting rule, read from the rules file's text (the file is promtool-checked YAML; the
/// project has no YAML crate, and the layout is fixed by review).
#[derive(Debug, Default)]
struct Alert {
    name: String,
    expr: String,
    severity: String,
    summary: String,
    description: String,
    runbook_url: String,
}

fn value_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.trim_start()
        .strip_prefix(key)
        .map(|v| v.trim().trim_matches('\'').trim_matches('"'))
}

fn rule_files() -> Vec<std::path::PathBuf> {
    files("alerts", ".yml")
}

fn alerts() -> Vec<Alert> {
    let mut out: Vec<Alert> = Vec::new();
    for path in rule_files() {
        let text = std::fs::read_to_string(&path).expect("readable rules");
        let mut in_expr: Option<usize> = None;
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            if let Some(expr_indent) = in_expr {
                if indent > expr_indent && !line.trim().is_empty() {
                    let a = out.last_mut().expect("an alert");
                    a.expr.push_str(line.trim());
                    a.expr.push(' ');
                    continue;
                }
                in_expr = None;
            }
            if let Some(name) = value_after(line, "- alert:") {
                out.push(Alert {
                    name: name.to_string(),
                    ..Alert::default()
                });
                continue;
            }
            let Some(a) = out.last_mut() else { continue };
            if let Some(v) = value_after(line, "expr:") {
                if v == "|" {
                    in_expr = Some(indent);
                } else {
                    a.expr = v.to_string();
                }
            } else if let Some(v) = value_after(line, "severity:") {
                a.severity = v.to_string();
            } else if let Some(v) = value_after(line, "summary:") {
                a.summary = v.to_string();
            } else if let Some(v) = value_after(line, "description:") {
                a.description = v.to_string();
            } else if let Some(v) = value_after(line, "runbook_url:") {
                a.runbook_url = v.to_string();
            }
        }
    }
    out
}

/// The alerts the issue asks for, by the names the rules use.
const REQUIRED: &[&str] = &[
    "WechatMpCallbackFailureRatioHigh",
    "WechatMpCallbackNearTimeout",
    "WechatMpCallbackAvgTimeCostHigh",
    "WechatMpCallbackVolumeCollapsed",
    "WechatMpCallbackProbeFailing",
    "WechatMpCallbackProbeSlow",
    "WechatMpDataStale",
    "WechatMpDataMissingTwoDays",
    "WechatMpCredentialsRejected",
    "WechatMpApiQuotaExhausted",
    "WechatMpApiQuotaLow",
    "WechatMpApiOffline",
    "WechatMpExporterDown",
    "WechatMpExporterAbsent",
    "WechatMpUnfollowSpike",
];

#[test]
fn rules_pass_promtool_check_with_every_lint_fatal() {
    let names: Vec<String> = rule_files()
        .iter()
        .map(|p| format!("alerts/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    assert!(!names.is_empty(), "no rule files in alerts/");
    let mut args = vec!["check", "rules", "--lint=all", "--lint-fatal"];
    args.extend(names.iter().map(String::as_str));
    let (ok, out) = run_promtool(&repo_root(), &args);
    assert!(ok, "promtool check rules failed:\n{out}");
    let n = alerts().len();
    assert!(out.contains(&format!("SUCCESS: {n} rules found")), "{out}");
}

#[test]
fn rule_unit_tests_pass() {
    let tests: Vec<String> = files("alerts/tests", ".yml")
        .iter()
        .map(|p| format!("alerts/tests/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    assert_eq!(tests.len(), 5, "{tests:?}");
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    let (ok, out) = run_promtool(&repo_root(), &args);
    assert!(ok, "promtool test rules failed:\n{out}");
    assert_eq!(out.matches("SUCCESS").count(), tests.len(), "{out}");
}

/// promtool really compares: the same test with one wrong expected value fails, naming it.
#[test]
fn a_wrong_expectation_makes_promtool_test_fail() {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    std::fs::copy(
        repo_root().join("alerts/wechat-mp.rules.yml"),
        dir.path().join("wechat-mp.rules.yml"),
    )
    .unwrap();
    let test =
        std::fs::read_to_string(repo_root().join("alerts/tests/callbacks.test.yml")).unwrap();
    assert!(
        test.contains("Account brand: 2% of"),
        "the test this relies on changed"
    );
    let wrong = test.replace("Account brand: 2% of", "Account brand: 3% of");
    std::fs::write(dir.path().join("tests/callbacks.test.yml"), wrong).unwrap();
    let (ok, out) = run_promtool(dir.path(), &["test", "rules", "tests/callbacks.test.yml"]);
    assert!(!ok, "a wrong expectation passed:\n{out}");
    assert!(out.contains("WechatMpCallbackFailureRatioHigh"), "{out}");
}

#[test]
fn every_alert_is_tested_firing_and_quiet() {
    let mut fires: BTreeMap<String, usize> = BTreeMap::new();
    let mut quiet: BTreeMap<String, usize> = BTreeMap::new();
    for path in files("alerts/tests", ".yml") {
        let text = std::fs::read_to_string(&path).unwrap();
        // Each chunk is one alert_rule_test item (plus, for the last of a group, the next group's
        // input series, which hold no expectations).
        for chunk in text.split("- eval_time:").skip(1) {
            let Some(name) = chunk.lines().find_map(|l| value_after(l, "alertname:")) else {
                continue;
            };
            let firing = chunk.contains("exp_labels") || chunk.contains("exp_alerts: *");
            let tally = if firing { &mut fires } else { &mut quiet };
            *tally.entry(name.to_string()).or_default() += 1;
        }
    }
    let names: BTreeSet<String> = alerts().into_iter().map(|a| a.name).collect();
    for name in &names {
        assert!(
            fires.get(name).is_some_and(|n| *n > 0),
            "{name}: no test where it fires"
        );
        assert!(
            quiet.get(name).is_some_and(|n| *n > 0),
            "{name}: no test where it must not fire"
        );
    }
    let unknown: Vec<&String> = fires
        .keys()
        .chain(quiet.keys())
        .filter(|n| !names.contains(*n))
        .collect();
    assert!(
        unknown.is_empty(),
        "tests name alerts that do not exist: {unknown:?}"
    );
}

#[test]
fn every_required_alert_exists_with_severity_summary_description_and_runbook() {
    let alerts = alerts();
    let names: BTreeSet<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
    for required in REQUIRED {
        assert!(names.contains(required), "alert {required} missing");
    }
    assert_eq!(names.len(), alerts.len(), "repeated alert names");
    let runbook =
        std::fs::read_to_string(repo_root().join("docs/runbook.md")).expect("docs/runbook.md");
    let headings: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_string())
        .collect();
    for a in &alerts {
        let n = &a.name;
        assert!(
            n.starts_with("WechatMp"),
            "{n}: alert names start with WechatMp"
        );
        assert!(!a.expr.is_empty(), "{n}: no expr");
        assert!(
            ["critical", "warning", "info"].contains(&a.severity.as_str()),
            "{n}: severity {:?}",
            a.severity
        );
        assert!(
            a.summary.ends_with('.') && !a.summary.contains("{{"),
            "{n}: summary {:?}",
            a.summary
        );
        assert!(
            a.description.contains("{{ $value"),
            "{n}: description without the value"
        );
        assert!(
            a.description.contains("{{ $labels."),
            "{n}: description without labels"
        );
        let anchor = a.runbook_url.strip_prefix(RUNBOOK_BASE).unwrap_or_else(|| {
            panic!(
                "{n}: runbook_url {:?} does not start with {RUNBOOK_BASE}",
                a.runbook_url
            )
        });
        // GitHub's anchor for a heading made of one word is the word in lower case.
        assert_eq!(anchor, n.to_lowercase(), "{n}: runbook anchor");
        assert!(
            headings.contains(n),
            "{n}: docs/runbook.md has no '## {n}' entry"
        );
        let entry = runbook
            .split(&format!("## {n}\n"))
            .nth(1)
            .map(|rest| rest.split("\n## ").next().unwrap_or_default())
            .unwrap_or_default();
        for part in ["**Meaning**", "**Impact**", "**What to do**"] {
            assert!(entry.contains(part), "{n}: runbook entry lacks {part}");
        }
    }
}

#[test]
fn rule_metrics_are_known() {
    let mut used = BTreeSet::new();
    for a in alerts() {
        for s in selectors(&a.expr) {
            assert!(
                known_metric(&s.name),
                "{}: unknown metric {:?}",
                a.name,
                s.name
            );
            used.insert(s.name);
        }
    }
    for m in [
        "up",
        "wechat_mp_callback_requests",
        "wechat_mp_callback_failed_requests",
        "wechat_mp_callback_time_cost_seconds",
        "wechat_mp_callback_max_time_cost_seconds",
        "wechat_mp_data_date_timestamp_seconds",
        "wechat_mp_api_unavailable",
        "wechat_mp_token_fetches_total",
        "wechat_mp_api_requests_total",
        "wechat_mp_lost_followers",
    ] {
        assert!(used.contains(m), "no rule reads {m}");
    }
}

/// Every exporter metric a rule reads is in the real output of the demo, except the families that
/// only appear while an endpoint is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_metrics_are_in_the_demo_exporters_output() {
    let real = demo_metric_names().await;
    for a in alerts() {
        for s in selectors(&a.expr) {
            if PROMETHEUS_SERIES.contains(&s.name.as_str()) || FAULT_ONLY.contains(&s.name.as_str())
            {
                continue;
            }
            assert!(
                real.contains(&s.name),
                "{}: {} is not in the demo's /metrics",
                a.name,
                s.name
            );
        }
    }
}

#[test]
fn example_prometheus_config_passes_promtool_and_loads_the_rules() {
    let (ok, out) = run_promtool(&repo_root(), &["check", "config", "deploy/prometheus.yml"]);
    assert!(ok, "promtool check config failed:\n{out}");
    assert!(out.contains("SUCCESS: 1 rule files found"), "{out}");
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", alerts().len())),
        "{out}"
    );
}
