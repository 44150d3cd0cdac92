//! The end-to-end tests, one module per subject, in one test binary: the simulator and the
//! exporter in-process on 127.0.0.1, Debian's promtool and Prometheus server where a real component
//! is the check. One binary links axum, reqwest and rustls once instead of once per file.
//!
//! Four subjects stay separate binaries because they change or measure process-wide state:
//! `tests/timezone.rs` sets `TZ`, `tests/logs/` installs the global log subscriber,
//! `tests/memory.rs` measures the process's peak RSS during the fault matrix's 100 MiB body, and
//! `tests/year.rs` the process's RSS over a simulated year.

#[path = "../support/mod.rs"]
mod support;

mod alertmanager;
mod alerts;
mod backfill;
mod browser;
mod check_config;
mod component;
mod compression;
mod dashboards;
mod demo;
mod faults;
mod golden;
mod hardening;
mod isolation;
mod layers;
mod otlp;
mod probe;
mod prometheus_server;
mod quota;
mod rate_limit;
mod reload;
mod restart;
mod scheduling;
mod shard;
mod tokens;
