//! The status page as HTML: no JavaScript, one row per account (problems first) on `/`, a page of
//! its own per account. Filter and paging by query string keep it usable at thousands of
//! accounts; a row stays well under 2.5 KB (long errors are cut, in full on the account's page).

use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Deserialize;

use super::{Process, Row, State, StatusBoard};

/// Rows per page of `/`.
pub const PAGE_SIZE: usize = 1000;
/// An error longer than this is cut on `/` (the account's page has it whole).
const ERROR_CHARS: usize = 200;

/// `/?state=...&q=...&page=N`: which rows to show.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccountQuery {
    /// `problems` (down or stuck), or a state's word (`down`, `stuck`, `not_polled`,
    /// `waiting`, `up`); empty: all.
    #[serde(default)]
    pub state: String,
    /// Only accounts whose name contains this.
    #[serde(default)]
    pub q: String,
    /// 1-based.
    #[serde(default)]
    pub page: Option<usize>,
}

impl AccountQuery {
    fn keeps(&self, row: &Row) -> bool {
        let state = match self.state.as_str() {
            "" => true,
            "problems" => row.state.is_problem(),
            s => state_key(row.state) == s,
        };
        state && row.view.name.contains(self.q.as_str())
    }
}

fn state_key(state: State) -> &'static str {
    match state {
        State::Down => "down",
        State::Stuck => "stuck",
        State::NotPolled => "not_polled",
        State::Waiting => "waiting",
        State::Up => "up",
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
.down,.stuck{background:#fdd}.down td:nth-child(2),.stuck td:nth-child(2){color:#a00;font-weight:bold}\
.not_polled,.waiting{background:#ffd}.up td:nth-child(2){color:#070}.bad{color:#a00}\
.num{text-align:right}.sum span{margin-right:1.2em}small{color:#555}.t{white-space:nowrap}";

fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style>\
         </head><body>",
        escape(title)
    );
}

/// The header every page shares: links, version, revision, uptime, last reload.
fn header(out: &mut String, telemetry_path: &str, process: &Process, now: Timestamp) {
    let _ = write!(
        out,
        "<h1>WeChat MP Exporter</h1><p><a href=\"/\">Status</a> · <a href=\"{}\">Metrics</a> · \
         <a href=\"/-/healthy\">Health</a> · <a href=\"/-/ready\">Readiness</a> · \
         <a href=\"/api/v1/status\">JSON</a>",
        escape(telemetry_path)
    );
    for (label, url) in &process.links {
        let _ = write!(out, " · <a href=\"{}\">{}</a>", escape(url), escape(label));
    }
    let uptime = process.started.map_or_else(
        || "-".to_string(),
        |s| human(now.duration_since(s).as_secs()),
    );
    let reload = match process.last_reload {
        Some((at, true)) => format!("{} (ok)", china(at)),
        Some((at, false)) => format!("<span class=\"bad\">{} failed</span>", china(at)),
        None => "-".into(),
    };
    let _ = write!(
        out,
        "</p><p><small>Version {} · revision {} · up {uptime} · last config load {reload} · \
         times in UTC+8 · data is the latest complete day (WeChat publishes a day the next \
         morning, T+1)</small></p>",
        escape(crate::version::VERSION),
        escape(crate::version::REVISION),
    );
}

/// `/`: the summary, then one row per account, problems first.
pub fn index_page(
    board: &StatusBoard,
    telemetry_path: &str,
    query: &AccountQuery,
    now: Timestamp,
) -> String {
    let rows = board.rows();
    let mut out = String::with_capacity(4096 + rows.len().min(PAGE_SIZE) * 700);
    head(&mut out, "WeChat MP Exporter");
    header(&mut out, telemetry_path, &board.process(), now);
    out.push_str("<p class=\"sum\">");
    for state in State::ALL {
        let n = rows.iter().filter(|r| r.state == state).count();
        // Coloured only when some account is in that state.
        let _ = write!(
            out,
            "<span class=\"{}\"><a href=\"/?state={key}\">{n} {}</a></span>",
            if n > 0 { state_key(state) } else { "" },
            state.word(),
            key = state_key(state)
        );
    }
    let probes_failing = rows
        .iter()
        .filter(|r| r.probe.as_ref().is_some_and(|p| p.failure.is_some()))
        .count();
    let _ = write!(
        out,
        "<span>{probes_failing} callback probe(s) failing</span><span>{} account(s)</span></p>",
        rows.len()
    );
    let _ = write!(
        out,
        "<form method=\"get\" action=\"/\">Name contains <input name=\"q\" value=\"{}\"> \
         state <select name=\"state\"><option value=\"\">all</option>\
         <option value=\"problems\"{}>problems</option></select> <button>Filter</button></form>",
        escape(&query.q),
        if query.state == "problems" {
            " selected"
        } else {
            ""
        }
    );
    let kept: Vec<&Row> = rows.iter().filter(|r| query.keeps(r)).collect();
    let pages = kept.len().div_ceil(PAGE_SIZE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    out.push_str(
        "<table><tr><th>account</th><th>state</th><th>latest day</th><th>last successful poll</th>\
         <th>next poll</th><th>followers</th><th>callback probe</th><th>lowest quota left</th>\
         <th>last error</th></tr>",
    );
    for row in kept.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        account_row(&mut out, row);
    }
    out.push_str("</table>");
    if pages > 1 {
        let _ = write!(out, "<p>Page {page} of {pages}:");
        for p in 1..=pages {
            let _ = write!(
                out,
                " <a href=\"/?state={}&amp;q={}&amp;page={p}\">{p}</a>",
                escape(&query.state),
                escape(&percent(&query.q))
            );
        }
        out.push_str("</p>");
    }
    out.push_str("</body></html>");
    out
}

fn account_row(out: &mut String, row: &Row) {
    let v = &row.view;
    let _ = write!(
        out,
        "<tr class=\"{}\"><td><a href=\"/account/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>",
        state_key(row.state),
        escape(&percent(&v.name)),
        escape(&v.name),
        row.state.word(),
        v.latest_day()
            .map_or("-".into(), |d| format!("<span class=\"t\">{d}</span>")),
        v.last_success.map_or("never".into(), china),
    );
    match &v.next_poll {
        Some((at, why)) => {
            let _ = write!(
                out,
                "<td>{}<br><small>{}</small></td>",
                china(*at),
                escape(why)
            );
        }
        None => out.push_str("<td>-</td>"),
    }
    let _ = write!(
        out,
        "<td class=\"num\">{}</td><td>{}</td><td>{}</td><td>",
        v.followers.map_or("-".into(), group_digits),
        probe_cell(row),
        v.lowest_quota.map_or("-".into(), |(e, q)| format!(
            "{} {}/{}",
            e.name(),
            q.remain,
            q.daily_limit
        )),
    );
    if let Some(stuck) = &row.stuck {
        let _ = write!(out, "{}<br>", escape(&stuck.describe()));
    }
    if let Some((e, error)) = v.first_error() {
        let more = v.last_errors.len() - 1;
        let _ = write!(out, "{}: {}", e.name(), escape(&cut(error, ERROR_CHARS)));
        if more > 0 {
            let _ = write!(out, " <small>(+{more} more)</small>");
        }
    }
    out.push_str("</td></tr>");
}

fn probe_cell(row: &Row) -> String {
    match &row.probe {
        None => "-".into(),
        Some(p) => match p.failure {
            None => format!("ok ({:.2} s)", p.seconds),
            Some(reason) => format!("<span class=\"bad\">failing: {reason}</span>"),
        },
    }
}

/// `/account/NAME`: the account's row, then every report's data date and error. `None`: no
/// such account.
pub fn account_page(
    board: &StatusBoard,
    telemetry_path: &str,
    name: &str,
    now: Timestamp,
) -> Option<String> {
    let row = board.rows().into_iter().find(|r| r.view.name == name)?;
    let mut out = String::with_capacity(8192);
    head(&mut out, &format!("{name} · WeChat MP Exporter"));
    header(&mut out, telemetry_path, &board.process(), now);
    let _ = write!(out, "<h2>{}</h2>", escape(name));
    out.push_str(
        "<table><tr><th>account</th><th>state</th><th>latest day</th><th>last successful poll</th>\
         <th>next poll</th><th>followers</th><th>callback probe</th><th>lowest quota left</th>\
         <th>last error</th></tr>",
    );
    account_row(&mut out, &row);
    out.push_str("</table><h3>Reports</h3><table><tr><th>report</th><th>data date</th><th>stopped</th><th>last error</th></tr>");
    let v = &row.view;
    let mut endpoints: Vec<_> = v
        .data_dates
        .keys()
        .chain(v.last_errors.keys())
        .chain(v.unavailable.keys())
        .copied()
        .collect();
    endpoints.sort();
    endpoints.dedup();
    for e in endpoints {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.name(),
            v.data_dates.get(&e).map_or("-".into(), |d| d.to_string()),
            escape(v.unavailable.get(&e).map_or("", String::as_str)),
            escape(v.last_errors.get(&e).map_or("", String::as_str)),
        );
    }
    out.push_str("</table><h3>Recent errors</h3>");
    if v.last_errors.is_empty() {
        out.push_str("<p>None.</p>");
    } else {
        out.push_str("<ul>");
        for (e, error) in &v.last_errors {
            let _ = write!(out, "<li><b>{}</b>: {}</li>", e.name(), escape(error));
        }
        out.push_str("</ul>");
    }
    out.push_str("</body></html>");
    Some(out)
}

/// `2026-12-07 09:00:03` in UTC+8, kept on one line.
pub(super) fn china(t: Timestamp) -> String {
    let local = t.to_zoned(crate::wechat::date::china());
    format!(
        "<span class=\"t\">{}</span>",
        local.strftime("%Y-%m-%d %H:%M:%S")
    )
}

fn human(secs: i64) -> String {
    match secs.max(0) {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Percent-encodes everything but unreserved characters (an account name in a URL path).
pub fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// HTML-escapes text and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
