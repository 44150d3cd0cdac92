//! The callback probe's series: the store's side of [`ProbeSink`]. Probe results arrive typed;
//! this module turns them into the success and duration gauges, the latency histogram (classic
//! buckets for the text formats, native buckets for protobuf and OTLP) and the failure counters
//! of each probed account.

use std::collections::BTreeMap;

use super::catalogue as m;
use super::text::{HistogramSeries, NativeBuckets};
use super::{Point, Store, Value};
use crate::probe::{FailureReason, Outcome, ProbeSink};

/// Upper bounds of the classic latency buckets, in seconds: fine around WeChat's 5-second limit,
/// where the latency alert looks. The OTLP histogram uses the same bounds.
pub(crate) const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0];

/// The native histogram's resolution: each bucket is 2^(1/8) (about 9 %) wider than the one
/// below, the Go client's default (a bucket factor of 1.1).
const NATIVE_SCHEMA: i32 = 3;
/// Durations at or below this count in the zero bucket (Go's default threshold).
const NATIVE_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// One probed account's series.
#[derive(Debug, Clone, Default)]
pub(super) struct ProbeSeries {
    last: Option<Outcome>,
    /// Non-cumulative counts per bucket; the last slot is above every bound (+Inf only).
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    /// Native buckets: observations by exponential bucket index.
    native: BTreeMap<i32, u64>,
    zero: u64,
    failures: [u64; FailureReason::ALL.len()],
}

/// The native bucket of `v` (> the zero threshold): bucket `i` holds (b^(i-1), b^i] with
/// b = 2^(2^-schema).
fn native_index(v: f64) -> i32 {
    (v.log2() * f64::from(1 << NATIVE_SCHEMA)).ceil() as i32
}

impl ProbeSeries {
    fn record(&mut self, outcome: &Outcome) {
        let seconds = outcome.duration.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot] += 1;
        self.sum += seconds;
        if seconds <= NATIVE_ZERO_THRESHOLD {
            self.zero += 1;
        } else {
            *self.native.entry(native_index(seconds)).or_default() += 1;
        }
        if let Some(reason) = outcome.failure {
            let i = FailureReason::ALL
                .iter()
                .position(|r| *r == reason)
                .expect("every reason is in ALL");
            self.failures[i] += 1;
        }
        self.last = Some(*outcome);
    }

    /// The latency histogram of `account`: classic and native buckets of the same probes.
    pub(super) fn histogram(&self, account: &str) -> HistogramSeries {
        let mut buckets: Vec<(f64, u64)> = BUCKETS.iter().copied().zip(self.buckets).collect();
        buckets.push((f64::INFINITY, self.buckets[BUCKETS.len()]));
        let (mut spans, mut deltas) = (Vec::<(i32, u32)>::new(), Vec::new());
        let (mut last_index, mut last_count) = (None::<i32>, 0_i64);
        for (&index, &count) in &self.native {
            match (last_index, spans.last_mut()) {
                (Some(prev), Some(span)) if index == prev + 1 => span.1 += 1,
                (Some(prev), _) => spans.push((index - prev - 1, 1)),
                (None, _) => spans.push((index, 1)),
            }
            let count = count as i64;
            deltas.push(count - last_count);
            (last_index, last_count) = (Some(index), count);
        }
        HistogramSeries {
            labels: vec![("account", account.into())].into(),
            sum: self.sum,
            count: self.buckets.iter().sum(),
            buckets,
            native: NativeBuckets {
                schema: NATIVE_SCHEMA,
                zero_threshold: NATIVE_ZERO_THRESHOLD,
                zero_count: self.zero,
                spans,
                deltas,
            },
        }
    }

    /// (family, series) pairs of the gauges and counters; the gauges only once a probe has
    /// finished, the counters from the start (at 0) so that rate() sees the first failure.
    pub(super) fn samples(&self, account: &str) -> Vec<(&'static str, Point)> {
        let point = |extra: Option<(&'static str, &str)>, value: Value| {
            let mut labels = vec![("account", account.into())];
            labels.extend(extra.map(|(k, v)| (k, v.into())));
            Point {
                labels: labels.into(),
                value,
            }
        };
        let mut out = Vec::new();
        if let Some(last) = &self.last {
            out.push((
                m::CALLBACK_PROBE_SUCCESS.name,
                point(None, Value::Int(u64::from(last.success()))),
            ));
            out.push((
                m::CALLBACK_PROBE_DURATION_SECONDS.name,
                point(None, Value::Float(last.duration.as_secs_f64())),
            ));
        }
        for (reason, n) in FailureReason::ALL.iter().zip(self.failures) {
            out.push((
                m::CALLBACK_PROBE_FAILURES_TOTAL.name,
                point(Some(("reason", reason.as_str())), Value::Int(n)),
            ));
        }
        out
    }
}

impl Store {
    /// The probe gauges and counters of every account as (family, series).
    pub(super) fn probe_samples(&self) -> Vec<(&'static str, Point)> {
        self.probes_lock()
            .iter()
            .flat_map(|(account, series)| series.samples(account))
            .collect()
    }

    /// Tells `observer` every probe that finishes from now on.
    pub fn observe_probes(&self, observer: super::ProbeObserver) {
        self.probe_observers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(observer);
    }

    /// The latency histogram of every probed account, account order.
    pub(crate) fn probe_histograms(&self) -> Vec<HistogramSeries> {
        self.probes_lock()
            .iter()
            .map(|(account, series)| series.histogram(account))
            .collect()
    }
}

impl ProbeSink for Store {
    fn probe_added(&self, account: &str) {
        self.probes_lock().entry(account.to_string()).or_default();
        self.live.probes.mark();
    }

    fn probe_result(&self, account: &str, outcome: &Outcome) {
        self.probes_lock()
            .entry(account.to_string())
            .or_default()
            .record(outcome);
        let observers = self
            .probe_observers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for observer in observers {
            observer(account, outcome.duration.as_secs_f64());
        }
        self.live.probes.mark();
    }

    fn probe_removed(&self, account: &str) {
        self.probes_lock().remove(account);
        self.live.probes.mark();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_are_cumulative_and_reasons_start_at_zero() {
        let mut s = ProbeSeries::default();
        assert!(
            s.samples("a")
                .iter()
                .all(|(f, _)| *f != m::CALLBACK_PROBE_SUCCESS.name),
            "no success gauge before the first probe"
        );
        let failures: Vec<_> = s
            .samples("a")
            .into_iter()
            .filter(|(f, _)| *f == m::CALLBACK_PROBE_FAILURES_TOTAL.name)
            .map(|(_, x)| (x.labels[1].1.clone(), x.value))
            .collect();
        assert_eq!(failures.len(), 7);
        assert!(failures.iter().all(|(_, v)| *v == Value::Int(0)));
        for (ms, failure) in [
            (30, None),
            (700, None),
            (5000, Some(FailureReason::Timeout)),
            (6000, Some(FailureReason::Timeout)),
        ] {
            s.record(&Outcome {
                duration: Duration::from_millis(ms),
                failure,
            });
        }
        let got = |name: &str, label: Option<&str>| {
            s.samples("a")
                .into_iter()
                .find(|(f, x)| {
                    *f == name && label.is_none_or(|l| x.labels.iter().any(|(_, v)| &**v == l))
                })
                .map(|(_, x)| x.value)
        };
        let h = s.histogram("a");
        let cumulative: Vec<(f64, u64)> = h
            .buckets
            .iter()
            .scan(0, |sum, (le, n)| {
                *sum += n;
                Some((*le, *sum))
            })
            .collect();
        assert_eq!(cumulative[0], (0.05, 1));
        assert_eq!(cumulative[4], (1.0, 2));
        assert_eq!(cumulative[8], (5.0, 3));
        assert_eq!(cumulative[9], (10.0, 4));
        assert_eq!(cumulative[10], (f64::INFINITY, 4));
        assert_eq!(h.count, 4);
        assert!((h.sum - 11.73).abs() < 1e-9);
        // Native: four populated buckets, each of one observation, each holding its value.
        assert_eq!(h.native.zero_count, 0);
        assert_eq!(h.native.deltas, vec![1, 0, 0, 0]);
        let factor = 2f64.powf(2f64.powi(-NATIVE_SCHEMA));
        let mut index = 0;
        let mut indexes = Vec::new();
        for (offset, length) in &h.native.spans {
            index += offset;
            for _ in 0..*length {
                indexes.push(index);
                index += 1;
            }
        }
        for (i, v) in indexes.iter().zip([0.03, 0.7, 5.0, 6.0]) {
            let (low, high) = (factor.powi(i - 1), factor.powi(*i));
            assert!(
                low < v && v <= high * (1.0 + 1e-12),
                "{v} not in ({low}, {high}]"
            );
        }
        assert_eq!(
            got(m::CALLBACK_PROBE_FAILURES_TOTAL.name, Some("timeout")),
            Some(Value::Int(2))
        );
        assert_eq!(
            got(m::CALLBACK_PROBE_FAILURES_TOTAL.name, Some("tls")),
            Some(Value::Int(0))
        );
        assert_eq!(
            got(m::CALLBACK_PROBE_SUCCESS.name, None),
            Some(Value::Int(0))
        );
        assert_eq!(
            got(m::CALLBACK_PROBE_DURATION_SECONDS.name, None),
            Some(Value::Float(6.0))
        );
    }
}
