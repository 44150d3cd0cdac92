//! Maps typed reports to metric families and keeps the pre-encoded `/metrics` bodies.
//!
//! Each account's reports become an immutable snapshot of samples (pure mapping functions, one
//! module per report group); on every change both bodies are encoded once and swapped in, so the
//! HTTP handler only copies bytes. The exporter's own call counters mark the bodies dirty and are
//! folded in lazily by `exposition()`.

mod articles;
mod callbacks;
mod catalogue;
mod labels;
mod messages;
mod process;
mod published;
mod self_metrics;
pub(crate) mod text;
mod users;
mod view;

use catalogue as m;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use bytes::Bytes;
use jiff::civil::Date;

use crate::reports::{AccountReports, AccountStatus};
use crate::wechat::report::Article;

pub use catalogue::{MetricInfo, MetricKind, catalogue, catalogue_markdown, lookup};
pub use process::{ProcessStats, with_process_metrics};
pub use self_metrics::SelfMetrics;
pub use view::SnapshotView;

/// `Content-Type` of the OpenMetrics exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` of the classic Prometheus text exposition.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The pre-encoded bodies of `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    /// The OpenMetrics 1.0 body.
    pub openmetrics: Bytes,
    /// The classic text format 0.0.4 body.
    pub text: Bytes,
}

/// A sample value: counts stay integers, ratios and seconds are floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A count.
    Int(u64),
    /// A ratio, seconds or money.
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

/// One series and its value. Label order is exposition order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The full name as exposed (counters end in `_total`).
    pub name: &'static str,
    /// Label names and values, `account` first.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: Value,
}

/// Collects one account's samples; every sample gets `account` as its first label.
pub(crate) struct Out<'a> {
    account: &'a str,
    pub samples: Vec<Sample>,
}

impl<'a> Out<'a> {
    pub fn new(account: &'a str) -> Self {
        Self {
            account,
            samples: Vec::new(),
        }
    }

    /// Adds a sample; a missing field (`None`) emits nothing rather than a made-up zero.
    pub fn put<V: Into<Value>>(
        &mut self,
        metric: &'static MetricInfo,
        labels: &[(&'static str, &str)],
        value: Option<V>,
    ) {
        let Some(value) = value else { return };
        let mut all = Vec::with_capacity(labels.len() + 1);
        all.push(("account", self.account.to_string()));
        all.extend(labels.iter().map(|(k, v)| (*k, (*v).to_string())));
        self.samples.push(Sample {
            name: metric.name,
            labels: all,
            value: value.into(),
        });
    }
}

/// Milliseconds to seconds.
pub(crate) fn ms_to_seconds(ms: Option<u64>) -> Option<f64> {
    ms.map(|v| v as f64 / 1000.0)
}

/// Unix seconds of 00:00 UTC+8 of `date`.
pub(crate) fn midnight_seconds(date: Option<Date>) -> Option<u64> {
    date.and_then(|d| u64::try_from(crate::wechat::date::china_midnight(d).as_second()).ok())
}

/// The rows of the latest `ref_date` only (a fetch may cover several days).
pub(crate) fn latest_day<T>(rows: &[T], date: impl Fn(&T) -> Option<Date>) -> Vec<&T> {
    let latest = rows.iter().map(&date).max().flatten();
    rows.iter().filter(|r| date(r) == latest).collect()
}

/// Orders msgids `<msg_data_id>_<index>` numerically, falling back to the text.
fn msgid_key(msgid: &str) -> (u64, u64, &str) {
    let mut parts = msgid.splitn(2, '_');
    let id = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let idx = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (id, idx, msgid)
}

/// One row per article (the latest `date` wins), newest first by `date` then msgid, cut to
/// `max`. Returns the kept rows and how many articles were cut.
pub(crate) fn newest_articles<T>(
    rows: &[T],
    msgid: impl Fn(&T) -> &str,
    date: impl Fn(&T) -> Option<Date>,
    max: usize,
) -> (Vec<&T>, usize) {
    let mut by_id: BTreeMap<&str, &T> = BTreeMap::new();
    for row in rows {
        let id = msgid(row);
        match by_id.get(id) {
            Some(prev) if date(prev) >= date(row) => {}
            _ => {
                by_id.insert(id, row);
            }
        }
    }
    let mut kept: Vec<&T> = by_id.into_values().collect();
    kept.sort_by(|a, b| {
        date(b)
            .cmp(&date(a))
            .then_with(|| msgid_key(msgid(b)).cmp(&msgid_key(msgid(a))))
    });
    let dropped = kept.len().saturating_sub(max);
    kept.truncate(max);
    (kept, dropped)
}

/// The per-article families of one endpoint: at most `max` articles, newest first (one row per
/// msgid, the latest date wins), each handed to `each` with its msgid; how many were left out goes
/// to `wechat_mp_article_series_dropped{api}`.
pub(crate) fn per_article<'r, T: Article>(
    out: &mut Out,
    rows: &[&'r T],
    max: usize,
    mut each: impl FnMut(&mut Out, &'r T, &str),
) {
    let (kept, cut) = newest_articles(rows, |r| r.msgid(), |r| r.ref_date(), max);
    for row in kept {
        each(out, row, row.msgid());
    }
    out.put(
        &m::ARTICLE_SERIES_DROPPED,
        &[("api", T::ENDPOINT.name())],
        Some(cut as u64),
    );
}

/// Every sample of one account's reports and status, no label set twice (pure: no I/O, no clock).
pub fn map_account(
    account: &str,
    reports: &AccountReports,
    status: &AccountStatus,
    max_articles: usize,
) -> Vec<Sample> {
    let mut out = Out::new(account);
    users::map(&mut out, reports);
    articles::map(&mut out, reports, max_articles);
    published::map(&mut out, reports, max_articles);
    messages::map(&mut out, reports);
    callbacks::map(&mut out, reports);
    self_metrics::map_status(&mut out, reports, status);
    // The first sample of a label set wins (e.g. `read_user` over the 全部 entry of the same number).
    let mut seen: HashSet<(&'static str, Vec<(&'static str, String)>)> = HashSet::new();
    out.samples
        .into_iter()
        .filter(|s| seen.insert((s.name, s.labels.clone())))
        .collect()
}

/// One account's samples by family.
#[derive(Debug, Default)]
struct Snapshot {
    families: BTreeMap<&'static str, Vec<Sample>>,
}

impl Snapshot {
    fn new(samples: Vec<Sample>) -> Self {
        let mut families: BTreeMap<&'static str, Vec<Sample>> = BTreeMap::new();
        for s in samples {
            families.entry(s.name).or_default().push(s);
        }
        Self { families }
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The latest snapshot of every account and the encoded bodies.
pub struct Store {
    build_info: Sample,
    /// (last load succeeded, Unix time of the last success).
    reload: Mutex<(bool, f64)>,
    accounts: Mutex<BTreeMap<String, Arc<Snapshot>>>,
    self_metrics: Arc<SelfMetrics>,
    current: ArcSwap<Exposition>,
}

impl Store {
    /// An empty store reporting `version` and `revision` in `wechat_mp_exporter_build_info`.
    pub fn new(version: &str, revision: &str) -> Arc<Store> {
        let store = Store {
            build_info: Sample {
                name: m::EXPORTER_BUILD_INFO.name,
                labels: vec![
                    ("version", version.to_string()),
                    ("revision", revision.to_string()),
                ],
                value: Value::Int(1),
            },
            reload: Mutex::new((true, unix_now())),
            accounts: Mutex::new(BTreeMap::new()),
            self_metrics: Arc::new(SelfMetrics::default()),
            current: ArcSwap::from_pointee(Exposition::default()),
        };
        store.reencode(&store.lock());
        Arc::new(store)
    }

    /// The call counters the WeChat clients feed.
    pub fn self_metrics(&self) -> Arc<SelfMetrics> {
        self.self_metrics.clone()
    }

    /// Replaces the account's snapshot; the bodies are re-encoded at the next scrape.
    pub fn update_account(
        &self,
        name: &str,
        reports: &AccountReports,
        status: &AccountStatus,
        max_articles: usize,
    ) {
        // Map outside the lock: it is the expensive part and touches nothing shared.
        let snapshot = Arc::new(Snapshot::new(map_account(
            name,
            reports,
            status,
            max_articles,
        )));
        self.lock().insert(name.to_string(), snapshot);
        self.mark_stale();
    }

    /// Encoding waits for the next scrape: a poll round that updates 1000 accounts one after
    /// another then costs one encoding, not 1000 (each of the whole exposition).
    fn mark_stale(&self) {
        self.self_metrics.dirty.store(true, Ordering::Release);
    }

    /// Records a config load: `wechat_mp_exporter_config_last_reload_*`.
    pub fn config_loaded(&self, success: bool) {
        {
            let mut reload = self.reload.lock().unwrap_or_else(|e| e.into_inner());
            reload.0 = success;
            if success {
                reload.1 = unix_now();
            }
        }
        self.mark_stale();
    }

    /// Drops every series of the account, including its call counters.
    pub fn remove_account(&self, name: &str) {
        self.retain(|a| a != name);
    }

    /// Drops every account not in `names` (it left the config).
    pub fn retain_accounts(&self, names: &[String]) {
        self.retain(|a| names.iter().any(|n| n == a));
    }

    fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut accounts = self.lock();
        accounts.retain(|a, _| keep(a));
        self.self_metrics.retain(&keep);
        drop(accounts);
        self.mark_stale();
    }

    /// The current bodies; re-encoded first if anything changed since the last encoding (an
    /// account's data, a call counter). Between changes a scrape only copies a pointer.
    pub fn exposition(&self) -> Arc<Exposition> {
        if self.self_metrics.dirty.load(Ordering::Acquire) {
            let accounts = self.lock();
            // Re-check under the lock: another caller may have just encoded.
            if self.self_metrics.dirty.load(Ordering::Acquire) {
                self.reencode(&accounts);
            }
        }
        self.current.load_full()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Arc<Snapshot>>> {
        // A panic while holding the lock leaves the map consistent (only whole inserts/removes).
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Encodes both bodies from the accounts (caller holds the lock) and swaps them in.
    fn reencode(&self, accounts: &BTreeMap<String, Arc<Snapshot>>) {
        // Clear first: an increment racing with this encoding sets it again and is picked up next time.
        self.self_metrics.dirty.store(false, Ordering::Release);
        let counters = self.self_metrics.samples();
        let mut families: BTreeMap<&'static str, Vec<&Sample>> = BTreeMap::new();
        for snapshot in accounts.values() {
            for (name, samples) in &snapshot.families {
                families.entry(name).or_default().extend(samples.iter());
            }
        }
        for s in &counters {
            families.entry(s.name).or_default().push(s);
        }
        families
            .entry(self.build_info.name)
            .or_default()
            .push(&self.build_info);
        let (success, at) = *self.reload.lock().unwrap_or_else(|e| e.into_inner());
        let reload = [
            Sample {
                name: m::EXPORTER_CONFIG_LAST_RELOAD_SUCCESSFUL.name,
                labels: Vec::new(),
                value: Value::Int(u64::from(success)),
            },
            Sample {
                name: m::EXPORTER_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS.name,
                labels: Vec::new(),
                value: Value::Float(at),
            },
        ];
        for s in &reload {
            families.entry(s.name).or_default().push(s);
        }
        let exposition = Exposition {
            openmetrics: Bytes::from(text::encode(text::Format::OpenMetrics, &families)),
            text: Bytes::from(text::encode(text::Format::Text, &families)),
        };
        self.current.store(Arc::new(exposition));
    }
}

#[cfg(test)]
mod tests;
