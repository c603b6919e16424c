//! Typed views of the Genesys Cloud analytics payloads we read. Only the fields we use; unknown fields
//! are ignored and nulls are tolerated, so a new API field never breaks parsing.

use serde::{Deserialize, Deserializer};

fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `AnalyticsConversationWithoutAttributes`: `GET /api/v2/analytics/conversations/{id}/details`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetails {
    /// The conversation id.
    pub conversation_id: String,
    /// ISO-8601 start.
    #[serde(default)]
    pub conversation_start: Option<String>,
    /// ISO-8601 end; absent while the conversation is live.
    #[serde(default)]
    pub conversation_end: Option<String>,
    /// `inbound` or `outbound`.
    #[serde(default)]
    pub originating_direction: Option<String>,
    /// Divisions the conversation belongs to.
    #[serde(default, deserialize_with = "nullable_vec")]
    pub division_ids: Vec<String>,
    /// Everyone who took part.
    #[serde(default, deserialize_with = "nullable_vec")]
    pub participants: Vec<Participant>,
}

/// One participant of a conversation.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// The participant id.
    #[serde(default)]
    pub participant_id: Option<String>,
    /// Display name (PII for customers).
    #[serde(default)]
    pub participant_name: Option<String>,
    /// `customer`, `agent`, `acd`, `ivr`, `workflow`, ...
    #[serde(default)]
    pub purpose: Option<String>,
    /// The Genesys user id, for agents.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Media sessions.
    #[serde(default, deserialize_with = "nullable_vec")]
    pub sessions: Vec<Session>,
}

/// One media session of a participant.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Lowercase media type: `voice`, `chat`, `email`, `message`, ...
    #[serde(default)]
    pub media_type: Option<String>,
    /// `inbound` / `outbound`.
    #[serde(default)]
    pub direction: Option<String>,
    /// The calling address (voice), e.g. `tel:+3212345678` (PII: only ever hashed).
    #[serde(default)]
    pub ani: Option<String>,
    /// The called address (voice).
    #[serde(default)]
    pub dnis: Option<String>,
    /// Segments of the session.
    #[serde(default, deserialize_with = "nullable_vec")]
    pub segments: Vec<Segment>,
}

/// One segment of a session.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    /// `interact`, `hold`, `wrapup`, `alert`, ...
    #[serde(default)]
    pub segment_type: Option<String>,
    /// The queue this segment ran in.
    #[serde(default)]
    pub queue_id: Option<String>,
    /// The wrap-up code id, on `wrapup` segments.
    #[serde(default)]
    pub wrap_up_code: Option<String>,
}

/// `AnalyticsConversationWithoutAttributesMultiGetResponse`:
/// `GET /api/v2/analytics/conversations/details?id=a,b,c`. Conversations not indexed yet are absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MultiGet {
    /// The conversations the answer holds, each parsed on its own, with its raw JSON.
    pub conversations: Vec<(ConversationDetails, serde_json::Value)>,
    /// Elements that were not a conversation (kept apart so one bad element costs only itself).
    pub unreadable: Vec<String>,
}

impl MultiGet {
    /// Parses the answer; a body that is not `{"conversations": [...]}` is an error, a bad element is not.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| format!("the multi-get answer is not JSON ({e})"))?;
        let elements = match value {
            serde_json::Value::Object(mut o) => match o.remove("conversations") {
                Some(serde_json::Value::Array(items)) => items,
                None | Some(serde_json::Value::Null) => Vec::new(),
                Some(_) => {
                    return Err("the multi-get answer's conversations is not an array".into())
                }
            },
            _ => return Err("the multi-get answer is not a JSON object".into()),
        };
        let mut out = Self::default();
        for element in elements {
            match ConversationDetails::deserialize(&element) {
                Ok(details) => out.conversations.push((details, element)),
                Err(e) => out.unreadable.push(e.to_string()),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_element_costs_only_itself() {
        let m = MultiGet::parse(br#"{"conversations":[{"conversationId":"a"},{"conversationId":5},{"conversationId":"b","participants":null}]}"#).unwrap();
        let ids: Vec<&str> = m
            .conversations
            .iter()
            .map(|(c, _)| c.conversation_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(m.unreadable.len(), 1);
        assert_eq!(MultiGet::parse(b"{}").unwrap(), MultiGet::default());
        assert!(MultiGet::parse(b"[]").is_err());
    }
}
