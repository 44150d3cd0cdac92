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
mod probe_series;
mod process;
mod published;
mod self_metrics;
mod store;
pub(crate) mod text;
pub(crate) mod timestamped;
mod users;
mod view;

use crate::catalogue;
use catalogue as m;
use std::collections::BTreeMap;
use std::sync::Arc;

use foldhash::{HashSet, HashSetExt as _};
use jiff::civil::Date;

use crate::latest::{AccountReports, AccountStatus};
use crate::wechat::endpoint::Article;

pub use crate::catalogue::exclude::Exclusions;
pub use crate::catalogue::{MetricInfo, MetricKind, catalogue, lookup};
pub use docs::catalogue_markdown;
pub use exposition::{Exposition, GZIP_LEVEL, JOIN_GZIP_BELOW, JOIN_PLAIN_BELOW};
pub(crate) use probe_series::BUCKETS as PROBE_BUCKETS;
pub use process::ProcessStats;
pub use self_metrics::SelfMetrics;
pub(crate) use store::Snapshot;
pub use store::{ProbeObserver, Store};
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

/// A stored series: a [`Sample`] without its name, which is the family it is stored under
/// (32 bytes instead of 48: 16 bytes on each of millions of series).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Label names and values, `account` first.
    pub labels: Labels,
    /// The value.
    pub value: Value,
}

impl From<Sample> for Point {
    fn from(s: Sample) -> Point {
        Point {
            labels: s.labels,
            value: s.value,
        }
    }
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

#[cfg(test)]
mod tests;
