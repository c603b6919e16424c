//! Keeping PII and secrets out of logs.
//!
//! Secrets live in [`secrecy::SecretString`], whose `Debug` prints `[REDACTED]` and which has no `Display`.
//! Customer and conversation identifiers that are PII are logged only as [`pii_ref`], a short one-way hash
//! that still lets an operator correlate log lines of one caller.

use sha2::{Digest, Sha256};

/// A 12-hex-character reference for a PII value, stable across invocations and processes.
///
/// It is a correlation handle, not anonymisation: a short numeric id can be recovered by enumeration,
/// which is why the hash is salted with a fixed, project-specific prefix and never logged next to the id.
pub fn pii_ref(value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"gcx-pii-ref:")
        .chain_update(value.as_bytes())
        .finalize();
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_ref_is_short_stable_and_does_not_contain_the_value() {
        let a = pii_ref("12345");
        assert_eq!(a.len(), 12);
        assert_eq!(a, pii_ref("12345"));
        assert_ne!(a, pii_ref("12346"));
        assert!(!a.contains("12345"));
    }
}
