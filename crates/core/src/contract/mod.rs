//! The contract between the parts of the pipeline: what fanout starts, what each Task of the state
//! machine takes and answers, what save queues for enrich, and the dead-letter message. docs/contracts.md
//! describes the same types; the code, the state machine and the tests follow them.
//!
//! [`check`] is the one place that decides whether an execution input (or one event of it) is valid:
//! validate answers from it, process and save read through it, fanout builds through [`PipelineEvent`].
//! Nothing here calls anything, and nothing here knows Genesys's API.

pub mod budget;
mod dead_letter;
mod enrichment;
mod input;
mod naming;
mod record;
mod task;

pub use dead_letter::*;
pub use enrichment::*;
pub use input::*;
pub use naming::*;
pub use record::*;
pub use task::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DetailTopic;
    use crate::names::StableName;
    use serde_json::{json, Value};

    fn good() -> Value {
        json!({
            "conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
            "eventId": "adbcfa5b-0116-4baa-b66b-a3f5902e95bf",
            "eventType": "v2.detail.events.conversation.{id}.customer.end",
            "eventTime": 1_649_237_444_949_i64,
            "correlationId": "x",
            "detail": {"eventBody": {"conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6"}}
        })
    }

    #[test]
    fn a_conversation_event_is_valid_and_round_trips() {
        let e = check_event(&good(), "$.events[0]").unwrap();
        assert_eq!(e.topic(), Some(DetailTopic::CustomerEnd));
        assert_eq!(serde_json::to_value(&e).unwrap(), good());
        let input = check(&json!({"events": [good(), good()]})).unwrap();
        assert_eq!(input.events.len(), 2);
    }

    #[test]
    fn each_rule_names_its_path() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("conversationId", json!("not-a-uuid"), "$.events[0].conversationId: is not a UUID"),
            ("conversationId", json!("1bc96a39672540c49345db72aa67b8c6"), "$.events[0].conversationId: is not a UUID"),
            ("conversationId", json!(5), "$.events[0].conversationId: must be a string, got a number"),
            ("eventType", json!("v2.audits.entitytype.{id}.entityid.{id}"), "$.events[0].eventType: not a conversation detail event"),
            ("eventType", json!(null), "$.events[0].eventType: must be a string, got null"),
            ("eventTime", json!(null), "$.events[0].eventTime: is missing"),
            ("eventTime", json!("2022-04-06T09:30:45Z"), "$.events[0].eventTime: must be a positive integer of epoch milliseconds, got a string"),
            ("eventTime", json!(-5), "$.events[0].eventTime: must be a positive integer"),
            ("eventId", json!(""), "$.events[0].eventId: must be 1 to 256 characters"),
            ("correlationId", json!(3), "$.events[0].correlationId: must be a string or null"),
            ("detail", json!("x"), "$.events[0].detail: must be an object, got a string"),
            ("detail", json!({}), "$.events[0].detail.eventBody: is missing"),
            ("detail", json!({"eventBody": {"conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c7"}}), "$.events[0].detail.eventBody.conversationId: differs from conversationId"),
        ];
        for (field, value, want) in cases {
            let mut input = good();
            input[field] = value;
            let why = check_event(&input, "$.events[0]").unwrap_err().to_string();
            assert!(
                why.starts_with(want),
                "{field}: {why:?} does not start with {want:?}"
            );
        }
        let mut no_detail = good();
        no_detail.as_object_mut().unwrap().remove("detail");
        assert_eq!(
            check_event(&no_detail, "$.events[1]")
                .unwrap_err()
                .to_string(),
            "$.events[1].detail: is missing"
        );
        assert_eq!(
            check(&json!([1])).unwrap_err().to_string(),
            "$: must be an object with an events array, got an array"
        );
        assert_eq!(
            check(&json!({})).unwrap_err().to_string(),
            "$.events: is missing"
        );
        assert_eq!(
            check(&json!({"events": [good(), 3]}))
                .unwrap_err()
                .to_string(),
            "$.events[1]: must be an object, got a number"
        );
    }

    #[test]
    fn task_inputs_and_dead_letters() {
        let task = TaskInput::parse(
            json!({"batch": {"events": [good()], "deadLetters": []}, "executionId": "arn:x"}),
        )
        .unwrap();
        assert_eq!(task.execution_id.as_deref(), Some("arn:x"));
        let validated: Validated = task.batch().unwrap();
        assert_eq!(validated.events.len(), 1);
        let e = TaskInput::parse(json!({"events": []})).unwrap_err();
        assert_eq!(e.name(), "Pipeline.InvalidInput");
        let wrong: Result<Processed, _> = TaskInput::parse(json!({"batch": {"events": []}}))
            .unwrap()
            .batch();
        assert!(wrong
            .unwrap_err()
            .to_string()
            .starts_with("$.batch: is not the previous stage's answer"));

        let event = check_event(&good(), "$").unwrap();
        let rejection = ContractError::InvalidInput(Rejection {
            path: "$".into(),
            problem: "x".into(),
        });
        let letter = DeadLetter::for_event(&event, &rejection, Stage::Process, Some("arn:x"));
        let json = serde_json::to_value(&letter).unwrap();
        for field in [
            "eventId",
            "conversationId",
            "eventType",
            "correlationId",
            "error",
            "cause",
            "stage",
            "executionId",
            "input",
        ] {
            assert!(json.get(field).is_some(), "{field} missing from {json}");
        }
        assert_eq!(json["error"], "Pipeline.InvalidInput");
        assert_eq!(json["stage"], "process");
        assert_eq!(check(&json["input"]).unwrap().events, vec![event]);
        let raw = DeadLetter::for_raw(&json!("junk"), 0, &rejection, Stage::Validate, None);
        assert_eq!(
            (raw.event_id.as_str(), raw.input.clone()),
            ("", json!({"events": ["junk"]}))
        );
    }
}

#[cfg(test)]
mod accounting {
    use super::*;
    use serde_json::{json, Value};

    fn element(id: &str) -> Value {
        json!({
            "conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
            "eventId": id,
            "eventType": "v2.detail.events.conversation.{id}.acw",
            "eventTime": 5,
            "correlationId": null,
            "detail": {"eventBody": {}}
        })
    }

    /// validate's answer for `ids` (the last one invalid), with the manifest of the input.
    fn validated(ids: &[&str]) -> Validated {
        let input = json!({"events": ids.iter().map(|i| element(i)).collect::<Vec<_>>()});
        let mut out = Validated {
            manifest: Some(Manifest::of_input(&input)),
            ..Validated::default()
        };
        for (i, raw) in input["events"].as_array().unwrap().iter().enumerate() {
            if i + 1 == ids.len() {
                let why = ContractError::InvalidInput(Rejection {
                    path: "$".into(),
                    problem: "x".into(),
                });
                out.dead_letters.push(DeadLetter::for_raw(
                    raw,
                    i,
                    &why,
                    Stage::Validate,
                    Some("arn:e"),
                ));
            } else {
                out.events.push(check_event(raw, "$").unwrap());
            }
        }
        out
    }

    #[test]
    fn an_answer_that_drops_adds_or_garbles_an_event_is_refused() {
        let whole = validated(&["a", "b", "c"]);
        assert_eq!(whole.check(None), Ok(()));

        let mut dropped = whole.clone();
        dropped.dead_letters.clear();
        let why = dropped.check(None).unwrap_err().to_string();
        assert!(
            why.contains("validate's answer accounts for 2 events"),
            "{why}"
        );
        assert!(why.contains("handed 3"), "{why}");

        let mut added = whole.clone();
        added.events.push(added.events[0].clone());
        assert!(added.check(None).is_err());

        let mut garbled = whole;
        garbled.events[1].event_id = "z".into();
        let why = garbled.check(None).unwrap_err().to_string();
        assert!(why.contains("not the same ones"), "{why}");
    }

    #[test]
    fn without_a_manifest_fanouts_name_still_tells() {
        let mut answer = validated(&["a", "b", "c"]);
        answer.manifest = None;
        let name = batch_name(&["a", "b", "c"]);
        let arn = format!("arn:aws:states:us-east-1:1:execution:m:{name}");
        assert_eq!(answer.check(Some(&arn)), Ok(()));
        answer.dead_letters.clear();
        assert!(answer.check(Some(&arn)).is_err());
        // Other names say nothing.
        assert_eq!(
            answer.check(Some("arn:aws:states:us-east-1:1:execution:m:mine")),
            Ok(())
        );
    }

    #[test]
    fn processs_answer_must_pair_records_with_events() {
        let v = validated(&["a", "b", "c"]);
        let record = |e: &PipelineEvent| ConversationRecord {
            conversation_id: e.conversation_id.clone(),
            last_event_type: e.event_type.clone(),
            last_event_time: e.event_time,
            last_event_id: e.event_id.clone(),
            ..ConversationRecord::default()
        };
        let whole = Processed {
            records: v.events.iter().map(record).collect(),
            enrich: vec![EnrichmentRequest::for_event(&v.events[0], None, 1)],
            events: v.events.clone(),
            dead_letters: v.dead_letters.clone(),
            manifest: v.manifest.clone(),
        };
        assert_eq!(whole.check(None), Ok(()));

        let mut one_fewer = whole.clone();
        one_fewer.events.pop();
        one_fewer.records.pop();
        let why = one_fewer.check(None).unwrap_err().to_string();
        assert!(
            why.starts_with("$.batch: process's answer accounts for 2 events"),
            "{why}"
        );

        let mut swapped = whole.clone();
        swapped.records.swap(0, 1);
        assert!(swapped
            .check(None)
            .unwrap_err()
            .to_string()
            .contains("not of the event"));

        let mut stray = whole;
        stray.enrich[0].event_id = "c".into();
        assert!(stray
            .check(None)
            .unwrap_err()
            .to_string()
            .contains("not one of its events"));
    }

    #[test]
    fn dead_letter_ids_are_deterministic_per_execution_stage_and_event() {
        let v = validated(&["a", "b", "c"]);
        let again = validated(&["a", "b", "c"]);
        assert_eq!(
            v.dead_letters[0].dead_letter_id,
            again.dead_letters[0].dead_letter_id
        );
        assert_eq!(
            v.dead_letters[0].dead_letter_id,
            dead_letter_id(Some("arn:e"), Stage::Validate, "c")
        );
        assert_ne!(
            dead_letter_id(Some("arn:e"), Stage::Validate, "c"),
            dead_letter_id(Some("arn:e"), Stage::Save, "c")
        );
        // What the state machine computes, States.Hash(States.Format('{}|{}|#{}', $$.Execution.Id,
        // stage, index), 'SHA-256'), for the element at index 3 (hashlib.sha256(b"arn:e|save|#3")).
        assert_eq!(
            dead_letter_id(Some("arn:e"), Stage::Save, &event_key(None, 3)),
            "0b2fd1750c38e3937476fa5cd5dff48262757d6db9943d38eccc99ea4f6f9a19"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any JSON either checks (and then serializes back to something that checks the same) or is
        /// rejected with a path into the input.
        #[test]
        fn any_event_checks_or_names_a_path(v in test_support::arb::json_with_keys(&[
            "conversationId", "eventId", "eventType", "eventTime", "correlationId", "detail", "eventBody",
        ])) {
            match check_event(&v, "$.events[0]") {
                Ok(e) => {
                    let again = check_event(&serde_json::to_value(&e).unwrap(), "$.events[0]").unwrap();
                    prop_assert_eq!(again, e);
                }
                Err(r) => prop_assert!(r.path.starts_with("$.events[0]") && !r.problem.is_empty()),
            }
        }
    }
}
