//! Cardinality controls: `[metrics] exclude`, the families an operator drops by name, name prefix
//! or selector (`hourly`, `per_article`, a report group). Applied where samples are made, so a
//! dropped series costs neither memory nor encoding.

use std::collections::BTreeSet;

use super::{self as m, MetricInfo, catalogue};

/// Named sets of families besides names and `prefix*` patterns: what each selects.
const SELECTORS: &[(&str, &str)] = &[
    ("hourly", "every family labelled hour"),
    ("per_article", "every family labelled msgid"),
    ("users", "the Users group"),
    ("legacy_articles", "the Articles (legacy endpoints) group"),
    ("published", "the Published content group"),
    ("messages", "the Messages group"),
    ("callbacks", "the Callbacks group"),
    ("callback_probe", "the Callback probe group"),
];

fn selects(selector: &str, info: &MetricInfo) -> Option<bool> {
    let group = |g: &str| info.group == g;
    Some(match selector {
        "hourly" => info.labels.contains(&"hour"),
        "per_article" => info.labels.contains(&"msgid"),
        "users" => group(m::USERS),
        "legacy_articles" => group(m::LEGACY),
        "published" => group(m::PUBLISHED),
        "messages" => group(m::MESSAGES),
        "callbacks" => group(m::CALLBACKS),
        "callback_probe" => group(m::PROBE),
        _ => return None,
    })
}

/// The families that `exclude` drops (an empty set by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    families: BTreeSet<&'static str>,
}

impl Exclusions {
    /// The families one entry of `exclude` selects: a selector, a family name, or a name
    /// prefix ending in `*`. Err says why and lists what is valid. The exporter's own families
    /// (`wechat_mp_up`, the call counters, build info) stay: alerts and dashboards need them.
    pub fn select(entry: &str) -> Result<Vec<&'static str>, String> {
        let droppable = || catalogue().iter().filter(|i| i.group != m::EXPORTER);
        let found: Vec<&'static str> = if let Some(prefix) = entry.strip_suffix('*') {
            droppable()
                .filter(|i| i.name.starts_with(prefix))
                .map(|i| i.name)
                .collect()
        } else if SELECTORS.iter().any(|(s, _)| *s == entry) {
            droppable()
                .filter(|i| selects(entry, i) == Some(true))
                .map(|i| i.name)
                .collect()
        } else {
            droppable()
                .filter(|i| i.name == entry)
                .map(|i| i.name)
                .collect()
        };
        if !found.is_empty() {
            return Ok(found);
        }
        let selectors: Vec<String> = SELECTORS
            .iter()
            .map(|(s, what)| format!("{s} ({what})"))
            .collect();
        Err(format!(
            "{entry:?} selects no family; use one of {}, a family name from docs/metrics.md \
             (not of the Exporter group), or a name prefix ending in * such as \
             \"wechat_mp_article_*\"",
            selectors.join(", ")
        ))
    }

    /// The union of what each entry selects; the first invalid entry's error with its index.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, (usize, String)> {
        let mut families = BTreeSet::new();
        for (i, entry) in entries.into_iter().enumerate() {
            families.extend(Self::select(entry).map_err(|e| (i, e))?);
        }
        Ok(Self { families })
    }

    /// Whether the family `name` is dropped.
    pub fn drops(&self, name: &str) -> bool {
        !self.families.is_empty() && self.families.contains(name)
    }

    /// Whether calling `endpoint` is worth it: some family made from its answers is kept. The
    /// scheduler and `backfill` never call an endpoint all of whose families are excluded, so an
    /// exclusion saves WeChat quota, not only series.
    pub fn needs(&self, endpoint: crate::wechat::Endpoint) -> bool {
        m::of_endpoint(endpoint.name()).any(|f| !self.drops(f.name))
    }

    /// The dropped families, sorted.
    pub fn families(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.families.iter().copied()
    }
}

#[cfg(test)]
/// docs/metrics.md's "Series per account" section, counted from a text exposition (the demo's
/// golden one): the series of each account per group, and what the `exclude` selectors remove.
pub fn series_markdown(exposition: &str, source: &str) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    // (row, account) -> series.
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut accounts = BTreeSet::new();
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        let Some(account) = line
            .split_once("account=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(a, _)| a)
        else {
            continue;
        };
        // A histogram's samples belong to the family without their suffix.
        let info = super::lookup(name).or_else(|| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| super::lookup(name.strip_suffix(s)?))
        });
        let Some(info) = info else { continue };
        accounts.insert(account);
        *counts.entry((info.group, account)).or_default() += 1;
        for (selector, _) in &SELECTORS[..2] {
            if selects(selector, info) == Some(true) && info.group != m::EXPORTER {
                *counts.entry((selector, account)).or_default() += 1;
            }
        }
        *counts.entry(("total", account)).or_default() += 1;
        if !SELECTORS[..2]
            .iter()
            .any(|(selector, _)| selects(selector, info) == Some(true))
        {
            *counts.entry((LEAN, account)).or_default() += 1;
        }
    }
    let mut out = format!(
        "\n## Series per account\n\nCounted from {source}; demo-1 is a small account (~5k \
         followers), demo-3 a large one (~1.2M). What `[metrics] exclude` removes: a \
         group by its selector ({}), `hourly` and `per_article` across groups (they overlap the \
         groups and each other), a family by name, or `prefix*`. The Exporter group cannot be \
         excluded.\n\n| group | ",
        SELECTORS[2..]
            .iter()
            .map(|(s, _)| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str(&accounts.iter().copied().collect::<Vec<_>>().join(" | "));
    out.push_str(" |\n|---|");
    out.push_str(&"---|".repeat(accounts.len()));
    out.push('\n');
    let rows = m::GROUPS
        .iter()
        .copied()
        .chain(SELECTORS[..2].iter().map(|(s, _)| *s))
        .chain(["total", LEAN]);
    for row in rows {
        let label = if m::GROUPS.contains(&row) || row == LEAN {
            row.to_string()
        } else {
            format!("`{row}`")
        };
        let _ = write!(out, "| {label} |");
        for a in &accounts {
            let _ = write!(out, " {} |", counts.get(&(row, a)).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    out.push_str(&switches_markdown());
    out
}

/// The row of docs/metrics.md's series table without the `hourly` and `per_article` families.
#[cfg(test)]
const LEAN: &str = "total with `exclude = [\"hourly\", \"per_article\"]`";

/// What each switch removes, from the catalogue: the endpoints `hourly` and `per_article` stop
/// calling, the endpoints of each `reports` group, and the series one article costs per endpoint.
#[cfg(test)]
fn switches_markdown() -> String {
    use crate::wechat::{Endpoint, ReportGroup};
    let names = |es: &mut dyn Iterator<Item = Endpoint>| -> String {
        es.map(|e| e.name()).collect::<Vec<_>>().join(", ")
    };
    let mut out = String::from("\nWhat each switch removes:\n\n");
    for (selector, what) in &SELECTORS[..2] {
        let ex = Exclusions::parse([*selector]).unwrap_or_default();
        out.push_str(&format!(
            "- `exclude = [\"{selector}\"]`: {what}; these endpoints are no longer called: {}.\n",
            names(&mut Endpoint::ALL.into_iter().filter(|e| !ex.needs(*e)))
        ));
    }
    out.push_str(
        "- A group selector (`users`, ...) removes its section above, and its endpoints are no \
         longer called. getusercumulate, the daily readiness probe, is always called.\n",
    );
    for group in ReportGroup::ALL {
        out.push_str(&format!(
            "- `reports` without `{}`: no call to {} and none of their families.\n",
            group.name(),
            names(
                &mut Endpoint::ALL
                    .into_iter()
                    .filter(|e| e.group() == group && *e != Endpoint::UserCumulate)
            )
        ));
    }
    let per_article: Vec<String> = Endpoint::ALL
        .into_iter()
        .filter_map(|e| {
            let n = m::of_endpoint(e.name())
                .filter(|f| f.labels.contains(&"msgid") && f.measure != m::Unit::Info)
                .count();
            (n > 0).then(|| format!("{} {n}", e.name()))
        })
        .collect();
    out.push_str(&format!(
        "- `max_articles_per_account` caps the articles kept per endpoint (newest first); each \
         article costs one `*_info` series per group plus, per endpoint, this many value families \
         (some with one series per `source` or `position`): {}.\n",
        per_article.join(", ")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_names_and_prefixes() {
        let hourly = Exclusions::parse(["hourly"]).unwrap();
        assert!(hourly.drops("wechat_mp_hourly_shares"));
        assert!(hourly.drops("wechat_mp_hourly_article_reads"));
        assert!(!hourly.drops("wechat_mp_followers"));
        assert!(hourly.families().all(|f| {
            crate::catalogue::lookup(f)
                .unwrap()
                .labels
                .contains(&"hour")
        }));

        let articles = Exclusions::parse(["wechat_mp_article_*"]).unwrap();
        assert!(articles.families().count() > 3);
        assert!(
            articles
                .families()
                .all(|f| f.starts_with("wechat_mp_article_"))
        );
        // The exporter's own families stay, whatever the prefix.
        let every = Exclusions::parse(["wechat_mp_*"]).unwrap();
        assert!(!every.drops("wechat_mp_dropped_articles"));
        assert!(every.drops("wechat_mp_article_info"));

        let both = Exclusions::parse(["per_article", "wechat_mp_followers"]).unwrap();
        assert!(both.drops("wechat_mp_followers"));
        assert!(both.drops("wechat_mp_massmsg_reads"));
        assert!(!both.drops("wechat_mp_up"));
        assert!(!Exclusions::default().drops("wechat_mp_followers"));

        use crate::wechat::Endpoint;
        let hourly_endpoints: Vec<_> = Endpoint::ALL
            .into_iter()
            .filter(|e| !hourly.needs(*e))
            .map(Endpoint::name)
            .collect();
        assert_eq!(
            hourly_endpoints,
            [
                "getuserreadhour",
                "getusersharehour",
                "getupstreammsghour",
                "getinterfacesummaryhour"
            ]
        );
        assert!(
            Endpoint::ALL
                .into_iter()
                .all(|e| Exclusions::default().needs(e))
        );
        // One family of getuserread kept: still called.
        let all_but_one: Vec<&str> = m::of_endpoint("getuserread")
            .skip(1)
            .map(|f| f.name)
            .collect();
        assert!(
            Exclusions::parse(all_but_one)
                .unwrap()
                .needs(Endpoint::UserRead)
        );
    }

    #[test]
    fn series_are_counted_per_group_and_selector() {
        let text = "# HELP x\n\
            wechat_mp_followers{account=\"a\"} 1\n\
            wechat_mp_hourly_shares{account=\"a\",scene=\"1\",hour=\"0\"} 1\n\
            wechat_mp_callback_probe_latency_seconds_bucket{account=\"b\",le=\"1\"} 1\n\
            wechat_mp_exporter_build_info{version=\"1\",revision=\"x\"} 1\n";
        let md = series_markdown(text, "a test");
        assert!(md.contains("| group | a | b |\n|---|---|---|\n"), "{md}");
        assert!(md.contains("| Users | 1 | 0 |"), "{md}");
        assert!(
            md.contains("| Articles (legacy endpoints) | 1 | 0 |"),
            "{md}"
        );
        assert!(md.contains("| Callback probe | 0 | 1 |"), "{md}");
        assert!(md.contains("| `hourly` | 1 | 0 |"), "{md}");
        assert!(md.contains("| `per_article` | 0 | 0 |"), "{md}");
        assert!(md.contains("| `total` | 2 | 1 |"), "{md}");
        assert!(md.contains(&format!("| {LEAN} | 1 | 1 |")), "{md}");
        assert!(
            md.contains("no longer called: getuserreadhour, getusersharehour, getupstreammsghour, getinterfacesummaryhour."),
            "{md}"
        );
    }

    #[test]
    fn unknown_entries_list_what_is_valid() {
        let (i, e) = Exclusions::parse(["hourly", "hourlyy"]).unwrap_err();
        assert_eq!(i, 1);
        assert!(e.contains("\"hourlyy\" selects no family"), "{e}");
        for (selector, _) in SELECTORS {
            assert!(e.contains(selector), "{e}");
            assert!(
                Exclusions::select(selector).is_ok(),
                "{selector} selects something"
            );
        }
        assert!(
            Exclusions::parse(["wechat_mp_up"]).is_err(),
            "exporter families stay"
        );
        assert!(Exclusions::parse(["nothing_*"]).is_err());
    }
}
