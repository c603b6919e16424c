//! Execution names: derived from the events' ids, so a redelivered batch starts nothing new, and so each
//! stage can tell from `$$.Execution.Id` which events an execution fanout started was handed.

use sha2::{Digest, Sha256};

/// Longest execution name Step Functions accepts.
pub const MAX_EXECUTION_NAME: usize = 80;

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

/// The name of the execution `execution_id` (`arn:...:execution:<machine>:<name>`, or a bare name).
pub fn name_of(execution_id: &str) -> &str {
    let parts: Vec<&str> = execution_id.split(':').collect();
    match parts.as_slice() {
        // An EXPRESS run: arn:...:express:<machine>:<name>:<run id>.
        [.., "express", _, name, _] => name,
        [.., name] => name,
        [] => execution_id,
    }
}

/// Whether `name` has the form fanout gives a batch of two or more: `batch-<n>-<40 hex>`.
pub fn is_batch_name(name: &str) -> bool {
    let mut parts = name.splitn(3, '-');
    parts.next() == Some("batch")
        && parts
            .next()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_some_and(|h| {
            h.len() == 40 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_deterministic_and_order_free() {
        assert_ne!(batch_name(&["x", "y"]), batch_name(&["x", "z"]));
        assert_eq!(
            batch_name(&["adbcfa5b-0116-4baa-b66b-a3f5902e95bf"]),
            "adbcfa5b-0116-4baa-b66b-a3f5902e95bf"
        );
        let name = batch_name(&["x", "y"]);
        assert!(is_batch_name(&name), "{name}");
        assert!(!is_batch_name("adbcfa5b-0116-4baa-b66b-a3f5902e95bf"));
        assert!(!is_batch_name("batch-2-xyz"));
        assert_eq!(
            name_of(&format!("arn:aws:states:us-east-1:1:execution:m:{name}")),
            name
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
    }
}
