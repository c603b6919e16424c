//! proptest strategies shared by the property tests of every crate.

use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON values nested a few levels deep, whose object keys are drawn from `keys` (the fields the
/// code under test looks for, so the search reaches its branches) or are short random names.
pub fn json_with_keys(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        "[0-9]{1,6}(\\.[0-9]{1,2})?".prop_map(Value::String),
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        prop::sample::select(keys).prop_map(str::to_owned),
        "[a-zA-Z-]{1,8}".prop_map(String::from)
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
