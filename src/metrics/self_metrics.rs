//! The exporter's own metrics: call counters fed by the client, exporter-wide counters (such as
//! push outcomes), and the account's health.

use super::catalogue as m;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::store::Changed;
use super::{Out, Point, Value, midnight_seconds};
use crate::latest::{AccountReports, AccountStatus};
use crate::wechat::transport::CallObserver;

const API_REQUESTS: &str = m::API_REQUESTS_TOTAL.name;
const TOKEN_FETCHES: &str = m::TOKEN_FETCHES_TOTAL.name;

/// (family, account, api or token source, errcode).
type Key = (&'static str, String, String, String);

/// Self-metrics fed by the WeChat client while it works.
#[derive(Debug)]
pub struct SelfMetrics {
    counters: Mutex<BTreeMap<Key, u64>>,
    /// Exporter-wide counters with one label and no account: (family, label, value).
    exporter: Mutex<BTreeMap<(&'static str, &'static str, &'static str), u64>>,
    /// The live block's part that holds these counters: marked on every change, so the next
    /// scrape re-encodes that part.
    changed: Changed,
}

impl SelfMetrics {
    /// Counters that mark `changed` whenever one of them changes.
    pub(super) fn marking(changed: Changed) -> Self {
        Self {
            counters: Mutex::default(),
            exporter: Mutex::default(),
            changed,
        }
    }

    /// The observer one account's client reports its calls to.
    pub fn observer(self: &Arc<Self>, account: &str) -> Arc<dyn CallObserver> {
        Arc::new(AccountObserver {
            metrics: self.clone(),
            account: account.to_string(),
        })
    }

    fn inc(&self, family: &'static str, account: &str, what: &str, errcode: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *counters
            .entry((
                family,
                account.to_string(),
                what.to_string(),
                errcode.to_string(),
            ))
            .or_default() += 1;
        self.changed.mark();
    }

    /// The current value of one counter (0 when never incremented).
    pub fn count(&self, family: &str, account: &str, what: &str, errcode: &str) -> u64 {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters
            .iter()
            .find(|((f, a, w, e), _)| *f == family && a == account && w == what && e == errcode)
            .map_or(0, |(_, v)| *v)
    }

    /// Adds `n` to an exporter-wide counter with one label (e.g. a push outcome); `n = 0` makes
    /// the series appear at zero, so `rate()` sees the first increment.
    pub fn add_exporter_count(
        &self,
        family: &'static str,
        (label, value): (&'static str, &'static str),
        n: u64,
    ) {
        let mut exporter = self.exporter.lock().unwrap_or_else(|e| e.into_inner());
        *exporter.entry((family, label, value)).or_default() += n;
        self.changed.mark();
    }

    /// The current value of an exporter-wide counter (0 when it does not exist).
    pub fn exporter_count(&self, family: &str, (label, value): (&str, &str)) -> u64 {
        let exporter = self.exporter.lock().unwrap_or_else(|e| e.into_inner());
        exporter
            .iter()
            .find(|((f, l, v), _)| *f == family && *l == label && *v == value)
            .map_or(0, |(_, n)| *n)
    }

    pub(super) fn retain(&self, keep: &impl Fn(&str) -> bool) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.retain(|(_, account, _, _), _| keep(account));
        self.changed.mark();
    }

    /// Every counter as (family, series).
    pub(super) fn samples(&self) -> Vec<(&'static str, Point)> {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters
            .iter()
            .map(|((family, account, what, errcode), v)| {
                let what_label = if *family == API_REQUESTS {
                    "api"
                } else {
                    "source"
                };
                let point = Point {
                    labels: vec![
                        ("account", account.as_str().into()),
                        (what_label, what.as_str().into()),
                        ("errcode", errcode.as_str().into()),
                    ]
                    .into(),
                    value: Value::Int(*v),
                };
                (*family, point)
            })
            .chain(
                self.exporter
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .map(|((family, label, value), v)| {
                        let point = Point {
                            labels: vec![(*label, (*value).into())].into(),
                            value: Value::Int(*v),
                        };
                        (*family, point)
                    }),
            )
            .collect()
    }
}

/// The observer handed to one account's client and token cache.
struct AccountObserver {
    metrics: Arc<SelfMetrics>,
    account: String,
}

impl CallObserver for AccountObserver {
    fn api_call(&self, api: &str, errcode_label: &str) {
        self.metrics
            .inc(API_REQUESTS, &self.account, api, errcode_label);
    }

    fn token_fetch(&self, source_kind: &str, errcode_label: &str) {
        self.metrics
            .inc(TOKEN_FETCHES, &self.account, source_kind, errcode_label);
    }
}

/// Health of the account and the date of each report's data.
pub fn map_status(out: &mut Out, reports: &AccountReports, status: &AccountStatus) {
    out.put(&m::UP, &[], Some(u64::from(status.up)));
    out.put(
        &m::LAST_POLL_DURATION_SECONDS,
        &[],
        status.last_poll_seconds,
    );
    out.put(
        &m::LAST_POLL_TIMESTAMP_SECONDS,
        &[],
        status.last_poll_end.and_then(|t| u64::try_from(t).ok()),
    );
    for (endpoint, reason) in &status.unavailable {
        out.put(
            &m::API_UNAVAILABLE,
            &[("api", endpoint.name()), ("reason", reason)],
            Some(1u64),
        );
    }
    for (endpoint, quota) in &status.quota {
        let api = [("api", endpoint.name())];
        out.put(&m::API_QUOTA_DAILY_LIMIT, &api, Some(quota.daily_limit));
        out.put(&m::API_QUOTA_USED, &api, Some(quota.used));
        out.put(&m::API_QUOTA_REMAINING, &api, Some(quota.remain));
    }
    for (endpoint, dated) in &reports.reports {
        out.put(
            &m::DATA_DATE_SECONDS,
            &[("api", endpoint.name())],
            midnight_seconds(Some(dated.date)),
        );
    }
}
