//! What the simulator counts beyond the totals: calls per account, API and UTC+8 day against a
//! daily quota (45009 past it, getApiQuota reads it), and the busiest second of requests (the
//! request rate the exporter's `rate_limit` must keep).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use jiff::civil::Date;

use super::{Simulator, error_body, lock, query_param};
use crate::wechat::Endpoint;
use crate::wechat::client::QUOTA_API;
use crate::wechat::date::china_today;

/// The daily quota of every datacube API unless a test sets another: WeChat publishes none for
/// the datacube endpoints, so this is only a plausible size.
pub const DEFAULT_DAILY_LIMIT: u64 = 5000;

pub(super) struct Ledger {
    daily_limit: AtomicU64,
    /// Calls counted against the quota: (UTC+8 day, app_id, api) -> calls, for today and
    /// yesterday only (a quota is a day's; older days would grow without bound over a long run).
    daily: Mutex<BTreeMap<(Date, String, String), u64>>,
    /// The requests (any route but the control ones) of the last second, and the most any second
    /// held: bounded however long the simulator runs.
    arrivals: Mutex<Arrivals>,
}

/// The arrivals of the last second, kept only to find the busiest one.
#[derive(Default)]
pub(super) struct Arrivals {
    last_second: VecDeque<Instant>,
    busiest: usize,
    total: usize,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            daily_limit: AtomicU64::new(DEFAULT_DAILY_LIMIT),
            daily: Mutex::default(),
            arrivals: Mutex::default(),
        }
    }
}

impl Ledger {
    pub(super) fn arrived(&self) {
        let mut arrivals = lock(&self.arrivals);
        // Read under the lock, so that arrivals are recorded in order.
        let now = Instant::now();
        while arrivals
            .last_second
            .front()
            .is_some_and(|&t| now.duration_since(t) >= Duration::from_secs(1))
        {
            arrivals.last_second.pop_front();
        }
        arrivals.last_second.push_back(now);
        arrivals.busiest = arrivals.busiest.max(arrivals.last_second.len());
        arrivals.total += 1;
    }

    /// Counts one call of `api` by `app_id` on `day` if the quota has room; false (45009) if not.
    pub(super) fn take(&self, app_id: &str, api: &str, day: Date) -> bool {
        let limit = self.daily_limit.load(Ordering::SeqCst);
        let mut daily = lock(&self.daily);
        let kept_from = day.yesterday().unwrap_or(day);
        if daily.keys().next().is_some_and(|(d, _, _)| *d < kept_from) {
            daily.retain(|(d, _, _), _| *d >= kept_from);
        }
        let used = daily
            .entry((day, app_id.to_string(), api.to_string()))
            .or_insert(0);
        if *used >= limit {
            return false;
        }
        *used += 1;
        true
    }

    fn used(&self, app_id: &str, api: &str, day: Date) -> u64 {
        lock(&self.daily)
            .get(&(day, app_id.to_string(), api.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub(super) fn reset(&self) {
        lock(&self.daily).clear();
        *lock(&self.arrivals) = Arrivals::default();
    }
}

impl Simulator {
    /// Sets the daily quota of every datacube API of every account (from the next call on).
    pub fn set_daily_limit(&self, calls: u64) {
        self.inner.ledger.daily_limit.store(calls, Ordering::SeqCst);
    }

    /// Calls of `api` by `app_id` counted against its quota on the UTC+8 `day` (calls refused
    /// with 45009 are not counted); 0 for a day before yesterday of the latest day counted.
    pub fn used_on(&self, app_id: &str, api: &str, day: Date) -> u64 {
        self.inner.ledger.used(app_id, api, day)
    }

    /// The most requests (datacube, quota and token) that arrived within any one second.
    pub fn busiest_second(&self) -> usize {
        lock(&self.inner.ledger.arrivals).busiest
    }

    /// Requests (datacube, quota and token) received so far.
    pub fn requests_received(&self) -> usize {
        lock(&self.inner.ledger.arrivals).total
    }

    /// Whether `app_id` may call `endpoint` now; counts the call when it may.
    pub(super) fn within_quota(&self, app_id: &str, endpoint: Endpoint) -> bool {
        let today = china_today(self.inner.clock.now());
        self.inner.ledger.take(app_id, endpoint.name(), today)
    }
}

/// `POST /cgi-bin/openapi/quota/get?access_token=..` with `{"cgi_path": "/datacube/<name>"}`:
/// the account's quota of that API today, from the simulator's own counts.
pub(super) async fn quota_get(
    State(sim): State<Simulator>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let token = query_param(query.as_deref(), "access_token");
    let app_id = token
        .as_deref()
        .and_then(|t| sim.tokens().tokens.owner(t).map(str::to_string))
        .unwrap_or_else(|| "?".to_string());
    sim.count(&app_id, QUOTA_API);
    let decision = sim.inner.faults.decide(&app_id, QUOTA_API, false);
    if let Some(r) = sim.before(&decision).await {
        return r;
    }
    let result = (|| {
        let now = sim.inner.clock.now();
        let token = token.filter(|t| !t.is_empty()).ok_or(41001)?;
        let app_id = sim
            .tokens()
            .tokens
            .check(&token, now)
            .map_err(|e| e.errcode())?;
        if let Some(code) = decision.errcode {
            return Err(code);
        }
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| 47001)?;
        let path = json.get("cgi_path").and_then(|p| p.as_str()).ok_or(47001)?;
        let endpoint = path
            .strip_prefix("/datacube/")
            .and_then(|name| name.parse::<Endpoint>().ok())
            .ok_or(76021)?;
        let limit = sim.inner.ledger.daily_limit.load(Ordering::SeqCst);
        let used = sim.used_on(&app_id, endpoint.name(), china_today(now));
        Ok(serde_json::json!({
            "errcode": 0,
            "errmsg": "ok",
            "quota": {"daily_limit": limit, "used": used, "remain": limit.saturating_sub(used)},
        }))
    })();
    let body = match result {
        Ok(json) => serde_json::to_vec(&json).unwrap_or_default(),
        Err(code) => error_body(code),
    };
    Simulator::finish(body, &decision, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_second_is_kept_and_older_arrivals_are_not() {
        let ledger = Ledger::default();
        for _ in 0..5 {
            ledger.arrived();
        }
        std::thread::sleep(Duration::from_millis(1100));
        for _ in 0..3 {
            ledger.arrived();
        }
        let arrivals = lock(&ledger.arrivals);
        assert_eq!((arrivals.busiest, arrivals.total), (5, 8));
        assert_eq!(arrivals.last_second.len(), 3, "the first second's are gone");
        drop(arrivals);
        ledger.reset();
        assert_eq!(lock(&ledger.arrivals).total, 0);
    }
}
