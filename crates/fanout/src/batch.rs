//! Packing events into executions, and naming them.
//!
//! An execution carries at most `BATCH_MAX_EVENTS` events and `BATCH_MAX_BYTES` of them: Step Functions
//! caps a state at 256 KiB, and the batch travels through validate and process, which add the records
//! and the enrichment requests next to the events. Packing is deterministic (events ordered by id), and
//! an execution's name is derived from its events' ids, so a redelivered batch starts nothing new.

use gcx_core::contract::PipelineEvent;
use sha2::{Digest, Sha256};

/// Longest execution name Step Functions accepts.
pub const MAX_EXECUTION_NAME: usize = 80;

/// One execution to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Its name, from its events' ids.
    pub name: String,
    /// Its events, ordered by id.
    pub events: Vec<PipelineEvent>,
    /// The serialized input, `{"events": [...]}`.
    pub input: String,
}

/// Bytes one event adds to an execution input (its JSON plus a comma).
pub fn event_bytes(event: &PipelineEvent) -> usize {
    serde_json::to_vec(event).map_or(usize::MAX, |v| v.len() + 1)
}

/// Packs `events` (each at most `max_bytes`) into as few batches as the limits allow.
pub fn pack(mut events: Vec<PipelineEvent>, max_events: usize, max_bytes: usize) -> Vec<Batch> {
    events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    let overhead = r#"{"events":[]}"#.len();
    let mut groups: Vec<(Vec<PipelineEvent>, usize)> = Vec::new();
    for event in events {
        let size = event_bytes(&event);
        match groups.last_mut() {
            Some((group, bytes)) if group.len() < max_events && *bytes + size <= max_bytes => {
                group.push(event);
                *bytes += size;
            }
            _ => groups.push((vec![event], overhead + size)),
        }
    }
    groups
        .into_iter()
        .map(|(events, _)| {
            let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
            let name = batch_name(&ids);
            let input = serde_json::to_string(&gcx_core::contract::ExecutionInput {
                events: events.clone(),
            })
            .unwrap_or_default();
            Batch {
                name,
                events,
                input,
            }
        })
        .collect()
}

/// The execution name for a batch whose sorted event ids are `ids`. A batch of one is named after its
/// event, as operators search by event id; a bigger batch `batch-<n>-<hash of the ids>`.
pub fn batch_name(ids: &[&str]) -> String {
    if let [only] = ids {
        return execution_name(only);
    }
    let mut hash = Sha256::new();
    for id in ids {
        hash.update(id.as_bytes());
        hash.update(b"\n");
    }
    let hex: String = hash
        .finalize()
        .iter()
        .take(20)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("batch-{}-{hex}", ids.len())
}

/// Whether `c` may appear in a Step Functions execution name.
pub fn execution_name_char_ok(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '?' | '*'
                | '<'
                | '>'
                | '{'
                | '}'
                | '['
                | ']'
                | '"'
                | '#'
                | '%'
                | '\\'
                | '^'
                | '|'
                | '~'
                | '`'
                | '$'
                | '&'
                | ','
                | ';'
                | ':'
                | '/'
        ))
}

/// The execution name for one EventBridge event id: deterministic, at most 80 characters, valid.
///
/// An id that is already a valid name (EventBridge ids are UUIDs) is used as is. Any other id is sanitised
/// to ASCII alphanumerics, `-` and `_`, cut, and suffixed with 16 hex characters of its SHA-256 so that
/// two different ids never share a name.
pub fn execution_name(event_id: &str) -> String {
    let valid_as_is = !event_id.is_empty()
        && event_id.len() <= MAX_EXECUTION_NAME
        && event_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid_as_is {
        return event_id.to_owned();
    }
    let digest = Sha256::digest(event_id.as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let prefix: String = event_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_EXECUTION_NAME - 1 - hash.len())
        .collect();
    format!("{prefix}-{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn event(id: &str, padding: usize) -> PipelineEvent {
        PipelineEvent {
            conversation_id: "1bc96a39-6725-40c4-9345-db72aa67b8c6".into(),
            event_id: id.into(),
            event_type: "v2.detail.events.conversation.{id}.acw".into(),
            event_time: 1,
            correlation_id: None,
            detail: json!({"eventBody": {"pad": "x".repeat(padding)}}),
        }
    }

    #[test]
    fn batches_are_bounded_by_count() {
        let events: Vec<_> = (0..250).map(|i| event(&format!("e{i:03}"), 10)).collect();
        let batches = pack(events, 100, 200 * 1024);
        let sizes: Vec<usize> = batches.iter().map(|b| b.events.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert_eq!(batches[0].events[0].event_id, "e000");
        assert!(batches
            .iter()
            .all(|b| b.name.starts_with("batch-") && b.name.len() <= MAX_EXECUTION_NAME));
    }

    #[test]
    fn batches_are_bounded_by_bytes() {
        let events: Vec<_> = (0..10).map(|i| event(&format!("e{i}"), 30_000)).collect();
        let one = event_bytes(&events[0]);
        let batches = pack(events, 100, 100 * 1024);
        for b in &batches {
            assert!(b.input.len() <= 100 * 1024, "{}", b.input.len());
            assert_eq!(
                b.input.len(),
                r#"{"events":[]}"#.len() + b.events.len() * one - 1
            );
        }
        let sizes: Vec<usize> = batches.iter().map(|b| b.events.len()).collect();
        assert_eq!(sizes, [3, 3, 3, 1]);
    }

    #[test]
    fn names_are_deterministic_and_order_free() {
        let a = pack(vec![event("x", 1), event("y", 1)], 100, 1 << 20);
        let b = pack(vec![event("y", 1), event("x", 1)], 100, 1 << 20);
        assert_eq!(a, b);
        assert_ne!(batch_name(&["x", "y"]), batch_name(&["x", "z"]));
        assert_eq!(
            batch_name(&["adbcfa5b-0116-4baa-b66b-a3f5902e95bf"]),
            "adbcfa5b-0116-4baa-b66b-a3f5902e95bf"
        );
    }

    #[test]
    fn other_ids_are_sanitised_and_hashed() {
        let n = execution_name("a b/c:d");
        assert!(n.starts_with("a_b_c_d-"), "{n}");
        assert_ne!(execution_name("a b"), execution_name("a_b"));
        assert_eq!(execution_name(&"x".repeat(200)).len(), MAX_EXECUTION_NAME);
        assert_ne!(
            execution_name(&"x".repeat(200)),
            execution_name(&"x".repeat(201))
        );
    }

    proptest! {
        #[test]
        fn execution_names_are_always_valid(id in any::<String>(), more in proptest::collection::vec(".{1,20}", 0..4)) {
            let n = execution_name(&id);
            prop_assert!(!n.is_empty() && n.chars().count() <= MAX_EXECUTION_NAME);
            prop_assert!(n.chars().all(execution_name_char_ok), "{n:?}");
            let mut ids: Vec<&str> = vec![id.as_str()];
            ids.extend(more.iter().map(String::as_str));
            let b = batch_name(&ids);
            prop_assert!(b.chars().count() <= MAX_EXECUTION_NAME && b.chars().all(execution_name_char_ok));
        }

        /// Packing loses and duplicates nothing, and keeps both limits.
        #[test]
        fn packing_keeps_every_event_within_the_limits(
            sizes in proptest::collection::vec(0usize..3000, 0..60),
            max_events in 1usize..20,
        ) {
            let events: Vec<_> = sizes.iter().enumerate().map(|(i, s)| event(&format!("e{i:03}"), *s)).collect();
            let max_bytes = 8 * 1024;
            let batches = pack(events, max_events, max_bytes);
            let mut ids: Vec<String> = batches.iter().flat_map(|b| b.events.iter().map(|e| e.event_id.clone())).collect();
            prop_assert_eq!(ids.len(), sizes.len());
            ids.dedup();
            prop_assert_eq!(ids.len(), sizes.len());
            for b in &batches {
                prop_assert!(b.events.len() <= max_events);
                prop_assert!(b.input.len() <= max_bytes || b.events.len() == 1);
            }
        }
    }
}
