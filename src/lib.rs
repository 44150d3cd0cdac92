//! wechat-mp-exporter: a Prometheus exporter for WeChat Official Account datacube analytics.
//!
//! Data flows one way: `schedule` decides what to fetch when, `wechat` asks WeChat, `latest`
//! holds what it said, `metrics` maps that to an immutable pre-encoded exposition, and the HTTP
//! server only copies bytes; `otlp` optionally pushes the same snapshot to an OpenTelemetry
//! collector.
//!
//! The layout, lowest layer first (docs/architecture.md has the table of what each may import,
//! which a test holds the code to):
//!
//! - `version`: the version and git revision.
//! - `clock`: the clock every schedule reads.
//! - `shard`: `--shard=I/N`, which replica polls an account.
//! - `logging`: the log format and subscriber.
//! - `web_config`: TLS and basic auth (the exporter-toolkit file).
//! - `wechat`: the datacube API: endpoints, dates, rows, errcodes, tokens, the paced transport.
//! - `catalogue`: the metric families and `[metrics] exclude`: pure data.
//! - `config`: every setting, read and validated in one place (TOML, `${VAR}`, `OTEL_*`).
//! - `latest`: the latest complete day of every report per account, and its health.
//! - `status_page`: the status page's board (`/`, `/account/NAME`, `/api/v1/status`) and `/-/ready`.
//! - `storage`: the state directory (`--storage.path`).
//! - `probe`: the signed probe of a callback server.
//! - `metrics`: rows to samples, the encoders, the store of pre-encoded bodies.
//! - `schedule`: the T+1 plan per account and the poll loop.
//! - `otlp`: the OTLP push.
//! - `simulator`: the fake WeChat API for the demo, the tests and the benchmarks.
//! - `http`: the HTTP server and its routes.
//! - `app`: the one runtime and the wiring of `serve` (accounts, reloads, discovery).
//! - `backfill`: past days into an OpenMetrics file.
//! - `demo`: the exporter against the simulator.
//! - `cli`: the command line.

#![forbid(unsafe_code)]

pub mod app;
pub mod backfill;
pub(crate) mod catalogue;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub(crate) mod http;
pub mod latest;
pub mod logging;
pub mod metrics;
pub mod otlp;
pub mod probe;
#[cfg(test)]
mod proptest_support;
pub mod schedule;
pub mod shard;
pub mod simulator;
pub(crate) mod status_page;
pub mod storage;
pub mod version;
pub(crate) mod web_config;
pub mod wechat;
