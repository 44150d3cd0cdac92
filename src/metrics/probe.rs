//! The callback probe's series: the store's side of [`ProbeSink`]. Probe results arrive typed;
//! this module turns them into the success and duration gauges, the latency histogram and the
//! failure counters of each probed account.

use super::catalogue as m;
use super::{Sample, Store, Value};
use crate::probe::{FailureReason, Outcome, ProbeSink};

/// Upper bounds of the latency buckets, in seconds: fine around WeChat's 5-second limit, where the
/// latency alert looks. `le` is written as these strings in both formats.
const BUCKETS: [(f64, &str); 10] = [
    (0.05, "0.05"),
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.0, "2"),
    (3.0, "3"),
    (4.0, "4"),
    (5.0, "5"),
    (10.0, "10"),
];

const BUCKET: &str = "wechat_mp_callback_probe_latency_seconds_bucket";
const SUM: &str = "wechat_mp_callback_probe_latency_seconds_sum";
const COUNT: &str = "wechat_mp_callback_probe_latency_seconds_count";

/// One probed account's series.
#[derive(Debug, Clone, Default)]
pub(super) struct ProbeSeries {
    last: Option<Outcome>,
    /// Non-cumulative counts per bucket; the last slot is above every bound (+Inf only).
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    failures: [u64; FailureReason::ALL.len()],
}

impl ProbeSeries {
    fn record(&mut self, outcome: &Outcome) {
        let seconds = outcome.duration.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|(bound, _)| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot] += 1;
        self.sum += seconds;
        if let Some(reason) = outcome.failure {
            let i = FailureReason::ALL
                .iter()
                .position(|r| *r == reason)
                .expect("every reason is in ALL");
            self.failures[i] += 1;
        }
        self.last = Some(*outcome);
    }

    /// (family, sample) pairs; the gauges only once a probe has finished, the histogram and the
    /// counters from the start (at 0) so that rate() sees the first failure.
    pub(super) fn samples(&self, account: &str) -> Vec<(&'static str, Sample)> {
        let sample = |name: &'static str, extra: Option<(&'static str, &str)>, value: Value| {
            let mut labels = vec![("account", account.into())];
            labels.extend(extra.map(|(k, v)| (k, v.into())));
            Sample {
                name,
                labels: labels.into(),
                value,
            }
        };
        let mut out = Vec::new();
        if let Some(last) = &self.last {
            out.push((
                m::CALLBACK_PROBE_SUCCESS.name,
                sample(
                    m::CALLBACK_PROBE_SUCCESS.name,
                    None,
                    Value::Int(u64::from(last.success())),
                ),
            ));
            out.push((
                m::CALLBACK_PROBE_DURATION_SECONDS.name,
                sample(
                    m::CALLBACK_PROBE_DURATION_SECONDS.name,
                    None,
                    Value::Float(last.duration.as_secs_f64()),
                ),
            ));
        }
        let family = m::CALLBACK_PROBE_LATENCY_SECONDS.name;
        let mut cumulative = 0;
        for (i, (_, le)) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i];
            out.push((
                family,
                sample(BUCKET, Some(("le", le)), Value::Int(cumulative)),
            ));
        }
        let count = cumulative + self.buckets[BUCKETS.len()];
        out.push((
            family,
            sample(BUCKET, Some(("le", "+Inf")), Value::Int(count)),
        ));
        out.push((family, sample(SUM, None, Value::Float(self.sum))));
        out.push((family, sample(COUNT, None, Value::Int(count))));
        for (reason, n) in FailureReason::ALL.iter().zip(self.failures) {
            out.push((
                m::CALLBACK_PROBE_FAILURES_TOTAL.name,
                sample(
                    m::CALLBACK_PROBE_FAILURES_TOTAL.name,
                    Some(("reason", reason.as_str())),
                    Value::Int(n),
                ),
            ));
        }
        out
    }
}

impl Store {
    /// The probe samples of every account as (family, sample); without the latency histogram
    /// when `histograms` is false (the OTLP push does not carry histograms yet).
    pub(super) fn probe_samples(&self, histograms: bool) -> Vec<(&'static str, Sample)> {
        self.probes_lock()
            .iter()
            .flat_map(|(account, series)| series.samples(account))
            .filter(|(family, _)| histograms || *family != m::CALLBACK_PROBE_LATENCY_SECONDS.name)
            .collect()
    }
}

impl ProbeSink for Store {
    fn probe_added(&self, account: &str) {
        self.probes_lock().entry(account.to_string()).or_default();
        self.mark_stale();
    }

    fn probe_result(&self, account: &str, outcome: &Outcome) {
        self.probes_lock()
            .entry(account.to_string())
            .or_default()
            .record(outcome);
        self.mark_stale();
    }

    fn probe_removed(&self, account: &str) {
        self.probes_lock().remove(account);
        self.mark_stale();
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
                .all(|(_, x)| x.name != m::CALLBACK_PROBE_SUCCESS.name),
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
                .find(|(_, x)| {
                    x.name == name && label.is_none_or(|l| x.labels.iter().any(|(_, v)| &**v == l))
                })
                .map(|(_, x)| x.value)
        };
        assert_eq!(got(BUCKET, Some("0.05")), Some(Value::Int(1)));
        assert_eq!(got(BUCKET, Some("1")), Some(Value::Int(2)));
        assert_eq!(got(BUCKET, Some("5")), Some(Value::Int(3)));
        assert_eq!(got(BUCKET, Some("10")), Some(Value::Int(4)));
        assert_eq!(got(BUCKET, Some("+Inf")), Some(Value::Int(4)));
        assert_eq!(got(COUNT, None), Some(Value::Int(4)));
        assert_eq!(got(SUM, None), Some(Value::Float(11.73)));
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
