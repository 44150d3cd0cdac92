//! Unit tests of the catalogue: names, units, HELP texts.

use super::unit::unit_of_name;
use super::*;
use Unit::{Count, Info, Ratio, Seconds, TimestampSeconds};

#[test]
fn names_are_unique_and_well_formed() {
    let mut names: Vec<_> = CATALOGUE.iter().map(|m| m.name).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "duplicate family name");
    for m in CATALOGUE {
        assert!(m.name.starts_with("wechat_mp_"), "{}", m.name);
        assert!(
            m.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{}",
            m.name
        );
        assert_eq!(
            m.kind == MetricKind::Counter,
            m.name.ends_with("_total"),
            "{}: counters and only counters end in _total",
            m.name
        );
        assert!(GROUPS.contains(&m.group), "{}", m.name);
        assert!(
            !m.help.contains('\n') && !m.help.contains('\\'),
            "{}",
            m.name
        );
        if !m.endpoint.is_empty() {
            assert_eq!(m.labels.first(), Some(&"account"), "{}", m.name);
            assert!(
                m.help.contains(m.endpoint),
                "{} HELP names its endpoint",
                m.name
            );
            assert!(
                m.endpoint.parse::<crate::wechat::Endpoint>().is_ok(),
                "{}",
                m.name
            );
        }
    }
}

/// Prometheus' naming practice: the unit is the name's suffix (before `_total`), Unix times are
/// `*_timestamp_seconds`, info families are `*_info`, no name carries its type, and a title is
/// a label of an info family only.
#[test]
fn every_name_ends_in_its_unit() {
    for m in CATALOGUE {
        let base = m.name.strip_suffix("_total").unwrap_or(m.name);
        if let Some(suffix) = m.measure.suffix() {
            assert!(base.ends_with(&suffix), "{} should end in {suffix}", m.name);
        }
        if m.measure != Unit::TimestampSeconds {
            assert!(!base.ends_with("_timestamp_seconds"), "{}", m.name);
        }
        if let Unit::Count(what) = m.measure {
            assert!(what.ends_with('s'), "{}: count units are plural", m.name);
        }
        for type_word in ["_gauge", "_counter", "_histogram"] {
            assert!(!m.name.contains(type_word), "{}", m.name);
        }
        assert_eq!(
            m.labels.contains(&"title"),
            m.measure == Unit::Info && m.group != EXPORTER,
            "{}: titles only in article info families",
            m.name
        );
        if m.kind == MetricKind::Counter {
            assert!(matches!(m.measure, Unit::Count(_)), "{}", m.name);
        }
    }
    assert_eq!(
        lookup("wechat_mp_followers").unwrap().unit(),
        Some("followers")
    );
    assert_eq!(lookup("wechat_mp_up").unwrap().unit(), None);
    assert_eq!(
        lookup("wechat_mp_data_date_timestamp_seconds")
            .unwrap()
            .unit(),
        Some("seconds")
    );
}

#[test]
fn the_unit_of_an_undeclared_own_family_is_read_off_its_name() {
    assert_eq!(unit_of_name("wechat_mp_x_seconds"), Seconds);
    assert_eq!(
        unit_of_name("wechat_mp_x_timestamp_seconds"),
        TimestampSeconds
    );
    assert_eq!(unit_of_name("wechat_mp_x_bytes"), Unit::Bytes);
    assert_eq!(unit_of_name("wechat_mp_x_build_info"), Info);
    assert_eq!(unit_of_name("wechat_mp_scrapes_total"), Count("scrapes"));
    assert_eq!(unit_of_name("wechat_mp_x_ratio"), Ratio);
}

#[test]
fn help_names_source_and_period() {
    let m = lookup("wechat_mp_followers").unwrap();
    assert_eq!(
        m.help,
        "Total followers at the end of the day (WeChat getusercumulate.cumulate_user; latest complete day (UTC+8))."
    );
    assert!(
        lookup("wechat_mp_massmsg_reads")
            .unwrap()
            .help
            .contains("running total since sending")
    );
    assert!(lookup("nope").is_none());
    assert!(of_endpoint("getuserreadhour").all(|m| m.labels.contains(&"hour")));
    assert_eq!(of_endpoint("getusercumulate").count(), 1);
}
