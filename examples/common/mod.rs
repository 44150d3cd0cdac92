//! What the benchmark drivers share: the first poll round, which must succeed in full for their
//! figures to mean anything.

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
