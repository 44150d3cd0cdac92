//! The metric API's versioning: each family's stability level, and the gate that holds the stable
//! families to the committed list `src/catalogue/stable-families.txt`.
//!
//! A stable family keeps its name, type, unit and labels within a major version: dashboards,
//! alerts and users' recording rules bind to them. The gate fails on a rename, a type or unit
//! change, a label removed, or a stable family demoted or dropped; adding a stable family needs
//! its line in the list (a deliberate, reviewed change), and so does a breaking change in a new
//! major version (with a CHANGELOG.md entry).

use std::fmt;

#[cfg(test)]
use super::MetricInfo;

/// How far users may rely on a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stability {
    /// Name, type, unit and labels stay within the major version (the gate enforces it).
    Stable,
    /// May change in any release; CHANGELOG.md says so when it does.
    Experimental,
    /// Still exposed, removed in the next major version; the name of the release that deprecated it.
    Deprecated {
        /// The version that deprecated the family.
        since: &'static str,
    },
}

impl fmt::Display for Stability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stability::Stable => f.write_str("stable"),
            Stability::Experimental => f.write_str("experimental"),
            Stability::Deprecated { since } => write!(f, "deprecated since {since}"),
        }
    }
}

impl Stability {
    /// The "Stability" section of docs/metrics.md.
    pub fn markdown() -> String {
        "\n## Stability\n\n\
         Each family has a level. **stable**: its name, type, unit and label names stay within a \
         major version (a test holds them to `src/catalogue/stable-families.txt`; label *values* such \
         as a new read channel may be added). **experimental**: may change in any release, listed in \
         `CHANGELOG.md` when it does. **deprecated since X**: still exposed, gone in the next major \
         version; its replacement is named in `CHANGELOG.md`.\n"
            .to_string()
    }
}

/// The committed list of stable families.
#[cfg(test)]
pub const STABLE_LIST: &str = include_str!("stable-families.txt");

/// One line of the list: `name type unit label,label,...` (`-` for no unit or no labels).
#[cfg(test)]
pub fn list_line(m: &MetricInfo) -> String {
    let labels = if m.labels.is_empty() {
        "-".to_string()
    } else {
        m.labels.join(",")
    };
    format!(
        "{} {} {} {labels}",
        m.name,
        m.kind.as_str(),
        m.unit().unwrap_or("-")
    )
}

/// What the catalogue `families` breaks of the committed `list`; empty when nothing.
#[cfg(test)]
pub fn check(list: &str, families: &[MetricInfo]) -> Vec<String> {
    let mut broken = Vec::new();
    let mut listed = Vec::new();
    for line in list.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, kind, unit, labels] = fields[..] else {
            broken.push(format!("malformed line in the stable list: {line:?}"));
            continue;
        };
        listed.push(name);
        let Some(m) = families.iter().find(|m| m.name == name) else {
            broken.push(format!(
                "stable family {name} is gone (renamed or removed): deprecate it and keep it \
                 until the next major version"
            ));
            continue;
        };
        if m.kind.as_str() != kind {
            broken.push(format!(
                "stable family {name}: type {kind} became {}",
                m.kind.as_str()
            ));
        }
        if m.unit().unwrap_or("-") != unit {
            broken.push(format!(
                "stable family {name}: unit {unit} became {}",
                m.unit().unwrap_or("-")
            ));
        }
        for label in labels.split(',').filter(|l| *l != "-") {
            if !m.labels.contains(&label) {
                broken.push(format!("stable family {name}: label {label} was removed"));
            }
        }
        if m.stability == Stability::Experimental {
            broken.push(format!("stable family {name} was demoted to experimental"));
        }
    }
    for m in families.iter().filter(|m| m.stability == Stability::Stable) {
        if !listed.contains(&m.name) {
            broken.push(format!(
                "{} is marked stable but not in src/catalogue/stable-families.txt; add: {}",
                m.name,
                list_line(m)
            ));
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::super::{CATALOGUE, MetricKind, lookup};
    use super::*;

    /// The gate: every stable family keeps its name, type, unit and labels.
    #[test]
    fn stable_families_keep_name_type_unit_and_labels() {
        let broken = check(STABLE_LIST, CATALOGUE);
        assert!(
            broken.is_empty(),
            "the stable metric API changed:\n{}",
            broken.join("\n")
        );
        assert!(
            STABLE_LIST
                .lines()
                .any(|l| l.starts_with("wechat_mp_up gauge - account"))
        );
    }

    /// CHANGELOG.md's "Metrics" table names only families that exist under their new name.
    #[test]
    fn the_changelog_names_existing_families() {
        let changelog = include_str!("../../CHANGELOG.md");
        let mut rows = 0;
        for line in changelog.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = line.split(" | ").collect();
            let Some(new) = cells.get(1).and_then(|c| c.strip_prefix('`')) else {
                continue;
            };
            let name = new.split(['`', '{']).next().unwrap_or_default();
            assert!(lookup(name).is_some(), "CHANGELOG.md names {name}: {line}");
            rows += 1;
        }
        assert!(rows > 50, "{rows} rows");
    }

    /// The gate catches a deliberate rename, type and unit change, label removal and demotion.
    #[test]
    fn the_gate_catches_a_renamed_stable_family() {
        let mut changed = CATALOGUE.to_vec();
        let i = changed
            .iter()
            .position(|m| m.name == "wechat_mp_followers")
            .unwrap();
        changed[i].name = "wechat_mp_follower_count";
        let broken = check(STABLE_LIST, &changed);
        assert!(
            broken
                .iter()
                .any(|b| b.contains("stable family wechat_mp_followers is gone")),
            "{broken:?}"
        );
        assert!(
            broken
                .iter()
                .any(|b| b.contains("wechat_mp_follower_count is marked stable")),
            "{broken:?}"
        );

        let mut changed = CATALOGUE.to_vec();
        let i = changed
            .iter()
            .position(|m| m.name == "wechat_mp_api_requests_total")
            .unwrap();
        changed[i].kind = MetricKind::Gauge;
        changed[i].labels = &["account", "api"];
        let broken = check(STABLE_LIST, &changed);
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert!(
            broken[0].contains("type counter became gauge"),
            "{broken:?}"
        );
        assert!(
            broken[1].contains("label errcode was removed"),
            "{broken:?}"
        );

        let mut changed = CATALOGUE.to_vec();
        let i = changed
            .iter()
            .position(|m| m.name == "wechat_mp_callback_time_cost_seconds")
            .unwrap();
        changed[i].measure = super::super::Unit::Count("requests");
        changed[i].stability = Stability::Experimental;
        let broken = check(STABLE_LIST, &changed);
        assert!(
            broken
                .iter()
                .any(|b| b.contains("unit seconds became requests")),
            "{broken:?}"
        );
        assert!(broken.iter().any(|b| b.contains("demoted")), "{broken:?}");

        // Deprecating keeps the family: not a break.
        let mut changed = CATALOGUE.to_vec();
        let i = changed
            .iter()
            .position(|m| m.name == "wechat_mp_followers")
            .unwrap();
        changed[i].stability = Stability::Deprecated { since: "1.1.0" };
        assert!(check(STABLE_LIST, &changed).is_empty());
        assert_eq!(
            lookup("wechat_mp_followers").unwrap().stability,
            Stability::Stable
        );
    }
}
