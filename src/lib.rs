//! wechat-mp-exporter: a Prometheus exporter for WeChat Official Account datacube analytics.
//!
//! Data flows one way: `schedule` decides what to fetch when, `wechat` asks WeChat, `reports`
//! holds what it said, `metrics` maps that to an immutable pre-encoded exposition, and the HTTP
//! server only copies bytes; `otlp` optionally pushes the same snapshot to an OpenTelemetry
//! collector.

#![forbid(unsafe_code)]

pub mod app;
pub mod backfill;
pub(crate) mod catalogue;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub(crate) mod http;
pub mod logging;
pub mod metrics;
pub mod otlp;
pub mod probe;
#[cfg(test)]
mod proptest_support;
pub mod reports;
pub mod schedule;
pub mod shard;
pub mod simulator;
pub mod state;
pub(crate) mod status;
pub mod version;
pub(crate) mod web_config;
pub mod wechat;
