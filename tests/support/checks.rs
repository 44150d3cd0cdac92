//! Shared by the dashboard and alert checkers: the exporter's metric names, a PromQL selector
//! scanner, Grafana variable expansion and PromQL parsing through Debian's `promtool`.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Process metrics the exporter appends to every scrape (not in the catalogue, which lists the
/// WeChat and exporter families).
pub const PROCESS_METRICS: &[&str] = &[
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
];

/// Series Prometheus writes for every scrape target.
pub const PROMETHEUS_SERIES: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Families that appear only while something is wrong, so a healthy demo does not show them.
pub const FAULT_ONLY: &[&str] = &["wechat_mp_api_unavailable"];

/// A name the exporter documents (its catalogue, the source of docs/metrics.md), a process metric
/// or a series Prometheus adds. Whether the demo really emits it is checked by
/// `demo_metric_names` in the tests.
pub fn known_metric(name: &str) -> bool {
    use wechat_mp_exporter::metrics::MetricKind;
    // A histogram is catalogued by its family name; its samples add a suffix.
    let histogram_sample = |m: &wechat_mp_exporter::metrics::MetricInfo| {
        m.kind == MetricKind::Histogram
            && name
                .strip_prefix(m.name)
                .is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix))
    };
    wechat_mp_exporter::metrics::catalogue()
        .iter()
        .any(|m| m.name == name || histogram_sample(m))
        || PROCESS_METRICS.contains(&name)
        || PROMETHEUS_SERIES.contains(&name)
}

/// The metric names in the text exposition of the demo (simulator + exporter on 127.0.0.1),
/// once it is ready: the exporter's real output. Read once per test binary: the alert and the
/// dashboard checks ask for the same names, and a demo waits seconds for its first probes.
pub async fn demo_metric_names() -> BTreeSet<String> {
    static NAMES: tokio::sync::OnceCell<BTreeSet<String>> = tokio::sync::OnceCell::const_new();
    NAMES.get_or_init(read_demo_metric_names).await.clone()
}

async fn read_demo_metric_names() -> BTreeSet<String> {
    use wechat_mp_exporter::demo::Demo;
    let demo = Demo::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        wechat_mp_exporter::clock::system(),
    )
    .await
    .expect("the demo starts");
    let base = format!("http://{}", demo.exporter_addr);
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..600 {
        ready = client
            .get(format!("{base}/-/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "the demo was not ready within a minute");
    // The probes start at a random point of their first interval; their gauges come with the
    // first result.
    let mut body = String::new();
    for _ in 0..150 {
        body = client
            .get(format!("{base}/metrics"))
            .header("accept", "text/plain")
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("a text body");
        let probed = demo
            .account_names
            .iter()
            .filter(|a| {
                body.contains(&format!(
                    "wechat_mp_callback_probe_success{{account=\"{a}\"}}"
                ))
            })
            .count();
        if probed == demo.account_names.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    demo.stop().await;
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Files in `dir` (relative to the repo root) whose name ends with `suffix`, sorted.
pub fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let dir = repo_root().join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    out
}

/// Debian's promtool, or `PROMTOOL`. CI installs it; without it the test says so and fails.
pub fn promtool() -> PathBuf {
    debian_binary("promtool", "PROMTOOL")
}

/// `/usr/bin/<name>` from Debian's `prometheus` package, or the path in the environment
/// variable `var`; a missing binary fails the test with how to install it.
pub fn debian_binary(name: &str, var: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin").join(name));
    assert!(
        path.exists(),
        "{name} not found at {} (apt-get install prometheus, or set {var})",
        path.display()
    );
    path
}

/// Runs promtool with `args` in `dir`; returns (success, stdout + stderr).
pub fn run_promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(promtool())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// One vector selector found in an expression: the metric name and the text between its braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub name: String,
    pub matchers: Option<String>,
}

/// Operator keywords and aggregation names (an aggregation may be followed by `by (...)`
/// rather than by its parenthesis).
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan",
    "Inf",
    "NaN",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];
/// Keywords followed by a parenthesised label list, not by an expression.
const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Index just past the closing `close` that matches the `open` at `start`, skipping strings.
fn skip_group(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(chars, i);
            continue;
        }
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
        i += 1;
    }
    chars.len()
}

/// Index just past the string literal opening at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '\\' && quote != '`' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// Every vector selector of a PromQL expression (a scanner, not a parser: promtool judges syntax).
/// A selector without a metric name (`{__name__=~"..."}`) is returned with an empty name.
pub fn selectors(expr: &str) -> Vec<Selector> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '[' {
            i = skip_group(&chars, i, '[', ']');
        } else if c == '{' {
            let end = skip_group(&chars, i, '{', '}');
            out.push(Selector {
                name: String::new(),
                matchers: Some(chars[i + 1..end - 1].iter().collect()),
            });
            i = end;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // Numbers and durations (14, 86400, 1e3, 0.5, 1d).
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let next = chars.get(j).copied();
            if LABEL_LIST_KEYWORDS.contains(&ident.as_str()) {
                if next == Some('(') {
                    i = skip_group(&chars, j, '(', ')');
                }
            } else if KEYWORDS.contains(&ident.as_str()) || next == Some('(') {
                // An operator keyword, or a function / aggregation name.
            } else if next == Some('{') {
                let end = skip_group(&chars, j, '{', '}');
                out.push(Selector {
                    name: ident,
                    matchers: Some(chars[j + 1..end - 1].iter().collect()),
                });
                i = end;
            } else {
                out.push(Selector {
                    name: ident,
                    matchers: None,
                });
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Replaces Grafana variables by sample values the way dashboard-linter does: range variables by
/// durations, every other variable by `x` (fine inside `=~"..."`; anything else fails to parse).
pub fn expand_vars(expr: &str) -> String {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let name_and_len = if chars[i] == '$' && chars.get(i + 1) == Some(&'{') {
            let close = chars[i..].iter().position(|c| *c == '}').map(|p| i + p);
            close.map(|close| {
                let inner: String = chars[i + 2..close].iter().collect();
                let name = inner.split(':').next().unwrap_or_default().to_string();
                (name, close + 1 - i)
            })
        } else if chars[i] == '[' && chars.get(i + 1) == Some(&'[') {
            let rest: String = chars[i + 2..].iter().collect();
            rest.find("]]").map(|p| {
                let inner = &rest[..p];
                (inner.to_string(), p + 4)
            })
        } else if chars[i] == '$' {
            let n = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
            (n > 0).then(|| (chars[i + 1..i + 1 + n].iter().collect(), n + 1))
        } else {
            None
        };
        match name_and_len {
            Some((name, len)) => {
                out.push_str(match name.as_str() {
                    "__rate_interval" => "5m",
                    "__interval" => "1m",
                    "__range" => "1d",
                    "__interval_ms" | "__range_ms" => "60000",
                    "__range_s" => "86400",
                    _ => "x",
                });
                i += len;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// Parses every `(name, expr)` with Prometheus' own parser: each becomes a recording rule named
/// `name` in a scratch rules file that `promtool check rules` reads. Err carries promtool's words.
pub fn promtool_parse(exprs: &[(String, String)]) -> Result<(), String> {
    let rules: Vec<serde_json::Value> = exprs
        .iter()
        .map(|(name, expr)| serde_json::json!({ "record": name, "expr": expr }))
        .collect();
    // JSON is YAML, so serde_json writes a file promtool reads, with all quoting done right.
    let doc = serde_json::json!({ "groups": [{ "name": "expressions", "rules": rules }] });
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("exprs.yml");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("json")).expect("write rules");
    let (ok, text) = run_promtool(dir.path(), &["check", "rules", "exprs.yml"]);
    if ok { Ok(()) } else { Err(text) }
}

/// A recording-rule name made of arbitrary parts (invalid characters become `_`).
pub fn rule_name(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(":")
}
