//! The probes' own schedule: one tokio task per probed account, started at a random whole second
//! of its first interval (so many accounts do not probe at once, and the probes of one second
//! share the runtime's wake-ups), stopped on reload or shutdown. Polling and scrapes never wait
//! on a probe.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::{Outcome, ProbeSink, Prober};
use crate::config::{AccountConfig, CallbackProbeConfig};

/// The running probes, by account.
pub struct ProbeSet {
    sink: Arc<dyn ProbeSink>,
    root: CancellationToken,
    running: Mutex<BTreeMap<String, Running>>,
}

struct Running {
    app_id: String,
    config: CallbackProbeConfig,
    stop: CancellationToken,
}

impl ProbeSet {
    /// No probes yet; [`ProbeSet::apply`] starts them.
    pub fn new(sink: Arc<dyn ProbeSink>) -> Arc<ProbeSet> {
        Arc::new(ProbeSet {
            sink,
            root: CancellationToken::new(),
            running: Mutex::new(BTreeMap::new()),
        })
    }

    /// Makes the running probes those `accounts` configure: unchanged ones keep running, changed
    /// ones restart, the others stop and lose their series. Needs a tokio runtime.
    pub fn apply(&self, accounts: &[AccountConfig]) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let wanted: BTreeMap<&str, (&str, &CallbackProbeConfig)> = accounts
            .iter()
            .filter_map(|a| {
                Some((
                    a.name.as_str(),
                    (a.app_id.as_str(), a.callback_probe.as_ref()?),
                ))
            })
            .collect();
        running.retain(|name, r| {
            let keep = wanted
                .get(name.as_str())
                .is_some_and(|(app_id, c)| *app_id == r.app_id && c.same_as(&r.config));
            if !keep {
                r.stop.cancel();
                self.sink.probe_removed(name);
            }
            keep
        });
        let origin = Instant::now();
        for (name, (app_id, config)) in wanted {
            if running.contains_key(name) {
                continue;
            }
            let stop = self.root.child_token();
            self.sink.probe_added(name);
            tokio::spawn(run(
                name.to_string(),
                Prober::new(config, app_id),
                origin,
                config.interval,
                self.sink.clone(),
                stop.clone(),
            ));
            running.insert(
                name.to_string(),
                Running {
                    app_id: app_id.to_string(),
                    config: config.clone(),
                    stop,
                },
            );
        }
    }

    /// Stops every probe (shutdown).
    pub fn stop(&self) {
        self.root.cancel();
    }

    /// The accounts being probed.
    pub fn accounts(&self) -> Vec<String> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.keys().cloned().collect()
    }
}

/// One account's probe loop until `stop`.
async fn run(
    account: String,
    prober: Prober,
    origin: Instant,
    interval: Duration,
    sink: Arc<dyn ProbeSink>,
    stop: CancellationToken,
) {
    let first = first_tick(origin, interval, rand::random::<f64>());
    let mut ticks = tokio::time::interval_at(first, interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_success = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let outcome: Outcome = tokio::select! {
            () = stop.cancelled() => return,
            o = prober.probe() => o,
        };
        // A result that races with a stop is dropped, so a removed probe's series stay gone.
        if stop.is_cancelled() {
            return;
        }
        sink.probe_result(&account, &outcome);
        let reason = outcome.failure.map_or("", |r| r.as_str());
        let seconds = outcome.duration.as_secs_f64();
        if last_success != Some(outcome.success()) {
            if outcome.success() {
                tracing::info!(account, seconds, "callback probe succeeds");
            } else {
                tracing::warn!(account, reason, seconds, "callback probe fails");
            }
        } else {
            tracing::debug!(
                account,
                success = outcome.success(),
                reason,
                seconds,
                "callback probe"
            );
        }
        last_success = Some(outcome.success());
    }
}

/// The first probe of an account: `draw` (uniform in [0, 1)) of the way into its first interval,
/// down to a whole second from `origin`. The probes of one second then start at the same instant
/// and share the runtime's wake-ups, which cost 1000 probes a minute more than their requests
/// did (docs/benchmarks.md, "Callback probes").
pub(super) fn first_tick(origin: Instant, interval: Duration, draw: f64) -> Instant {
    origin + Duration::from_secs(interval.mul_f64(draw.clamp(0.0, 1.0)).as_secs())
}
