//! Wires a validated `Config` into a running exporter over one [`Runtime`]: one WeChat client and
//! plan per account, the metric store, the status board, the HTTP router.
//!
//! - `runtime.rs`: the pieces every command shares, built once.
//! - `accounts.rs`: one account's token source, client and poller.
//! - `serve.rs`: the [`Exporter`] that `serve` runs.
//! - `reload.rs`: the [`Reloader`] (SIGHUP, `POST /-/reload`).
//! - `discovery.rs`: the accounts third-party platforms list.

mod accounts;
mod discovery;
mod reload;
mod runtime;
mod serve;

pub use crate::version::{REVISION, VERSION};
pub use discovery::Discoverer;
pub use reload::Reloader;
pub use runtime::Runtime;
pub use runtime::of_shard;
pub use serve::Exporter;
