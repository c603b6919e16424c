//! Which messages a redrive takes: by conversation, by error name, by when they were dead-lettered.
//! Every filter given must match; a message that does not is left alone.

/// The filters of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    conversations: Vec<String>,
    errors: Vec<String>,
    since_ms: Option<i64>,
}

/// The filter a message did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Miss {
    /// `--conversation`.
    Conversation,
    /// `--error`.
    Error,
    /// `--since`.
    Since,
}

impl Miss {
    /// The flag, for the summary.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Conversation => "--conversation",
            Self::Error => "--error",
            Self::Since => "--since",
        }
    }
}

impl Filter {
    /// Conversation ids, error names (a trailing `*` matches a prefix), and the `SentTimestamp` cutoff.
    pub fn new(conversations: &[String], errors: &[String], since_ms: Option<i64>) -> Self {
        Self {
            conversations: conversations.iter().map(|c| c.trim().to_owned()).collect(),
            errors: errors.iter().map(|e| e.trim().to_owned()).collect(),
            since_ms,
        }
    }

    /// Whether a message with these conversations, this error name and this send time is taken.
    pub fn check(
        &self,
        conversations: &[String],
        error: Option<&str>,
        sent_ms: Option<i64>,
    ) -> Result<(), Miss> {
        if !self.conversations.is_empty()
            && !conversations
                .iter()
                .any(|c| self.conversations.iter().any(|w| w.eq_ignore_ascii_case(c)))
        {
            return Err(Miss::Conversation);
        }
        if !self.errors.is_empty() {
            let name = error.unwrap_or_default();
            if !self.errors.iter().any(|w| matches_name(w, name)) {
                return Err(Miss::Error);
            }
        }
        if let Some(cutoff) = self.since_ms {
            if sent_ms.is_none_or(|t| t < cutoff) {
                return Err(Miss::Since);
            }
        }
        Ok(())
    }

    /// Whether `--error` named exactly `name` (not by a pattern): how a message that never succeeds
    /// as it is gets redriven all the same.
    pub fn names_exactly(&self, name: &str) -> bool {
        self.errors.iter().any(|w| w == name)
    }
}

fn matches_name(wanted: &str, name: &str) -> bool {
    match wanted.strip_suffix('*') {
        Some(prefix) => !name.is_empty() && name.starts_with(prefix),
        None => wanted == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn no_filter_takes_everything() {
        assert_eq!(Filter::default().check(&[], None, None), Ok(()));
    }

    #[test]
    fn each_filter_must_match() {
        let f = Filter::new(
            &s(&["c-1", "c-2"]),
            &s(&["Store.Unavailable", "Genesys.*"]),
            Some(1000),
        );
        assert_eq!(
            f.check(&s(&["c-2"]), Some("Genesys.AuthFailed"), Some(1000)),
            Ok(())
        );
        assert_eq!(
            f.check(&s(&["C-1"]), Some("Store.Unavailable"), Some(5000)),
            Ok(())
        );
        assert_eq!(
            f.check(&s(&["c-3"]), Some("Store.Unavailable"), Some(5000)),
            Err(Miss::Conversation)
        );
        assert_eq!(
            f.check(&[], Some("Store.Unavailable"), Some(5000)),
            Err(Miss::Conversation)
        );
        assert_eq!(
            f.check(&s(&["c-1"]), Some("Store.Rejected"), Some(5000)),
            Err(Miss::Error)
        );
        assert_eq!(f.check(&s(&["c-1"]), None, Some(5000)), Err(Miss::Error));
        assert_eq!(
            f.check(&s(&["c-1"]), Some("Store.Unavailable"), Some(999)),
            Err(Miss::Since)
        );
        assert_eq!(
            f.check(&s(&["c-1"]), Some("Store.Unavailable"), None),
            Err(Miss::Since)
        );
    }

    #[test]
    fn only_an_exact_name_is_explicit() {
        let f = Filter::new(&[], &s(&["Fanout.*"]), None);
        assert!(!f.names_exactly("Fanout.MalformedEvent"));
        assert_eq!(f.check(&[], Some("Fanout.MalformedEvent"), None), Ok(()));
        let f = Filter::new(&[], &s(&["Fanout.MalformedEvent"]), None);
        assert!(f.names_exactly("Fanout.MalformedEvent"));
    }
}
