//! Strategies the property tests share: arbitrary JSON of any shape, and the bounded run
//! settings (CI runs them on every push, so a few hundred cases each, not thousands).

use proptest::prelude::*;
use serde_json::Value;

/// Cases per property: enough to hit every shape below several times, cheap on 2 cores.
pub(crate) fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any JSON value, nested a few levels, with the keys the parsers look for mixed in so that
/// objects resemble real bodies often enough to reach the row parsers.
pub(crate) fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("list".to_string()),
        Just("ref_date".to_string()),
        Just("errcode".to_string()),
        Just("errmsg".to_string()),
        Just("is_delay".to_string()),
        Just("access_token".to_string()),
        Just("expires_in".to_string()),
        Just("details".to_string()),
        Just("msgid".to_string()),
        Just("version".to_string()),
        ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String("2026-11-30".into())),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
