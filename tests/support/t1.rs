//! The T+1 schedule as the scheduling, fault and year tests drive it: the settings that make each
//! day cost three readiness probes, UTC+8 instants, the calls the simulator counted and the
//! minimum they must equal.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::{Date, time};
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::config::Config;
use wechat_mp_exporter::schedule;
use wechat_mp_exporter::simulator::Simulator;
use wechat_mp_exporter::wechat::Endpoint;
use wechat_mp_exporter::wechat::date::china_at;

/// The simulator publishes yesterday at 09:00 UTC+8; the exporter starts looking at 08:00 and retries
/// every 30 minutes, so each day costs three readiness probes (08:00, 08:30, 09:00).
pub fn tune(c: &mut Config) {
    c.schedule.publish_after = time(8, 0, 0, 0);
    c.schedule.retry_interval = Duration::from_secs(30 * 60);
    // The simulator publishes a day whole, so an empty answer once the probe succeeded means zero.
    c.schedule.empty_is_zero_after = time(9, 0, 0, 0);
    c.schedule.error_retry_interval = Duration::from_secs(3600);
}

/// `h:m` UTC+8 on `d`.
pub fn at(d: Date, h: i8, m: i8) -> Timestamp {
    china_at(d, time(h, m, 0, 0))
}

/// A manual clock at `h:m` UTC+8 on `d`: tests whose expectations name "yesterday" run on a
/// fixed day, not the real clock (near midnight UTC+8 "yesterday" moves under them).
pub fn clock_at(d: Date, h: i8, m: i8) -> std::sync::Arc<ManualClock> {
    std::sync::Arc::new(ManualClock::new(at(d, h, m)))
}

/// The datacube calls `app_id` made, per endpoint (0 for those never called).
pub fn calls(sim: &Simulator, app_id: &str) -> BTreeMap<Endpoint, u64> {
    Endpoint::ALL
        .into_iter()
        .map(|e| (e, sim.calls_to(app_id, e.name())))
        .collect()
}

/// The T+1 minimum for `days` days after a first poll of `first_target`, from the simulator's own
/// record of which days had articles: one probe on the first poll (already published), then
/// `probes_per_day` a day (3 under [`tune`]: 08:00, 08:30 and 09:00, plus the account's offset).
pub fn t1_minimum(
    sim: &Simulator,
    app_id: &str,
    first_target: Date,
    days: i64,
    probes_per_day: u64,
) -> BTreeMap<Endpoint, u64> {
    schedule::t1_minimum(first_target, days, probes_per_day, |e, d| match e {
        Endpoint::ArticleTotal => sim.has_mass_send(app_id, d),
        _ => sim.has_publish(app_id, d),
    })
}
