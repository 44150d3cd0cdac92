//! The simulated WeChat API (CONTRACT STUB: the simulator branch replaces the bodies).

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use jiff::civil::{Date, Time};

use crate::clock::SharedClock;
use crate::wechat::{DateRange, Endpoint, Report};

/// One simulated Official Account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAccount {
    pub app_id: String,
    pub app_secret: String,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub accounts: Vec<SimAccount>,
    /// UTC+8 time of day from which yesterday's data is published.
    pub publish_at: Time,
    /// Lifetime of issued access tokens (WeChat: 7200 s).
    pub token_ttl: Duration,
}

impl SimConfig {
    /// Three demo accounts, publishing at 09:00 UTC+8.
    pub fn demo() -> Self {
        todo!("simulator branch")
    }
}

/// Faults injected on demand (shared by every clone of the simulator).
#[derive(Debug, Default)]
pub struct Faults;

#[derive(Clone)]
pub struct Simulator;

impl Simulator {
    pub fn new(_config: SimConfig, _clock: SharedClock) -> Self {
        todo!("simulator branch")
    }
    pub fn router(&self) -> axum::Router {
        todo!("simulator branch")
    }
    pub async fn spawn(&self, _addr: SocketAddr) -> io::Result<SocketAddr> {
        todo!("simulator branch")
    }
    pub fn report(&self, _app_id: &str, _endpoint: Endpoint, _range: DateRange) -> Report {
        todo!("simulator branch")
    }
    pub fn calls(&self) -> BTreeMap<(String, String), u64> {
        todo!("simulator branch")
    }
    pub fn calls_to(&self, _app_id: &str, _api: &str) -> u64 {
        todo!("simulator branch")
    }
    pub fn reset_calls(&self) {
        todo!("simulator branch")
    }
    pub fn has_mass_send(&self, _app_id: &str, _day: Date) -> bool {
        todo!("simulator branch")
    }
    pub fn has_publish(&self, _app_id: &str, _day: Date) -> bool {
        todo!("simulator branch")
    }
    pub fn faults(&self) -> &Faults {
        todo!("simulator branch")
    }
}
