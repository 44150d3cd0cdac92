//! Maps typed reports to metric families and keeps the pre-encoded `/metrics` bodies.
//!
//! Each account's reports become an immutable snapshot of samples (pure mapping functions, one
//! module per report group). The bodies are blocks (`exposition`): the business block, rebuilt
//! only when business data changes, and the live block (own counters, probes, `up`, quota),
//! rebuilt when one of those changed; each is encoded by prometheus-client once per format on the
//! first scrape after the change, so the HTTP handler only copies bytes.

mod articles;
mod callbacks;
mod docs;
mod exposition;
mod labels;
mod messages;
mod probe;
mod process;
mod published;
mod self_metrics;
pub(crate) mod text;
pub(crate) mod timestamped;
mod users;
mod view;

use crate::catalogue;
use catalogue as m;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use jiff::civil::Date;

use crate::reports::{AccountReports, AccountStatus};
use crate::wechat::endpoint::Article;

pub use crate::catalogue::exclude::Exclusions;
pub use crate::catalogue::{MetricInfo, MetricKind, catalogue, lookup};
pub use docs::catalogue_markdown;
pub use exposition::{Exposition, GZIP_LEVEL};
pub(crate) use probe::BUCKETS as PROBE_BUCKETS;
pub use process::ProcessStats;
pub use self_metrics::SelfMetrics;
pub use text::Format;
pub use text::HistogramSeries;
pub use view::SnapshotView;

/// `Content-Type` of the classic Prometheus text exposition (the fallback of negotiation).
pub const TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

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

/// A label value. Shared: one account's samples hold one copy of each distinct value (the
/// account name, an article's msgid and title, an hour), not one per sample.
pub type LabelValue = Arc<str>;

/// A label set, shared: the families of one article (or one hour, one source) hold one copy of
/// their common labels, not one per family.
pub type Labels = Arc<[(&'static str, LabelValue)]>;

/// One series and its value. Label order is exposition order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The full name as exposed (counters end in `_total`).
    pub name: &'static str,
    /// Label names and values, `account` first.
    pub labels: Labels,
    /// The value.
    pub value: Value,
}

/// Collects one account's samples; every sample gets `account` as its first label.
pub(crate) struct Out {
    account: LabelValue,
    /// Families `[metrics] exclude` drops: never made.
    exclude: Arc<Exclusions>,
    /// Every label value handed out so far, so each is stored once.
    values: HashSet<LabelValue>,
    /// Every label set handed out so far, likewise.
    sets: HashSet<Labels>,
    pub samples: Vec<Sample>,
}

impl Out {
    pub fn new(account: &str, exclude: Arc<Exclusions>) -> Self {
        Self {
            account: account.into(),
            exclude,
            values: HashSet::new(),
            sets: HashSet::new(),
            samples: Vec::new(),
        }
    }

    fn intern(&mut self, value: &str) -> LabelValue {
        if let Some(v) = self.values.get(value) {
            return v.clone();
        }
        let v: LabelValue = value.into();
        self.values.insert(v.clone());
        v
    }

    /// Adds a sample; a missing field (`None`) emits nothing rather than a made-up zero.
    pub fn put<V: Into<Value>>(
        &mut self,
        metric: &'static MetricInfo,
        labels: &[(&'static str, &str)],
        value: Option<V>,
    ) {
        let Some(value) = value else { return };
        if self.exclude.drops(metric.name) {
            return;
        }
        let mut all = Vec::with_capacity(labels.len() + 1);
        all.push(("account", self.account.clone()));
        for (k, v) in labels {
            let v = self.intern(v);
            all.push((*k, v));
        }
        let labels = match self.sets.get(&all[..]) {
            Some(set) => set.clone(),
            None => {
                let set: Labels = all.into();
                self.sets.insert(set.clone());
                set
            }
        };
        self.samples.push(Sample {
            name: metric.name,
            labels,
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
/// to `wechat_mp_dropped_articles{api}`.
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

/// The properties of the articles one report group names (title, date, URL...), merged across
/// its endpoints, written once per msgid as the group's `*_info` family: the value families carry
/// only `msgid`, so an edited title starts one new series, not one per family. Every msgid a value
/// family emitted gets its info series; a property WeChat did not give is an empty label.
#[derive(Debug, Default)]
pub(crate) struct ArticleInfos(BTreeMap<String, BTreeMap<&'static str, String>>);

impl ArticleInfos {
    /// Records `msgid` (emitted by a value family) and whichever of `props` are known; the first
    /// non-empty value of a property wins.
    pub fn note(&mut self, msgid: &str, props: &[(&'static str, Option<String>)]) {
        let known = self.0.entry(msgid.to_string()).or_default();
        for (k, v) in props {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                known.entry(k).or_insert_with(|| v.clone());
            }
        }
    }

    /// One series of value 1 per msgid; `index` (position in the message) is read off the msgid,
    /// `<msg_data_id>_<index>`.
    pub fn put(self, out: &mut Out, info: &'static MetricInfo) {
        for (msgid, props) in &self.0 {
            let index = msgid.split_once('_').map_or("", |(_, i)| i);
            let labels: Vec<(&'static str, &str)> = info
                .labels
                .iter()
                .filter(|l| **l != "account")
                .map(|l| match *l {
                    "msgid" => (*l, msgid.as_str()),
                    "index" => (*l, index),
                    _ => (*l, props.get(l).map_or("", String::as_str)),
                })
                .collect();
            out.put(info, &labels, Some(1u64));
        }
    }
}

/// `date` as `YYYY-MM-DD`, the form of an info label.
pub(crate) fn date_label(date: Option<Date>) -> Option<String> {
    date.map(|d| d.to_string())
}

/// Every sample of one account's reports and status, no label set twice (pure: no I/O, no clock).
pub fn map_account(
    account: &str,
    reports: &AccountReports,
    status: &AccountStatus,
    max_articles: usize,
) -> Vec<Sample> {
    map_account_excluding(account, reports, status, max_articles, Arc::default())
}

/// [`map_account`] without the families of `exclude`.
pub fn map_account_excluding(
    account: &str,
    reports: &AccountReports,
    status: &AccountStatus,
    max_articles: usize,
    exclude: Arc<Exclusions>,
) -> Vec<Sample> {
    let mut out = Out::new(account, exclude);
    users::map(&mut out, reports);
    articles::map(&mut out, reports, max_articles);
    published::map(&mut out, reports, max_articles);
    messages::map(&mut out, reports);
    callbacks::map(&mut out, reports);
    self_metrics::map_status(&mut out, reports, status);
    // The first sample of a label set wins.
    let mut seen: HashSet<(&'static str, Labels)> = HashSet::new();
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
        // Kept until the account's next update: no slack from growing the vectors.
        for samples in families.values_mut() {
            samples.shrink_to_fit();
        }
        Self { families }
    }
}

/// Every family by name (sorted, as `/metrics` writes them): the accounts' samples in account
/// order, then the exporter's own. What both the encoders and the OTLP view read.
fn merged_families<'a>(
    accounts: &'a [Arc<Snapshot>],
    own: &'a [(&'static str, Sample)],
) -> BTreeMap<&'static str, Vec<&'a Sample>> {
    let mut families: BTreeMap<&'static str, Vec<&Sample>> = BTreeMap::new();
    for snapshot in accounts {
        for (name, samples) in &snapshot.families {
            families.entry(name).or_default().extend(samples.iter());
        }
    }
    for (family, s) in own {
        families.entry(family).or_default().push(s);
    }
    families
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whether a family goes in the live block (it changes between business updates: the
/// exporter's own families and the probe's) rather than the business block.
fn is_live(family: &str) -> bool {
    lookup(family).is_some_and(|m| m.group == m::EXPORTER || m.group == m::PROBE)
}

fn is_business(family: &str) -> bool {
    !is_live(family)
}

/// Told the account and duration in seconds of each finished probe.
pub type ProbeObserver = Arc<dyn Fn(&str, f64) + Send + Sync>;

/// The latest snapshot of every account and the encoded bodies.
pub struct Store {
    build_info: Sample,
    /// (last load succeeded, Unix time of the last success).
    reload: Mutex<(bool, f64)>,
    accounts: Mutex<BTreeMap<String, Arc<Snapshot>>>,
    /// The callback probe's series of each probed account (fed through `ProbeSink`).
    probes: Mutex<BTreeMap<String, probe::ProbeSeries>>,
    /// Told each finished probe (account, seconds): the OTLP push's histogram.
    probe_observers: Mutex<Vec<ProbeObserver>>,
    self_metrics: Arc<SelfMetrics>,
    /// `[metrics] exclude`.
    exclude: ArcSwap<Exclusions>,
    /// Set when business data changed: the business block is rebuilt at the next scrape.
    business_dirty: AtomicBool,
    business: ArcSwap<exposition::Block>,
    /// Rebuilt when `self_metrics.dirty` is set (any change, business ones included).
    live: ArcSwap<exposition::Block>,
}

impl Store {
    /// An empty store reporting `version` and `revision` in `wechat_mp_exporter_build_info`.
    pub fn new(version: &str, revision: &str) -> Arc<Store> {
        let store = Store {
            build_info: Sample {
                name: m::EXPORTER_BUILD_INFO.name,
                labels: vec![("version", version.into()), ("revision", revision.into())].into(),
                value: Value::Int(1),
            },
            reload: Mutex::new((true, unix_now())),
            accounts: Mutex::new(BTreeMap::new()),
            probes: Mutex::new(BTreeMap::new()),
            probe_observers: Mutex::new(Vec::new()),
            self_metrics: Arc::new(SelfMetrics::default()),
            exclude: ArcSwap::default(),
            business_dirty: AtomicBool::new(true),
            business: ArcSwap::from_pointee(exposition::Block::new(Default::default(), None)),
            live: ArcSwap::from_pointee(exposition::Block::new(Default::default(), None)),
        };
        // The encode counter exists from the start, at 0, so rate() sees the first encoding.
        for format in Format::ALL {
            store.self_metrics.add_exporter_count(
                m::EXPORTER_BUSINESS_ENCODES_TOTAL.name,
                ("format", format.label()),
                0,
            );
        }
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
        let snapshot = Arc::new(Snapshot::new(map_account_excluding(
            name,
            reports,
            status,
            max_articles,
            self.exclude.load_full(),
        )));
        self.lock().insert(name.to_string(), snapshot);
        self.mark_stale();
    }

    /// Shows the account as down (`wechat_mp_up` 0) without touching its other series: its round
    /// is stuck, and the round's end replaces the whole snapshot anyway.
    pub fn mark_down(&self, name: &str) {
        let mut accounts = self.lock();
        let Some(snapshot) = accounts.get_mut(name) else {
            return;
        };
        let Some(up) = snapshot.families.get(m::UP.name) else {
            return;
        };
        let down: Vec<Sample> = up
            .iter()
            .map(|s| Sample {
                value: Value::Int(0),
                ..s.clone()
            })
            .collect();
        let mut families = snapshot.families.clone();
        families.insert(m::UP.name, down);
        *snapshot = Arc::new(Snapshot { families });
        drop(accounts);
        self.mark_live_stale();
    }

    /// Business data changed: both blocks are rebuilt at the next scrape. Encoding waits for the
    /// scrape: a poll round that updates 1000 accounts one after another then costs one
    /// encoding, not 1000.
    fn mark_stale(&self) {
        self.business_dirty.store(true, Ordering::Release);
        self.mark_live_stale();
    }

    /// Only what the live block holds changed (a probe result, a call, `up`): the business
    /// block stays as encoded.
    fn mark_live_stale(&self) {
        self.self_metrics.dirty.store(true, Ordering::Release);
    }

    /// Applies `[metrics] exclude` (at start and on every reload): excluded families go at once;
    /// families no longer excluded come back with each account's next update.
    pub fn set_exclusions(&self, exclude: Exclusions) {
        if **self.exclude.load() == exclude {
            return;
        }
        let exclude = Arc::new(exclude);
        self.exclude.store(exclude.clone());
        let mut accounts = self.lock();
        for snapshot in accounts.values_mut() {
            if snapshot.families.keys().any(|f| exclude.drops(f)) {
                let kept = snapshot
                    .families
                    .iter()
                    .filter(|(f, _)| !exclude.drops(f))
                    .map(|(f, v)| (*f, v.clone()))
                    .collect();
                *snapshot = Arc::new(Snapshot { families: kept });
            }
        }
        drop(accounts);
        self.mark_stale();
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
        self.mark_live_stale();
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
        self.probes_lock().retain(|a, _| keep(a));
        self.self_metrics.retain(&keep);
        drop(accounts);
        self.mark_stale();
    }

    /// The current blocks; each rebuilt first if what it holds changed since it was built (the
    /// business block only on a business change). Between changes a scrape only copies pointers.
    pub fn exposition(&self) -> Arc<Exposition> {
        if self.business_dirty.load(Ordering::Acquire) {
            let accounts = self.lock();
            // Re-check under the lock: another caller may have just rebuilt it.
            if self.business_dirty.swap(false, Ordering::AcqRel) {
                let families = text::Families {
                    accounts: accounts.values().cloned().collect(),
                    keep: Some(is_business),
                    ..Default::default()
                };
                let block = exposition::Block::new(families, Some(self.self_metrics.clone()));
                self.business.store(Arc::new(block));
            }
        }
        if self.self_metrics.dirty.load(Ordering::Acquire) {
            let accounts = self.lock();
            // Clear first: a change racing with this rebuild sets it again for the next scrape.
            if self.self_metrics.dirty.swap(false, Ordering::AcqRel) {
                let mut histograms = BTreeMap::new();
                if !self
                    .exclude
                    .load()
                    .drops(m::CALLBACK_PROBE_LATENCY_SECONDS.name)
                {
                    let series = self.probe_histograms();
                    if !series.is_empty() {
                        histograms.insert(m::CALLBACK_PROBE_LATENCY_SECONDS.name, series);
                    }
                }
                let families = text::Families {
                    accounts: accounts.values().cloned().collect(),
                    keep: Some(is_live),
                    own: self.own_samples(),
                    histograms,
                    extra: Vec::new(),
                };
                self.live
                    .store(Arc::new(exposition::Block::new(families, None)));
            }
        }
        Arc::new(Exposition::new(
            self.business.load_full(),
            self.live.load_full(),
        ))
    }

    fn probes_lock(&self) -> MutexGuard<'_, BTreeMap<String, probe::ProbeSeries>> {
        self.probes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Arc<Snapshot>>> {
        // A panic while holding the lock leaves the map consistent (only whole inserts/removes).
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The exporter's own samples, each with its family: call counters, the callback probes'
    /// gauges and counters, build info and the config reload (the probe latency histogram is
    /// [`Store::probe_histograms`]). One list for both readers, `/metrics` and
    /// [`Store::snapshot_view`].
    fn own_samples(&self) -> Vec<(&'static str, Sample)> {
        let mut own: Vec<(&'static str, Sample)> = self
            .self_metrics
            .samples()
            .into_iter()
            .map(|s| (s.name, s))
            .collect();
        let exclude = self.exclude.load();
        own.extend(
            self.probe_samples()
                .into_iter()
                .filter(|(family, _)| !exclude.drops(family)),
        );
        own.push((self.build_info.name, self.build_info.clone()));
        let (success, at) = *self.reload.lock().unwrap_or_else(|e| e.into_inner());
        for (metric, value) in [
            (
                &m::EXPORTER_CONFIG_LAST_RELOAD_SUCCESSFUL,
                Value::Int(u64::from(success)),
            ),
            (
                &m::EXPORTER_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS,
                Value::Float(at),
            ),
        ] {
            let sample = Sample {
                name: metric.name,
                labels: Arc::new([]),
                value,
            };
            own.push((metric.name, sample));
        }
        own
    }
}

#[cfg(test)]
mod tests;
