//! docs/metrics.md from the catalogue: a table per report group with type, unit, labels,
//! stability and source field of every family, then the label values.

use std::fmt::Write as _;

use crate::catalogue::{GROUPS, Stability, catalogue};

/// docs/metrics.md: the conventions, then a table per report group.
pub fn catalogue_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Metrics\n\n");
    out.push_str(
        "Generated from `src/catalogue.rs` (`UPDATE_DOCS=1 cargo test --lib metrics` rewrites it; \
         a test fails when it is stale). All business metrics are gauges holding the value of the \
         latest complete day (UTC+8), without timestamps, labelled `account`. Per-article families \
         keep at most `max_articles_per_account` articles per endpoint, newest first.\n\n\
         Conventions, so that every query means what it says:\n\n\
         - **Sums are meaningful.** No label value stands for \"all the others\": where WeChat gives \
         a total beside its breakdown, the total is its own family (`wechat_mp_article_reads`) and the \
         breakdown family has `_source_` in its name (`wechat_mp_article_source_reads{source}`). \
         Distinct-user totals are not the sum of their parts; use the total family for them.\n\
         - **Article properties are info families.** Title, position in the message (`index`), \
         date and URL are labels of `wechat_mp_massmsg_info` and `wechat_mp_article_info` (value \
         1), keyed by `account` and `msgid`; value families carry `msgid` only, so fixing a typo in a \
         title starts one new series, not one per family. Join for display: \
         `wechat_mp_article_cumulative_read_users * on (account, msgid) group_left (title) \
         wechat_mp_article_info`. The send/publish day is also a value \
         (`*_timestamp_seconds{msgid}`) to compute ages with.\n\
         - **Units.** Every family has a unit and its name ends in it: `seconds`, `ratio`, `yuan`, \
         or the counted things (`users`, `reads`, `requests`, ...); Unix times end in \
         `_timestamp_seconds`. OpenMetrics carries the unit as `# UNIT`; states (1/0) and info \
         families have none.\n",
    );
    out.push_str(&Stability::markdown());
    for group in GROUPS {
        let _ = write!(
            out,
            "\n## {group}\n\n| metric | type | unit | labels | stability | source | meaning |\n\
             |---|---|---|---|---|---|---|\n"
        );
        for m in catalogue().iter().filter(|m| m.group == group) {
            let source = if m.endpoint.is_empty() {
                m.field.to_string()
            } else {
                format!("{}.{}", m.endpoint, m.field)
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                m.name,
                m.kind.as_str(),
                m.measure.describe(),
                m.labels.join(", "),
                m.stability,
                source.replace('|', "\\|"),
                m.help.replace('|', "\\|"),
            );
        }
    }
    out.push_str(&super::labels::labels_markdown());
    out
}
