//! The fault matrix's 100 MiB body case with its peak-RSS bound, alone in this test binary: the
//! bound is on the whole process's peak resident memory (`VmHWM`), which only measures the
//! exporter's read when no other test allocates beside it. Its row of docs/reliability.md comes
//! from the e2e binary's fault matrix (tests/e2e/faults.rs), which runs the same case unmeasured.

#[path = "support/mod.rs"]
mod support;

use support::faults::{CASES, run_case};

#[tokio::test]
async fn a_100_mib_body_grows_the_peak_rss_by_less_than_its_bound() {
    let measured: Vec<_> = CASES
        .iter()
        .filter(|c| c.peak_rss_growth_mib.is_some())
        .collect();
    assert_eq!(
        measured.len(),
        1,
        "one case, the 100 MiB body, has a memory bound"
    );
    for case in measured {
        run_case(case, true).await;
    }
}
