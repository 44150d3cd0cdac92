//! Faults injected on demand: errcodes, HTTP statuses, truncated and other broken bodies, slow
//! replies, connection faults (refused, connect timeout, reset), token revocation, the
//! legacy-article switch and the callback failure ratio.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A rule that fires `times` more times (None = until cleared).
#[derive(Debug, Clone)]
struct Rule<T> {
    app_id: Option<String>,
    api: String,
    value: T,
    times: Option<u32>,
}

impl<T: Clone> Rule<T> {
    fn matches(&self, app_id: &str, api: &str, datacube: bool) -> bool {
        let api_ok = self.api == api || (self.api == "*" && datacube);
        let app_ok = self.app_id.as_deref().is_none_or(|a| a == app_id);
        api_ok && app_ok && self.times != Some(0)
    }
}

/// Fires the first matching rule, consuming one of its `times`.
fn fire<T: Clone>(rules: &mut Vec<Rule<T>>, app_id: &str, api: &str, datacube: bool) -> Option<T> {
    let rule = rules
        .iter_mut()
        .find(|r| r.matches(app_id, api, datacube))?;
    if let Some(n) = rule.times.as_mut() {
        *n -= 1;
    }
    let value = rule.value.clone();
    rules.retain(|r| r.times != Some(0));
    Some(value)
}

/// A broken answer (HTTP 200), replacing the good body of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFault {
    /// Valid JSON of the wrong shape: `list` is a string.
    WrongShape,
    /// Not JSON at all: an HTML error page from some proxy.
    Garbage,
    /// 100 MiB of whitespace (streamed, no length): more than any client should read.
    Huge,
    /// The good body, one byte every 100 ms after the headers: a read that outlasts any short
    /// timeout mid-body.
    Drip,
    /// Half the good body, then the connection is reset (TCP RST).
    Reset,
}

/// What the simulator's listener does with connections (every account and api at once: a TCP
/// connection is made before the request says who it is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connections {
    /// Accepts and serves.
    #[default]
    Open,
    /// Nothing listens on the port: connects are refused; open connections are reset.
    Refused,
    /// The port listens but never accepts and its accept queue is full, so a connect's SYN goes
    /// unanswered until the client's connect timeout; open connections are reset.
    ConnectTimeout,
}

#[derive(Debug, Default)]
struct State {
    errcodes: Vec<Rule<i64>>,
    statuses: Vec<Rule<u16>>,
    malformed: Vec<Rule<()>>,
    bodies: Vec<Rule<BodyFault>>,
    /// (account or every account, api, delay).
    delays: Vec<(Option<String>, String, Duration)>,
    legacy_offline: bool,
    callback_failure_ratio: Option<f64>,
}

/// What the faults say about one request, decided once when it arrives.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Decision {
    pub delay: Option<Duration>,
    pub status: Option<u16>,
    pub errcode: Option<i64>,
    pub malformed: bool,
    pub body: Option<BodyFault>,
}

/// Faults injected on demand (shared by every clone of the simulator). `api` is an endpoint name,
/// "stable_token" or "token"; "*" matches every datacube endpoint.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
    /// Bumped by `revoke_tokens`; the simulator revokes every token it issued before the bump.
    revocations: AtomicU64,
    /// Watched by the listener (see `wire`).
    connections: tokio::sync::watch::Sender<Connections>,
}

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the fault table inconsistent: use it anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answer `errcode` on `api` for every account, `times` times (None = until cleared).
    pub fn fail(&self, api: &str, errcode: i64, times: Option<u32>) {
        self.state().errcodes.push(Rule {
            app_id: None,
            api: api.to_string(),
            value: errcode,
            times,
        });
    }

    /// Answer `errcode` on `api` for one account.
    pub fn fail_account(&self, app_id: &str, api: &str, errcode: i64, times: Option<u32>) {
        self.state().errcodes.push(Rule {
            app_id: Some(app_id.to_string()),
            api: api.to_string(),
            value: errcode,
            times,
        });
    }

    /// Answer HTTP `status` with an empty body.
    pub fn http_status(&self, api: &str, status: u16, times: Option<u32>) {
        self.state().statuses.push(Rule {
            app_id: None,
            api: api.to_string(),
            value: status,
            times,
        });
    }

    /// Truncate the JSON body (invalid JSON).
    pub fn malformed(&self, api: &str, times: Option<u32>) {
        self.state().malformed.push(Rule {
            app_id: None,
            api: api.to_string(),
            value: (),
            times,
        });
    }

    /// Answer `api` with a broken body of kind `fault`.
    pub fn body(&self, api: &str, fault: BodyFault, times: Option<u32>) {
        self.state().bodies.push(Rule {
            app_id: None,
            api: api.to_string(),
            value: fault,
            times,
        });
    }

    /// Answer `api` with a broken body of kind `fault` for one account.
    pub fn body_account(&self, app_id: &str, api: &str, fault: BodyFault, times: Option<u32>) {
        self.state().bodies.push(Rule {
            app_id: Some(app_id.to_string()),
            api: api.to_string(),
            value: fault,
            times,
        });
    }

    /// Refuse, black-hole or serve connections from now on (until changed or cleared).
    pub fn set_connections(&self, mode: Connections) {
        self.connections.send_replace(mode);
    }

    pub(crate) fn watch_connections(&self) -> tokio::sync::watch::Receiver<Connections> {
        self.connections.subscribe()
    }

    /// Wait `delay` before answering `api` (replaces an earlier delay for the same api).
    pub fn delay(&self, api: &str, delay: Duration) {
        let mut s = self.state();
        s.delays.retain(|(who, a, _)| who.is_some() || a != api);
        s.delays.push((None, api.to_string(), delay));
    }

    /// Wait `delay` before answering `api` for one account only (checked before the delays of
    /// every account; replaces an earlier one for the same account and api).
    pub fn delay_account(&self, app_id: &str, api: &str, delay: Duration) {
        let mut s = self.state();
        s.delays
            .retain(|(who, a, _)| who.as_deref() != Some(app_id) || a != api);
        s.delays
            .insert(0, (Some(app_id.to_string()), api.to_string(), delay));
    }

    /// Every issued token becomes invalid (40001); the next token call issues a new one.
    pub fn revoke_tokens(&self) {
        self.revocations.fetch_add(1, Ordering::SeqCst);
    }

    /// 47009 on every legacy article endpoint.
    pub fn set_legacy_articles_offline(&self, offline: bool) {
        self.state().legacy_offline = offline;
    }

    /// Override getinterfacesummary(hour) fail_count with round(ratio * callback_count).
    pub fn set_callback_failure_ratio(&self, ratio: Option<f64>) {
        self.state().callback_failure_ratio =
            ratio.filter(|r| r.is_finite()).map(|r| r.clamp(0.0, 1.0));
    }

    /// Removes every fault (revocations already done stay done).
    pub fn clear(&self) {
        *self.state() = State::default();
        self.connections.send_replace(Connections::Open);
    }

    pub(crate) fn legacy_offline(&self) -> bool {
        self.state().legacy_offline
    }

    pub(crate) fn callback_failure_ratio(&self) -> Option<f64> {
        self.state().callback_failure_ratio
    }

    pub(crate) fn revocations(&self) -> u64 {
        self.revocations.load(Ordering::SeqCst)
    }

    /// Decides (and consumes) the faults for one request. `app_id` is "?" when unknown.
    pub(crate) fn decide(&self, app_id: &str, api: &str, datacube: bool) -> Decision {
        let mut s = self.state();
        let delay = s
            .delays
            .iter()
            .find(|(who, a, _)| {
                who.as_deref().is_none_or(|w| w == app_id) && (a == api || (a == "*" && datacube))
            })
            .map(|(_, _, d)| *d);
        let status = fire(&mut s.statuses, app_id, api, datacube);
        // An HTTP error replaces the body, so it does not consume the other faults.
        if status.is_some() {
            return Decision {
                delay,
                status,
                ..Decision::default()
            };
        }
        Decision {
            delay,
            status,
            errcode: fire(&mut s.errcodes, app_id, api, datacube),
            malformed: fire(&mut s.malformed, app_id, api, datacube).is_some(),
            body: fire(&mut s.bodies, app_id, api, datacube),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_the_given_number_of_times_and_match_by_api_and_account() {
        let f = Faults::default();
        f.fail("getusersummary", -1, Some(2));
        f.fail_account("wx2", "*", 45009, None);
        assert_eq!(f.decide("wx1", "getusersummary", true).errcode, Some(-1));
        assert_eq!(f.decide("wx1", "getusersummary", true).errcode, Some(-1));
        assert_eq!(f.decide("wx1", "getusersummary", true).errcode, None);
        assert_eq!(f.decide("wx2", "getbizsummary", true).errcode, Some(45009));
        assert_eq!(f.decide("wx2", "getbizsummary", true).errcode, Some(45009));
        // "*" is for datacube endpoints only.
        assert_eq!(f.decide("wx2", "stable_token", false).errcode, None);
        f.clear();
        assert_eq!(f.decide("wx2", "getbizsummary", true), Decision::default());
    }

    #[test]
    fn status_delay_malformed_and_switches() {
        let f = Faults::default();
        f.http_status("*", 502, Some(1));
        f.malformed("getusercumulate", Some(1));
        f.delay("getusercumulate", Duration::from_millis(30));
        let d = f.decide("wx1", "getusercumulate", true);
        assert_eq!(d.status, Some(502));
        assert!(
            !d.malformed,
            "an HTTP error does not use up the other faults"
        );
        let d = f.decide("wx1", "getusercumulate", true);
        assert_eq!(
            d,
            Decision {
                delay: Some(Duration::from_millis(30)),
                status: None,
                errcode: None,
                malformed: true,
                body: None,
            }
        );
        assert!(!f.decide("wx1", "getusercumulate", true).malformed);
        f.body("*", BodyFault::Drip, Some(1));
        f.body_account("wx2", "*", BodyFault::Huge, None);
        assert_eq!(
            f.decide("wx1", "getusercumulate", true).body,
            Some(BodyFault::Drip)
        );
        assert_eq!(
            f.decide("wx2", "getusercumulate", true).body,
            Some(BodyFault::Huge)
        );
        assert_eq!(f.decide("wx1", "getusercumulate", true).body, None);
        let connections = f.watch_connections();
        f.set_connections(Connections::Refused);
        assert_eq!(*connections.borrow(), Connections::Refused);
        f.clear();
        assert_eq!(*connections.borrow(), Connections::Open);
        f.set_callback_failure_ratio(Some(1.7));
        assert_eq!(f.callback_failure_ratio(), Some(1.0));
        f.set_callback_failure_ratio(Some(f64::NAN));
        assert_eq!(f.callback_failure_ratio(), None);
        f.set_legacy_articles_offline(true);
        assert!(f.legacy_offline());
        assert_eq!(f.revocations(), 0);
        f.revoke_tokens();
        assert_eq!(f.revocations(), 1);
    }
}
