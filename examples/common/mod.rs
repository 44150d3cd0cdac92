//! What the benchmark drivers share: the first poll round, which must succeed in full for their
//! figures to mean anything, and the process's memory as /proc reports it.

use anyhow::bail;
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::schedule::PollRound;

/// Runs `exporter`'s first poll round; an error names how many upstream requests failed.
pub async fn first_round(exporter: &mut Exporter) -> anyhow::Result<PollRound> {
    let round = exporter.scheduler.tick().await;
    if round.failures > 0 {
        bail!(
            "{} of {} upstream requests failed",
            round.failures,
            round.requests
        );
    }
    Ok(round)
}

/// A field of /proc/self/status in KiB (VmRSS, VmHWM); 0 when there is none.
#[allow(dead_code)] // not every driver reads every figure
pub fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The process's resident memory in KiB.
#[allow(dead_code)]
pub fn rss_kib() -> u64 {
    status_kib("VmRSS")
}

/// Returns the heap glibc keeps free to the system, so RSS shows what is held, not what was.
#[allow(dead_code, unsafe_code)]
pub fn trim() {
    // SAFETY: malloc_trim only releases free memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Series lines of a text exposition (everything but comments and blank lines).
#[allow(dead_code)]
pub fn series(text: &[u8]) -> usize {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .count()
}
