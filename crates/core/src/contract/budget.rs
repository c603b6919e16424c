//! The payload budget: how big each state of an execution can grow, known before the execution starts.
//!
//! Step Functions fails a state whose input or output is over 256 KiB with `States.DataLimitExceeded`, which
//! no `Catch` can catch: the batch would be stranded in the execution history (STANDARD) or lost (EXPRESS),
//! with no dead letter. So fanout sizes every execution by the largest state it can reach, not by its input:
//! validate answers the events again (or a dead letter per invalid one), process answers them with a record
//! and an enrichment request each, and each Task input wraps the state with the execution id. What an element
//! adds to each state is computed here from the element itself, exactly where the shape is fixed and as an
//! upper bound where it depends on what the stage reads (the record, [`record_bound`]).
//!
//! [`STATE_BUDGET`] is 200 KiB: 56 KiB below the quota for what no estimate here sees.

use serde::Serialize;

use crate::events::DetailTopic;

use super::{
    check_event, Agent, ContractError, ConversationRecord, DeadLetter, EnrichmentRequest,
    PipelineEvent, Stage,
};

/// Step Functions' quota for a state's input or output, and for an execution input (UTF-8 bytes of the JSON).
pub const STATE_QUOTA: usize = 256 * 1024;

/// The most any state of an execution may reach: the quota less 56 KiB of headroom.
pub const STATE_BUDGET: usize = 200 * 1024;

/// What a failed stage's `Error` and `Cause` can add to the state that dead-letters the batch (`{stage, error,
/// cause, input}`): the functions cut their messages to [`crate::names::MAX_ERROR_MESSAGE_CHARS`] (up to 4
/// bytes a character, escaped once more inside the cause's JSON); AWS's own causes (timeouts, service
/// errors) are a line.
pub const FAILURE_ALLOWANCE: usize = 8 * 1024 + 4 * crate::names::MAX_ERROR_MESSAGE_CHARS;

/// The longest text in a record's field taken from the event body: `customerKey` is 64 hex characters.
const CUSTOMER_KEY_CHARS: usize = 64;

/// The longest execution id of a state machine: its ARN with `execution` for `stateMachine`, then `:` and a
/// name of at most 80 characters (an EXPRESS run's id says `express` and ends with `:` and a 36-character
/// UUID: 37 more at most).
pub fn execution_id_bound(state_machine_arn: &str) -> usize {
    state_machine_arn.len() + 1 + super::MAX_EXECUTION_NAME + 37
}

/// The bytes one element adds, at most, to each state that grows with the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementCost {
    /// To the execution input (its JSON and a comma).
    pub input: usize,
    /// To validate's answer: the event again, or its dead letter.
    pub validated: usize,
    /// To process's answer: the event, its record and its enrichment request, or its dead letter.
    pub processed: usize,
}

fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX / 4, |v| v.len())
}

/// An upper bound of the JSON size of the record process builds from `event`, whatever its customer key:
/// the record with every field present, plus the text of the event-body fields a record takes
/// ([`super::body::ALL`]; lowercasing keeps lengths).
pub fn record_bound(event: &PipelineEvent) -> usize {
    // Every field listed today; the update keeps a field added later compiling without a change here.
    #[allow(clippy::needless_update)]
    let template = ConversationRecord {
        conversation_id: event.conversation_id.clone(),
        media_type: Some(String::new()),
        originating_direction: Some(String::new()),
        division_ids: vec![String::new()],
        queue_ids: vec![String::new()],
        agents: vec![Agent {
            user_id: Some(String::new()),
            name: None,
        }],
        wrap_up_codes: vec![String::new()],
        last_event_type: event.event_type.clone(),
        last_event_time: event.event_time,
        last_event_id: event.event_id.clone(),
        correlation_id: event.correlation_id.clone(),
        // Only an event whose body names an address (`ani`, `dnis`) can give a customer key.
        customer_key: names_an_address(event).then(|| "0".repeat(CUSTOMER_KEY_CHARS)),
        customer_contact_at: names_an_address(event).then_some(event.event_time),
        // A field added later is `null` here (4 bytes), at least its quotes (2) when set; its text is counted
        // below when its body field is in `body::ALL`.
        ..ConversationRecord::default()
    };
    let taken: usize = event
        .body()
        .map(|body| {
            super::body::ALL
                .iter()
                .filter_map(|field| body.get(*field).and_then(|v| v.as_str()))
                .map(|s| json_len(s) - 2)
                .sum()
        })
        .unwrap_or_default();
    json_len(&template) + taken
}

fn names_an_address(event: &PipelineEvent) -> bool {
    event.body().is_some_and(|b| {
        ["ani", "dnis"]
            .iter()
            .any(|k| b.get(*k).is_some_and(serde_json::Value::is_string))
    })
}

/// What `element` (at any index of a batch) adds, at most, to each state of an execution whose id is at
/// most `execution_id_len` characters long. `enriched` says whether process asks an enrichment for an event of
/// this topic (`ENRICH_TOPICS`); `None` counts every event as enriched.
pub fn element_cost(
    element: &PipelineEvent,
    execution_id_len: usize,
    enriched: Option<&[DetailTopic]>,
) -> ElementCost {
    let raw = serde_json::to_value(element).unwrap_or_default();
    let input = json_len(&raw) + 1;
    let execution_id = "x".repeat(execution_id_len);
    match check_event(&raw, "$.events[99999]") {
        Ok(event) => {
            let asks = match (enriched, event.topic()) {
                (Some(topics), Some(topic)) => topics.contains(&topic),
                _ => true,
            };
            let request = if asks {
                json_len(&EnrichmentRequest::for_event(
                    &event,
                    Some(&execution_id),
                    i64::MAX,
                )) + 1
            } else {
                0
            };
            ElementCost {
                input,
                validated: input,
                processed: input + record_bound(&event) + 1 + request,
            }
        }
        Err(rejection) => {
            // A dead letter carries the element, its ids and the rejection. validate's error name
            // (`Event.Invalid`) is shorter than the contract's, so this is an upper bound.
            let letter = DeadLetter::for_raw(
                &raw,
                99_999,
                &ContractError::InvalidInput(rejection),
                Stage::Validate,
                Some(&execution_id),
            );
            let letter = json_len(&letter) + 1;
            ElementCost {
                input,
                validated: letter,
                processed: letter,
            }
        }
    }
}

/// The running size of every state of one execution, as elements are added.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: usize,
    execution_id_len: usize,
    enriched: Option<Vec<DetailTopic>>,
    events: usize,
    input: usize,
    validated: usize,
    processed: usize,
}

/// `{"events":[]}`.
const INPUT_FIXED: usize = 13;
/// validate's answer without its elements: the keys, the brackets and a manifest.
const VALIDATED_FIXED: usize = 160;
/// process's answer without its elements.
const PROCESSED_FIXED: usize = 200;
/// A Task input's wrapper around the state, without the execution id: `{"batch":…,"executionId":"…"}`.
const TASK_WRAPPER: usize = 32;

impl Budget {
    /// An empty execution whose states may reach `limit` bytes (at most [`STATE_BUDGET`]), counting every event
    /// as enriched.
    pub fn new(limit: usize, execution_id_len: usize) -> Self {
        Self {
            limit: limit.min(STATE_BUDGET),
            execution_id_len,
            enriched: None,
            events: 0,
            input: INPUT_FIXED,
            validated: VALIDATED_FIXED,
            processed: PROCESSED_FIXED,
        }
    }

    /// The same budget, knowing that process asks an enrichment only for the events of `topics` (its
    /// `ENRICH_TOPICS`): the others cost no request. If process were set otherwise, the 56 KiB of headroom covers
    /// a request (about 450 bytes) for each of more than 120 events.
    pub fn enriching(mut self, topics: &[DetailTopic]) -> Self {
        self.enriched = Some(topics.to_vec());
        self
    }

    /// What `element` would add.
    pub fn cost(&self, element: &PipelineEvent) -> ElementCost {
        element_cost(element, self.execution_id_len, self.enriched.as_deref())
    }

    /// The largest state the execution reaches with its elements so far, and `extra` more.
    pub fn largest_with(&self, extra: &ElementCost) -> usize {
        let wrap = TASK_WRAPPER + self.execution_id_len;
        let input = self.input + extra.input;
        [
            input + wrap.max(FAILURE_ALLOWANCE),
            self.validated + extra.validated + wrap,
            self.processed + extra.processed + wrap,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    /// The largest state the execution reaches with its elements so far.
    pub fn largest(&self) -> usize {
        self.largest_with(&ElementCost {
            input: 0,
            validated: 0,
            processed: 0,
        })
    }

    /// Whether one more element of `cost` keeps every state within the limit.
    pub fn fits(&self, cost: &ElementCost) -> bool {
        self.largest_with(cost) <= self.limit
    }

    /// Adds an element.
    pub fn add(&mut self, cost: &ElementCost) {
        self.events += 1;
        self.input += cost.input;
        self.validated += cost.validated;
        self.processed += cost.processed;
    }

    /// Elements added.
    pub fn events(&self) -> usize {
        self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(topic: &str, pad: usize) -> PipelineEvent {
        PipelineEvent {
            conversation_id: "1bc96a39-6725-40c4-9345-db72aa67b8c6".into(),
            event_id: "adbcfa5b-0116-4baa-b66b-a3f5902e95bf".into(),
            event_type: format!("v2.detail.events.conversation.{{id}}.{topic}"),
            event_time: 1_649_237_444_949,
            correlation_id: Some("fe8a8579-2d5f-4c1f-8f6f-3a1c0b9a2d11".into()),
            detail: json!({"eventBody": {
                "conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
                "mediaType": "VOICE", "direction": "INBOUND", "userId": "u".repeat(pad),
                "queueId": "q1", "divisionId": "d1", "wrapupCode": "w1", "ani": "tel:+3212345678",
                "unrelated": "z".repeat(pad * 2)
            }}),
        }
    }

    #[test]
    fn the_record_bound_counts_only_the_fields_a_record_takes() {
        let small = record_bound(&event("acw", 10));
        let big = record_bound(&event("acw", 1000));
        // userId counts; "unrelated" does not.
        assert_eq!(big - small, 1000 - 10);
    }

    #[test]
    fn an_invalid_element_costs_its_dead_letter() {
        let mut bad = event("acw", 10);
        bad.conversation_id = "not-a-uuid".into();
        let cost = element_cost(&bad, 200, None);
        assert_eq!(cost.validated, cost.processed);
        assert!(cost.validated > cost.input + 200, "{cost:?}");
        let good = element_cost(&event("acw", 10), 200, None);
        assert!(good.processed > 2 * good.input, "{good:?}");
        // An event of a topic process does not enrich costs no request.
        let plain = element_cost(&event("acw", 10), 200, Some(&[DetailTopic::CustomerEnd]));
        assert!(good.processed - plain.processed > 300, "{good:?} {plain:?}");
        assert_eq!(
            element_cost(&event("acw", 10), 200, Some(&[DetailTopic::Acw])),
            good
        );
    }

    #[test]
    fn the_budget_stops_at_the_limit_and_never_above_the_budget() {
        let mut budget = Budget::new(1 << 30, 200);
        assert_eq!(budget.limit, STATE_BUDGET);
        let cost = budget.cost(&event("acw", 10));
        while budget.fits(&cost) {
            budget.add(&cost);
        }
        assert!(budget.largest() <= STATE_BUDGET);
        assert!(budget.largest_with(&cost) > STATE_BUDGET);
        assert!(budget.events() > 40, "{}", budget.events());
    }
}
