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

/// Topic patterns for [`pipeline_event`]: conversation detail topics, and a few that are not.
const EVENT_TYPES: &[&str] = &[
    "v2.detail.events.conversation.{id}.customer.start",
    "v2.detail.events.conversation.{id}.customer.end",
    "v2.detail.events.conversation.{id}.acw",
    "v2.detail.events.conversation.{id}.wrapup",
    "v2.detail.events.conversation.{id}.flow.outcome",
    "v2.detail.events.conversation.{id}.contact",
    "v2.detail.events.conversation.{id}.user.end",
    "v2.detail.events.conversation.{id}.future.thing",
    "v2.audits.entitytype.{id}.entityid.{id}",
    "",
];

/// Elements of an execution input's `events`: mostly valid, with one field dropped or replaced by
/// arbitrary JSON a third of the time, so property tests reach both the accepting and rejecting paths.
pub fn pipeline_event() -> impl Strategy<Value = Value> {
    let uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    let fields = (
        uuid,
        ".{1,40}",
        prop::sample::select(EVENT_TYPES),
        1i64..4_000_000_000_000,
        proptest::option::of("[a-z0-9-]{0,36}"),
        json_with_keys(&[
            "mediaType",
            "queueId",
            "userId",
            "wrapupCode",
            "direction",
            "divisionId",
        ]),
    );
    let mutation = (
        0usize..18,
        prop::sample::select(
            &[
                "conversationId",
                "eventId",
                "eventType",
                "eventTime",
                "correlationId",
                "detail",
            ][..],
        ),
        json_with_keys(&["eventBody", "conversationId"]),
    );
    (fields, mutation).prop_map(
        |((cid, eid, etype, time, corr, body), (roll, field, junk))| {
            let body = match body {
                Value::Object(mut o) => {
                    o.insert("conversationId".into(), Value::String(cid.clone()));
                    Value::Object(o)
                }
                _ => serde_json::json!({ "conversationId": cid }),
            };
            let mut event = serde_json::json!({
                "conversationId": cid, "eventId": eid, "eventType": etype, "eventTime": time,
                "correlationId": corr, "detail": {"eventBody": body},
            });
            match roll {
                0..=2 => {
                    event.as_object_mut().map(|o| o.remove(field));
                }
                3..=5 => event[field] = junk,
                _ => {}
            }
            event
        },
    )
}
