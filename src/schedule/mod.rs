//! Decides what to fetch when, following WeChat's T+1 publication (docs/datacube-api.md, "Publication").
//!
//! `plan` is the pure decision logic for one account (which requests are due at an instant, and what
//! an answer means); `poller` runs the due requests through a [`Fetch`] and publishes what it learned.
//! Neither knows anything of HTTP serving or Prometheus text.

mod minimum;
mod plan;
mod poller;

pub use minimum::t1_minimum;
pub use plan::{AccountPlan, Job, Outcome, PlanSettings, Purpose, endpoints_to_call, probe_offset};
pub use poller::{AccountPoller, Fetch, PollRound, Scheduler, Update};
