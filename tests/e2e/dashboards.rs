//! Static checks of the shipped Grafana dashboards (`dashboards/*.json`) with no Grafana server:
//! the JSON model, unique uids and panel ids, sane gridPos, the `datasource`/`job`/`account`
//! variables used everywhere, a unit and description on every panel, every expression parsed by
//! Prometheus' own parser (promtool) after variable expansion, and every metric name known.

use crate::support::checks;

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use checks::{
    FAULT_ONLY, PROMETHEUS_SERIES, Selector, demo_metric_names, expand_vars, files, known_metric,
    promtool_parse, rule_name, selectors,
};

/// Grafana unit ids the dashboards may use (a subset of Grafana's valueFormats).
const UNITS: &[&str] = &[
    "short",
    "none",
    "locale",
    "s",
    "ms",
    "dtdurations",
    "percent",
    "percentunit",
    "reqps",
    "ops",
    "bytes",
    "decbytes",
    "dateTimeAsLocal",
    "dateTimeAsIso",
];
/// Panel types that must state a unit.
const UNIT_PANELS: &[&str] = &[
    "stat",
    "timeseries",
    "gauge",
    "bargauge",
    "table",
    "barchart",
    "piechart",
];
const DS_OK: &[&str] = &["${datasource}", "$datasource"];
const JOB_MATCHER: &str = r#"job=~"$job""#;

/// Panels of a dashboard, including those nested in collapsed rows.
fn walk(panels: &[Value], out: &mut Vec<Value>) {
    for p in panels {
        out.push(p.clone());
        if let Some(nested) = p.get("panels").and_then(Value::as_array) {
            walk(nested, out);
        }
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn ds_uid(v: &Value) -> Option<&str> {
    v.get("datasource")
        .and_then(|d| d.get("uid"))
        .and_then(Value::as_str)
}

/// The checks that look at one expression: known metric names, the job matcher on every selector,
/// `$__rate_interval` inside rate/irate, `_total` only under rate/irate/increase.
fn check_expr(at: &str, expr: &str, errors: &mut Vec<String>, used: &mut BTreeSet<String>) {
    for Selector { name, matchers } in selectors(expr) {
        if name.is_empty() {
            errors.push(format!("{at}: a selector without a metric name"));
            continue;
        }
        if !known_metric(&name) {
            errors.push(format!("{at}: unknown metric {name}"));
        }
        if !matchers
            .as_deref()
            .unwrap_or_default()
            .contains(JOB_MATCHER)
        {
            errors.push(format!("{at}: {name} lacks the matcher {JOB_MATCHER}"));
        }
        if name.ends_with("_total") {
            let wrapped = expr.match_indices(&name).all(|(i, _)| {
                let before = expr[..i].trim_end();
                before.ends_with("rate(") || before.ends_with("increase(")
            });
            if !wrapped {
                errors.push(format!("{at}: counter {name} outside rate/irate/increase"));
            }
        }
        used.insert(name);
    }
    for (i, _) in expr.match_indices("rate(") {
        let range = expr[i..].find('[').map(|b| &expr[i + b..]);
        if !range.is_some_and(|r| r.starts_with("[$__rate_interval]")) {
            errors.push(format!(
                "{at}: rate()/irate() should use [$__rate_interval]"
            ));
        }
    }
}

/// What one dashboard file yields.
#[derive(Default)]
struct Checked {
    uid: String,
    errors: Vec<String>,
    /// (recording-rule name, expanded expression) for promtool.
    exprs: Vec<(String, String)>,
    /// Metric names used.
    metrics: BTreeSet<String>,
}

fn check_dashboard(file: &str, text: &str) -> Checked {
    let mut c = Checked::default();
    let d: Value = match serde_json::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            c.errors.push(format!("{file}: invalid JSON: {e}"));
            return c;
        }
    };
    let err = |c: &mut Checked, msg: String| c.errors.push(format!("{file}: {msg}"));
    for key in ["uid", "title", "schemaVersion", "panels", "templating"] {
        if d.get(key).is_none() {
            err(&mut c, format!("missing top-level key {key}"));
        }
    }
    c.uid = str_of(&d, "uid").to_string();
    let uid_ok = (1..=40).contains(&c.uid.len())
        && c.uid
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !uid_ok {
        let msg = format!("uid {:?} is not 1-40 of [A-Za-z0-9_-]", c.uid);
        err(&mut c, msg);
    }
    if !d.get("id").is_none_or(Value::is_null) {
        err(&mut c, "id must be null or absent".into());
    }
    if d.get("__inputs").is_some() || text.contains("${DS_") {
        err(
            &mut c,
            "__inputs / ${DS_*} are not resolved by file provisioning".into(),
        );
    }
    if d.get("editable") != Some(&Value::Bool(false)) {
        err(
            &mut c,
            "editable must be false (the files are the source of truth)".into(),
        );
    }
    let tags: Vec<&str> = d
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !tags.contains(&"wechat-mp-exporter") {
        err(
            &mut c,
            "tag wechat-mp-exporter missing (the dashboard links use it)".into(),
        );
    }

    // Variables.
    let vars: Vec<Value> = d
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ds_vars: Vec<&Value> = vars
        .iter()
        .filter(|v| str_of(v, "type") == "datasource")
        .collect();
    if ds_vars.len() != 1
        || str_of(ds_vars[0], "name") != "datasource"
        || str_of(ds_vars[0], "query") != "prometheus"
    {
        err(
            &mut c,
            "needs exactly one datasource variable, named datasource, of type prometheus".into(),
        );
    }
    for want in ["job", "account"] {
        if !vars
            .iter()
            .any(|v| str_of(v, "name") == want && str_of(v, "type") == "query")
        {
            err(&mut c, format!("query variable {want} missing"));
        }
    }
    for v in vars.iter().filter(|v| str_of(v, "type") == "query") {
        let name = str_of(v, "name");
        if !ds_uid(v).is_some_and(|u| DS_OK.contains(&u)) {
            err(
                &mut c,
                format!("variable {name} does not use ${{datasource}}"),
            );
        }
        if v.get("refresh").and_then(Value::as_u64) != Some(2) {
            err(
                &mut c,
                format!("variable {name} needs refresh: 2 (on time range change)"),
            );
        }
        let query = v
            .get("query")
            .and_then(|q| {
                q.as_str()
                    .or_else(|| q.get("query").and_then(Value::as_str))
            })
            .unwrap_or_default();
        match query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .and_then(|q| q.rsplit_once(','))
        {
            Some((selector, _label)) => {
                let at = format!("{file}: variable {name}");
                let mut errors = Vec::new();
                check_expr(&at, selector, &mut errors, &mut c.metrics);
                // The job variable itself cannot filter by job.
                errors.retain(|e| !(name == "job" && e.contains(JOB_MATCHER)));
                c.errors.extend(errors);
                c.exprs.push((
                    rule_name(&["check", &c.uid, "var", name]),
                    expand_vars(selector),
                ));
            }
            None => err(
                &mut c,
                format!("variable {name}: expected label_values(selector, label)"),
            ),
        }
    }

    // Panels.
    let mut panels = Vec::new();
    walk(
        d.get("panels")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default(),
        &mut panels,
    );
    if panels.is_empty() {
        err(&mut c, "no panels".into());
    }
    let mut ids = HashSet::new();
    let mut boxes: Vec<(u64, [i64; 4])> = Vec::new();
    let top_level: HashSet<u64> = d
        .get("panels")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("id").and_then(Value::as_u64))
                .collect()
        })
        .unwrap_or_default();
    for p in &panels {
        let Some(id) = p.get("id").and_then(Value::as_u64) else {
            err(
                &mut c,
                format!("panel {:?} has no integer id", str_of(p, "title")),
            );
            continue;
        };
        if !ids.insert(id) {
            err(&mut c, format!("duplicate panel id {id}"));
        }
        let g = p.get("gridPos");
        let num = |k: &str| g.and_then(|g| g.get(k)).and_then(Value::as_i64);
        match (num("x"), num("y"), num("w"), num("h")) {
            (Some(x), Some(y), Some(w), Some(h))
                if x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= 24 =>
            {
                if top_level.contains(&id) {
                    boxes.push((id, [x, y, w, h]));
                }
            }
            _ => err(
                &mut c,
                format!("panel {id}: bad gridPos {g:?} (24 columns)"),
            ),
        }
        let ptype = str_of(p, "type");
        if ptype == "row" {
            continue;
        }
        if str_of(p, "title").trim().is_empty() || str_of(p, "description").trim().is_empty() {
            err(
                &mut c,
                format!("panel {id}: needs a title and a description"),
            );
        }
        if !ds_uid(p).is_some_and(|u| DS_OK.contains(&u)) {
            err(
                &mut c,
                format!(
                    "panel {id}: datasource must be ${{datasource}}, not {:?}",
                    ds_uid(p)
                ),
            );
        }
        if UNIT_PANELS.contains(&ptype) {
            let unit = p
                .pointer("/fieldConfig/defaults/unit")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !UNITS.contains(&unit) {
                err(
                    &mut c,
                    format!("panel {id}: unit {unit:?} is not a known Grafana unit"),
                );
            }
        }
        let targets = p
            .get("targets")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if targets.is_empty() {
            err(&mut c, format!("panel {id}: no targets"));
        }
        let mut ref_ids = HashSet::new();
        for t in &targets {
            let ref_id = str_of(t, "refId");
            if ref_id.is_empty() || !ref_ids.insert(ref_id.to_string()) {
                err(
                    &mut c,
                    format!("panel {id}: missing or repeated refId {ref_id:?}"),
                );
            }
            if t.get("datasource").is_some() && !ds_uid(t).is_some_and(|u| DS_OK.contains(&u)) {
                err(
                    &mut c,
                    format!("panel {id}/{ref_id}: hard-coded datasource {:?}", ds_uid(t)),
                );
            }
            let expr = str_of(t, "expr");
            if expr.trim().is_empty() {
                err(&mut c, format!("panel {id}/{ref_id}: empty expr"));
                continue;
            }
            check_expr(
                &format!("{file}: panel {id}/{ref_id}"),
                expr,
                &mut c.errors,
                &mut c.metrics,
            );
            c.exprs.push((
                rule_name(&["check", &c.uid, &format!("p{id}"), ref_id]),
                expand_vars(expr),
            ));
        }
    }
    for (i, (a, [ax, ay, aw, ah])) in boxes.iter().enumerate() {
        for (b, [bx, by, bw, bh]) in &boxes[i + 1..] {
            if ax < &(bx + bw) && bx < &(ax + aw) && ay < &(by + bh) && by < &(ay + ah) {
                err(&mut c, format!("panels {a} and {b} overlap"));
            }
        }
    }
    c
}

/// Every check over a set of dashboard files, including uid uniqueness and promtool parsing.
fn check_all(files: &[(String, String)]) -> (Vec<String>, Vec<Checked>) {
    let mut errors = Vec::new();
    let mut uids = HashSet::new();
    let mut exprs = Vec::new();
    let mut checked = Vec::new();
    for (file, text) in files {
        let c = check_dashboard(file, text);
        if !c.uid.is_empty() && !uids.insert(c.uid.clone()) {
            errors.push(format!("{file}: uid {} used by another dashboard", c.uid));
        }
        errors.extend(c.errors.iter().cloned());
        exprs.extend(c.exprs.iter().cloned());
        checked.push(c);
    }
    if let Err(e) = promtool_parse(&exprs) {
        errors.push(format!("PromQL: {e}"));
    }
    (errors, checked)
}

fn shipped() -> Vec<(String, String)> {
    files("dashboards", ".json")
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p).expect("readable dashboard");
            (name, text)
        })
        .collect()
}

#[test]
fn shipped_dashboards_pass_every_check() {
    let files = shipped();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "callbacks.json",
            "content.json",
            "exporter.json",
            "overview.json"
        ]
    );
    let (errors, checked) = check_all(&files);
    assert!(
        errors.is_empty(),
        "dashboard problems:\n{}",
        errors.join("\n")
    );
    let exprs: usize = checked.iter().map(|c| c.exprs.len()).sum();
    assert!(exprs > 60, "only {exprs} expressions were checked");
}

/// The issue's list of what each dashboard shows, as the metrics its queries must read.
#[test]
fn dashboards_cover_what_the_issue_asks_for() {
    let (_, checked) = check_all(&shipped());
    let uses = |uid: &str| -> BTreeSet<String> {
        checked
            .iter()
            .find(|c| c.uid == uid)
            .unwrap_or_else(|| panic!("dashboard {uid} missing"))
            .metrics
            .clone()
    };
    let expect = [
        (
            "wechat-mp-overview",
            &[
                "wechat_mp_followers",
                "wechat_mp_new_followers",
                "wechat_mp_lost_followers",
                "wechat_mp_published_read_users",
                "wechat_mp_article_reads",
                "wechat_mp_article_source_reads",
                "wechat_mp_published_source_read_users",
                "wechat_mp_shares",
                "wechat_mp_share_users",
                "wechat_mp_article_favourites",
                "wechat_mp_published_favourite_users",
                "wechat_mp_upstream_messages",
                "wechat_mp_data_date_timestamp_seconds",
            ][..],
        ),
        (
            "wechat-mp-content",
            &[
                "wechat_mp_article_published_timestamp_seconds",
                "wechat_mp_article_cumulative_read_users",
                "wechat_mp_article_cumulative_share_users",
                "wechat_mp_massmsg_read_users",
                "wechat_mp_article_source_reads",
                // Titles come from the info families (docs/metrics.md, "Conventions").
                "wechat_mp_article_info",
                "wechat_mp_massmsg_info",
            ][..],
        ),
        (
            "wechat-mp-callbacks",
            &[
                "wechat_mp_callback_requests",
                "wechat_mp_callback_failed_requests",
                "wechat_mp_callback_time_cost_seconds",
                "wechat_mp_callback_max_time_cost_seconds",
                "wechat_mp_hourly_callback_requests",
                "wechat_mp_hourly_callback_failed_requests",
                "wechat_mp_hourly_callback_time_cost_seconds",
                "wechat_mp_hourly_callback_max_time_cost_seconds",
                "wechat_mp_callback_probe_success",
                "wechat_mp_callback_probe_duration_seconds",
                "wechat_mp_callback_probe_latency_seconds_bucket",
                "wechat_mp_callback_probe_failures_total",
            ][..],
        ),
        (
            "wechat-mp-exporter",
            &[
                "up",
                "wechat_mp_api_requests_total",
                "wechat_mp_token_fetches_total",
                "wechat_mp_api_unavailable",
                "wechat_mp_data_date_timestamp_seconds",
                "scrape_duration_seconds",
            ][..],
        ),
    ];
    for (uid, metrics) in expect {
        let used = uses(uid);
        for m in metrics {
            assert!(
                used.contains(*m),
                "{uid} does not use {m}; it uses {used:?}"
            );
        }
    }
}

/// Every exporter metric a dashboard reads is in the real output of the demo (simulator and
/// exporter), except the families that only appear while an endpoint is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_metrics_are_in_the_demo_exporters_output() {
    let (_, checked) = check_all(&shipped());
    let used: BTreeSet<String> = checked.into_iter().flat_map(|c| c.metrics).collect();
    let real = demo_metric_names().await;
    assert!(real.contains("wechat_mp_followers"), "{real:?}");
    for name in &used {
        if PROMETHEUS_SERIES.contains(&name.as_str()) || FAULT_ONLY.contains(&name.as_str()) {
            continue;
        }
        assert!(real.contains(name), "{name} is not in the demo's /metrics");
    }
}

/// A dashboard with one planted fault per check: the checker must name every one.
#[test]
fn checker_names_every_planted_fault() {
    let broken = r#"{
      "uid": "wechat-mp-overview", "title": "Broken", "schemaVersion": 39, "editable": true,
      "id": 7, "tags": ["other"],
      "templating": {"list": [
        {"name": "ds", "type": "datasource", "query": "prometheus"},
        {"name": "job", "type": "query", "datasource": {"uid": "abc123"}, "refresh": 1,
         "query": "label_values(wechat_mp_exporter_build_info, job)"}
      ]},
      "panels": [
        {"id": 1, "type": "stat", "title": "Fixed uid", "description": "d",
         "datasource": {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"},
         "gridPos": {"x": 0, "y": 0, "w": 12, "h": 4}, "fieldConfig": {"defaults": {"unit": "short"}},
         "targets": [{"refId": "A", "expr": "sum(wechat_mp_followers{job=~\"$job\"})"}]},
        {"id": 1, "type": "stat", "title": "Same id, no unit", "description": "d",
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "gridPos": {"x": 6, "y": 2, "w": 12, "h": 4}, "fieldConfig": {"defaults": {}},
         "targets": [{"refId": "A", "expr": "sum(wechat_mp_folowers{job=~\"$job\"})"}]},
        {"id": 3, "type": "timeseries", "title": "Too wide", "description": "",
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "gridPos": {"x": 20, "y": 10, "w": 8, "h": 4}, "fieldConfig": {"defaults": {"unit": "reqps"}},
         "targets": [{"refId": "A", "expr": "sum(rate(wechat_mp_api_requests_total{account=\"a\"}[5m])"}]},
        {"id": 4, "type": "table", "title": "Raw counter", "description": "d",
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "gridPos": {"x": 0, "y": 20, "w": 24, "h": 4}, "fieldConfig": {"defaults": {"unit": "furlongs"}},
         "targets": [{"refId": "A", "expr": "wechat_mp_api_requests_total{job=~\"$job\"} or {job=~\"$job\"}"}]}
      ]
    }"#;
    let good = shipped()
        .into_iter()
        .find(|(n, _)| n == "overview.json")
        .expect("overview.json");
    let files = vec![good, ("broken.json".to_string(), broken.to_string())];
    let (errors, _) = check_all(&files);
    let all = errors.join("\n");
    let expected = [
        "broken.json: uid wechat-mp-overview used by another dashboard",
        "broken.json: id must be null or absent",
        "broken.json: editable must be false",
        "broken.json: tag wechat-mp-exporter missing",
        "broken.json: needs exactly one datasource variable",
        "broken.json: query variable account missing",
        "broken.json: variable job does not use ${datasource}",
        "broken.json: variable job needs refresh: 2",
        "broken.json: panel 1: datasource must be ${datasource}",
        "broken.json: duplicate panel id 1",
        "broken.json: panel 1: unit \"\" is not a known Grafana unit",
        "broken.json: panel 1/A: unknown metric wechat_mp_folowers",
        "broken.json: panels 1 and 1 overlap",
        "broken.json: panel 3: bad gridPos",
        "broken.json: panel 3: needs a title and a description",
        "broken.json: panel 3/A: wechat_mp_api_requests_total lacks the matcher job=~\"$job\"",
        "broken.json: panel 3/A: rate()/irate() should use [$__rate_interval]",
        "broken.json: panel 4: unit \"furlongs\" is not a known Grafana unit",
        "broken.json: panel 4/A: counter wechat_mp_api_requests_total outside rate/irate/increase",
        "broken.json: panel 4/A: a selector without a metric name",
        "check:wechat_mp_overview:p3:A",
        "unclosed left parenthesis",
    ];
    for e in expected {
        assert!(all.contains(e), "expected {e:?} among:\n{all}");
    }
    // Nothing is reported against the good file.
    assert!(!all.contains("overview.json"), "{all}");
}

#[test]
fn checker_rejects_invalid_json() {
    let (errors, _) = check_all(&[("bad.json".to_string(), "{\"uid\": ".to_string())]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("bad.json: invalid JSON: EOF while parsing"),
        "{errors:?}"
    );
}
#[test]
fn selectors_finds_names_and_matchers_but_not_functions_labels_or_durations() {
    let expr = r#"sum by (api, errcode) (increase(wechat_mp_api_requests_total{job=~"$job", errcode!="0"}[1h])) / ignoring (source) group_left sum(up{job="a{b}"}) > time() - 14 * 86400 and on (account) wechat_mp_up offset 1d"#;
    assert_eq!(
        selectors(expr),
        vec![
            Selector {
                name: "wechat_mp_api_requests_total".into(),
                matchers: Some(r#"job=~"$job", errcode!="0""#.into())
            },
            Selector {
                name: "up".into(),
                matchers: Some(r#"job="a{b}""#.into())
            },
            Selector {
                name: "wechat_mp_up".into(),
                matchers: None
            },
        ]
    );
    let nameless = selectors(r#"count({__name__=~"wechat_.*"}) by (job) or vector(0) * 1e3"#);
    assert_eq!(
        nameless,
        vec![Selector {
            name: String::new(),
            matchers: Some(r#"__name__=~"wechat_.*""#.into())
        }]
    );
}

#[test]
fn expand_vars_replaces_every_variable_form() {
    assert_eq!(
        expand_vars(
            r#"rate(m{job=~"$job", a=~"${account:regex}", b="[[b]]"}[$__rate_interval]) + increase(m[$__range]) + m offset ${__interval}"#
        ),
        r#"rate(m{job=~"x", a=~"x", b="x"}[5m]) + increase(m[1d]) + m offset 1m"#
    );
    assert_eq!(expand_vars("sum(m) * 2 $"), "sum(m) * 2 $");
}

#[test]
fn promtool_parse_accepts_good_and_names_the_bad_expression() {
    let good = vec![(
        rule_name(&["check", "good-one", "A"]),
        "sum by (a) (last_over_time(m[2d]))".to_string(),
    )];
    assert_eq!(promtool_parse(&good), Ok(()));
    let bad = vec![
        good[0].clone(),
        (
            rule_name(&["check", "bad", "B"]),
            "sum(rate(m[5m])".to_string(),
        ),
    ];
    let err = promtool_parse(&bad).expect_err("an unclosed parenthesis");
    assert!(err.contains("check:bad:B"), "{err}");
    assert!(err.contains("unclosed left parenthesis"), "{err}");
}
