//! Maps typed reports to metric families (CONTRACT STUB: the metrics branch replaces the bodies).

use std::sync::Arc;

use bytes::Bytes;

use crate::reports::{AccountReports, AccountStatus};
use crate::wechat::client::CallObserver;

/// `Content-Type` of the OpenMetrics exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` of the classic Prometheus text exposition.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The pre-encoded bodies of `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    pub openmetrics: Bytes,
    pub text: Bytes,
}

/// Self-metrics fed by the WeChat client while it works.
pub struct SelfMetrics;

impl SelfMetrics {
    pub fn observer(self: &Arc<Self>, _account: &str) -> Arc<dyn CallObserver> {
        todo!("metrics branch")
    }
}

pub struct Store;

impl Store {
    pub fn new(_version: &str, _revision: &str) -> Arc<Store> {
        todo!("metrics branch")
    }
    pub fn self_metrics(&self) -> Arc<SelfMetrics> {
        todo!("metrics branch")
    }
    pub fn update_account(
        &self,
        _name: &str,
        _reports: &AccountReports,
        _status: &AccountStatus,
        _max_articles: usize,
    ) {
        todo!("metrics branch")
    }
    pub fn remove_account(&self, _name: &str) {
        todo!("metrics branch")
    }
    pub fn exposition(&self) -> Arc<Exposition> {
        todo!("metrics branch")
    }
}
