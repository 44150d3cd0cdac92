//! The WeChat datacube API client: endpoints, China dates, typed reports, errcodes and token sources.
//!
//! This module knows nothing of Prometheus; it could be published alone as a datacube SDK.

pub mod client;
pub mod date;
pub mod endpoint;
pub mod error;
#[cfg(test)]
pub(crate) mod fake;
pub mod pace;
pub mod rows;
pub mod token;
pub mod transport;

pub use date::DateRange;
pub use endpoint::{Endpoint, Period, ReportGroup, RowSource};
pub use endpoint::{Parsed, Report};
