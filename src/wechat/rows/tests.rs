//! Unit tests of `report`.

use super::*;
use crate::wechat::endpoint::{Endpoint, Parsed, Report};
use jiff::civil::date;
use std::path::PathBuf;

/// The documented example bodies, WeChat's own, kept in tests/fixtures.
fn example(endpoint: Endpoint) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wechat-examples")
        .join(format!("{}.json", endpoint.name()));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_documented_example_parses_into_its_own_variant() {
    for endpoint in Endpoint::ALL {
        let parsed = Report::parse(endpoint, &example(endpoint))
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        assert_eq!(parsed.report.endpoint(), endpoint);
        assert!(!parsed.report.is_empty(), "{endpoint} example has rows");
        assert_eq!(
            parsed.is_delay.is_some(),
            endpoint.is_published_content(),
            "{endpoint} is_delay"
        );
    }
}

#[test]
fn documented_values_land_in_the_right_fields() {
    let Report::InterfaceSummary(rows) = Report::parse(
        Endpoint::InterfaceSummary,
        &example(Endpoint::InterfaceSummary),
    )
    .unwrap()
    .report
    else {
        panic!("variant")
    };
    assert_eq!(rows[0].ref_date, Some(date(2014, 12, 7)));
    assert_eq!(rows[0].callback_count, Some(36974));
    assert_eq!(rows[0].fail_count, Some(67));
    assert_eq!(rows[0].total_time_cost, Some(14_994_291));
    assert_eq!(rows[0].max_time_cost, Some(5044));

    let Report::ArticleTotal(rows) =
        Report::parse(Endpoint::ArticleTotal, &example(Endpoint::ArticleTotal))
            .unwrap()
            .report
    else {
        panic!("variant")
    };
    let d = &rows[0].details[0];
    assert_eq!(rows[0].title.as_deref(), Some("马航丢画记"));
    assert_eq!(d.target_user, Some(261_917));
    assert_eq!(d.counters.int_page_read_count, Some(25_615));
    assert_eq!(d.int_page_from_friends_read_user, Some(15_428));
    assert_eq!(d.feed_share_from_other_cnt, Some(775));
    assert_eq!(
        d.int_page_from_kanyikan_read_user, None,
        "absent fields stay None"
    );

    let Report::ArticleTotalDetail(rows) = Report::parse(
        Endpoint::ArticleTotalDetail,
        &example(Endpoint::ArticleTotalDetail),
    )
    .unwrap()
    .report
    else {
        panic!("variant")
    };
    let s = &rows[0].detail_list[0];
    assert_eq!(rows[0].publish_type, Some(0));
    assert_eq!(s.praise_money, Some(361));
    assert_eq!(s.read_delivery_rate, Some(0.0271002));
    assert_eq!(s.read_jump_position[1].position, Some(2));
    assert_eq!(s.read_user_source[0].scene_desc.as_deref(), Some("全部"));

    let Report::UserShare(rows) = Report::parse(Endpoint::UserShare, &example(Endpoint::UserShare))
        .unwrap()
        .report
    else {
        panic!("variant")
    };
    assert_eq!(
        rows.iter().map(|r| r.share_scene).collect::<Vec<_>>(),
        vec![Some(1), Some(5)]
    );
}

#[test]
fn parsing_is_tolerant() {
    let body = br#"{"list":[{"ref_date":"2026-01-02","cumulate_user":5,"brand_new_field":{"x":1}},{}],"extra":true}"#;
    let Report::UserCumulate(rows) = Report::parse(Endpoint::UserCumulate, body).unwrap().report
    else {
        panic!()
    };
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].cumulate_user, Some(5));
    assert_eq!(rows[1], UserCumulateRow::default());
    assert!(
        Report::parse(Endpoint::UserCumulate, br#"{}"#)
            .unwrap()
            .report
            .is_empty()
    );
    assert!(Report::parse(Endpoint::UserCumulate, br#"{"list":[{"cumulate_user":"#).is_err());
}

#[test]
fn merging_appends_rows_and_keeps_any_delay() {
    let day = |d| UserCumulateRow {
        ref_date: Some(d),
        cumulate_user: Some(1),
        user_source: None,
    };
    let mut a = Parsed {
        report: Report::UserCumulate(vec![day(date(2026, 1, 1))]),
        is_delay: Some(false),
    };
    let b = Parsed {
        report: Report::UserCumulate(vec![day(date(2026, 1, 2)), day(date(2026, 1, 3))]),
        is_delay: Some(true),
    };
    a.merge(b).unwrap();
    let Report::UserCumulate(rows) = &a.report else {
        panic!("variant")
    };
    assert_eq!(
        rows.iter().map(|r| r.ref_date.unwrap()).collect::<Vec<_>>(),
        vec![date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    );
    assert_eq!(a.is_delay, Some(true));

    let mut none = Parsed {
        report: Report::empty(Endpoint::UserSummary),
        is_delay: None,
    };
    let other = Parsed {
        report: Report::empty(Endpoint::UserSummary),
        is_delay: Some(false),
    };
    none.merge(other).unwrap();
    assert_eq!(none.is_delay, Some(false));

    let wrong = Parsed {
        report: Report::empty(Endpoint::UserCumulate),
        is_delay: None,
    };
    let back = none.merge(wrong).unwrap_err();
    assert_eq!(back.report.endpoint(), Endpoint::UserCumulate);
    assert_eq!(none.report.endpoint(), Endpoint::UserSummary);
}

#[test]
fn bodies_round_trip() {
    for endpoint in Endpoint::ALL {
        let parsed = Report::parse(endpoint, &example(endpoint)).unwrap();
        let body = parsed.report.to_body_bytes(parsed.is_delay);
        // The same JSON as the `Value` form (whose keys are sorted, hence compared as values).
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value, parsed.report.to_body(parsed.is_delay), "{endpoint}");
        assert_eq!(
            Report::parse(endpoint, &body).unwrap(),
            parsed,
            "{endpoint}"
        );
    }
}

mod properties {
    use super::*;
    use crate::proptest_support::{config, json};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(config())]

        /// Bytes from anywhere: every endpoint's parser answers Ok or Err, never panics.
        #[test]
        fn any_bytes_parse_or_fail_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            for endpoint in Endpoint::ALL {
                let _ = Report::parse(endpoint, &bytes);
            }
        }

        /// JSON of any shape, at the top and as the list: parsed or refused, and what parses
        /// goes back out as a body that parses to the same rows.
        #[test]
        fn any_json_shape_parses_or_fails_and_round_trips(value in json()) {
            for body in [value.clone(), serde_json::json!({ "list": [value.clone()] })] {
                let bytes = serde_json::to_vec(&body).unwrap();
                for endpoint in Endpoint::ALL {
                    if let Ok(parsed) = Report::parse(endpoint, &bytes) {
                        let again = serde_json::to_vec(&parsed.report.to_body(None)).unwrap();
                        let reparsed = Report::parse(endpoint, &again).unwrap();
                        prop_assert_eq!(reparsed.report.len(), parsed.report.len());
                    }
                }
            }
        }
    }
}
