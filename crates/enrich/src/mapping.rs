//! From the analytics details of a conversation to the fields enrich writes ([`Enrichment`]).
//!
//! Precedence (docs/contracts.md): the details are the conversation's own view, so every field they
//! carry wins over what events said; a field the details lack is left to the events. Conversation-level
//! fields come from conversation-level data: `originatingDirection` from the conversation, `mediaType`
//! from the customer's session.

use gcx_core::contract::{Agent, Enrichment};

use gcx_genesys::ConversationDetails;

/// Participant purposes that are people of the organization: `agent` (a queue conversation) and `user`
/// (a user on a non-queue call).
const AGENT_PURPOSES: &[&str] = &["agent", "user"];

/// The enrichment for `details` (without the raw details; the caller adds them when asked to).
pub fn enrichment(details: &ConversationDetails) -> Enrichment {
    let mut agents: Vec<Agent> = Vec::new();
    let mut queue_ids = Vec::new();
    let mut wrap_up_codes = Vec::new();
    let mut customer_name = None;
    let mut customer_media = None;
    let mut any_media = None;
    for p in &details.participants {
        let purpose = p.purpose.as_deref().unwrap_or_default();
        if purpose == "customer" {
            if customer_name.is_none() {
                customer_name.clone_from(&p.participant_name);
            }
            if customer_media.is_none() {
                customer_media = p.sessions.iter().find_map(|s| s.media_type.clone());
            }
        }
        if AGENT_PURPOSES.contains(&purpose) {
            if let Some(user_id) = p.user_id.as_ref().filter(|u| !u.is_empty()) {
                match agents
                    .iter_mut()
                    .find(|a| a.user_id.as_ref() == Some(user_id))
                {
                    Some(known) => {
                        if known.name.is_none() {
                            known.name.clone_from(&p.participant_name);
                        }
                    }
                    None => agents.push(Agent {
                        user_id: Some(user_id.clone()),
                        name: p.participant_name.clone(),
                    }),
                }
            }
        }
        for s in &p.sessions {
            if any_media.is_none() {
                any_media.clone_from(&s.media_type);
            }
            for seg in &s.segments {
                push_unique(&mut queue_ids, seg.queue_id.as_ref());
                push_unique(&mut wrap_up_codes, seg.wrap_up_code.as_ref());
            }
        }
    }
    let mut division_ids = Vec::new();
    for d in &details.division_ids {
        push_unique(&mut division_ids, Some(d));
    }
    Enrichment {
        conversation_start: details.conversation_start.clone(),
        conversation_end: details.conversation_end.clone(),
        duration_ms: duration_ms(
            details.conversation_start.as_deref(),
            details.conversation_end.as_deref(),
        ),
        media_type: customer_media.or(any_media).map(|m| m.to_ascii_lowercase()),
        originating_direction: details
            .originating_direction
            .as_ref()
            .map(|d| d.to_ascii_lowercase()),
        division_ids,
        queue_ids,
        agents,
        customer_participant_name: customer_name,
        wrap_up_codes,
        raw_details: None,
    }
}

fn push_unique(list: &mut Vec<String>, value: Option<&String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        if !list.contains(v) {
            list.push(v.clone());
        }
    }
}

/// End minus start in milliseconds, when both are ISO-8601 and in order.
fn duration_ms(start: Option<&str>, end: Option<&str>) -> Option<i64> {
    let ms = |iso: &str| {
        let t = time::OffsetDateTime::parse(iso, &time::format_description::well_known::Rfc3339)
            .ok()?;
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
    };
    let d = ms(end?)? - ms(start?)?;
    (d >= 0).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(json: &str) -> ConversationDetails {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_real_analytics_sample() {
        let e = enrichment(&details(include_str!(
            "../../genesys/tests/fixtures/analytics_conversation_details_1.json"
        )));
        assert_eq!(
            e.conversation_start.as_deref(),
            Some("2021-04-01T12:27:53.386Z")
        );
        assert_eq!(e.duration_ms, Some(929_920));
        assert_eq!(e.media_type.as_deref(), Some("chat"));
        assert_eq!(e.originating_direction.as_deref(), Some("inbound"));
        assert_eq!(e.division_ids, ["1b6b98a6-3d70-47be-9406-61a5aa8cc570"]);
        assert_eq!(e.queue_ids, ["a623d83c-96d7-4baa-af1f-d46ad6700d8b"]);
        assert_eq!(e.customer_participant_name.as_deref(), Some("John Doe"));
        assert_eq!(e.agents.len(), 1);
        assert_eq!(
            e.agents[0].user_id.as_deref(),
            Some("50fcd33c-f432-4726-abc9-979f3ca01555")
        );
    }

    #[test]
    fn users_on_non_queue_calls_count_as_agents_and_the_customer_session_gives_the_media() {
        let e = enrichment(&details(
            r#"{"conversationId":"c","originatingDirection":"outbound","participants":[
                {"purpose":"user","userId":"u1","participantName":"Ann","sessions":[{"mediaType":"callback"}]},
                {"purpose":"agent","userId":"u2","participantName":"Bob","sessions":[]},
                {"purpose":"user","userId":"u1","participantName":"Ann again"},
                {"purpose":"agent","participantName":"no user id"},
                {"purpose":"customer","participantName":"Cy","sessions":[{"mediaType":"voice"}]}]}"#,
        ));
        let ids: Vec<_> = e
            .agents
            .iter()
            .map(|a| a.user_id.clone().unwrap())
            .collect();
        assert_eq!(ids, ["u1", "u2"]);
        assert_eq!(e.agents[0].name.as_deref(), Some("Ann"));
        assert_eq!(e.media_type.as_deref(), Some("voice"));
        assert_eq!(e.originating_direction.as_deref(), Some("outbound"));
    }

    fn fixture(name: &str) -> Enrichment {
        let path = format!(
            "{}/../genesys/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        enrichment(&details(&std::fs::read_to_string(path).unwrap()))
    }

    fn agents(e: &Enrichment) -> Vec<(&str, &str)> {
        e.agents
            .iter()
            .map(|a| {
                (
                    a.user_id.as_deref().unwrap_or_default(),
                    a.name.as_deref().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn a_user_on_a_non_queue_call_with_a_wrap_up() {
        let e = fixture("analytics_wrapup_user.json");
        assert_eq!(
            agents(&e),
            [("91f2e64f-adb9-4719-855e-366913c143a4", "Lena Berger")]
        );
        assert_eq!(e.wrap_up_codes, ["b48da8e5-b46a-4a4f-a0a9-c05d6bd2be2b"]);
        assert!(e.queue_ids.is_empty());
        assert_eq!(e.media_type.as_deref(), Some("voice"));
        assert_eq!(e.originating_direction.as_deref(), Some("outbound"));
        assert_eq!(e.customer_participant_name.as_deref(), Some("Ann Example"));
        assert_eq!(e.duration_ms, Some(278_784));
    }

    #[test]
    fn a_transfer_between_two_agents_keeps_both_in_order_with_their_queues_and_wrap_ups() {
        let e = fixture("analytics_transfer.json");
        assert_eq!(
            agents(&e),
            [
                ("37fecbf8-ce1f-46d0-80f2-4d854cdf06f2", "Eva Claes"),
                ("4cb9ad84-c362-4c30-a145-06208b5021d0", "Jonas Maes")
            ]
        );
        assert_eq!(
            e.queue_ids,
            [
                "e0d9f60b-abae-4648-a2b4-2c80f617209e",
                "365db64c-6175-4e2c-b9d6-25af01290464"
            ]
        );
        assert_eq!(
            e.wrap_up_codes,
            [
                "0e4531ee-317e-4098-b3d4-bdf8750ee208",
                "d9dc07a4-721a-408b-8aa4-5e3bd6ee8dac"
            ]
        );
        assert_eq!(e.media_type.as_deref(), Some("voice"));
        assert_eq!(e.originating_direction.as_deref(), Some("inbound"));
        assert_eq!(e.customer_participant_name.as_deref(), Some("Noor Peeters"));
        assert_eq!(e.duration_ms, Some(593_556));
    }

    #[test]
    fn a_live_callback_takes_the_media_of_the_customers_first_session() {
        let e = fixture("analytics_callback.json");
        assert_eq!(e.media_type.as_deref(), Some("callback"));
        assert_eq!(
            agents(&e),
            [("4b219b50-5bf0-45ac-8338-a7b1da5720a7", "Tom Willems")]
        );
        assert_eq!(e.queue_ids, ["60b786b0-e074-484c-ac21-2ac7af265e3c"]);
        assert!(e.wrap_up_codes.is_empty());
        assert_eq!(e.customer_participant_name.as_deref(), Some("Lea Jacobs"));
        assert_eq!(e.originating_direction.as_deref(), Some("outbound"));
        assert_eq!(e.conversation_end, None);
        assert_eq!(e.duration_ms, None);
    }

    #[test]
    fn details_with_missing_fields_still_map() {
        let e = enrichment(&details(
            r#"{"conversationId":"c","participants":null,"divisionIds":null,"conversationStart":"2021-04-01T12:27:53.386Z","extra":{"x":1}}"#,
        ));
        assert_eq!(e.duration_ms, None);
        assert!(e.agents.is_empty() && e.queue_ids.is_empty() && e.media_type.is_none());
    }
}
