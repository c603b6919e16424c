//! What each Task of the state machine takes and answers.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::dead_letter::hex;
use super::{
    batch_name, events_of, is_batch_name, name_of, ConversationRecord, DeadLetter,
    EnrichmentRequest, PipelineEvent, Rejection,
};
use crate::events::kind;

/// The failure every stage reports when the state it was handed breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// The batch, or one event of it, is not the documented shape.
    #[error("{0}")]
    InvalidInput(Rejection),
}
crate::stable_names!(ContractError {
    InvalidInput(..) => "Pipeline.InvalidInput",
});

/// What a Task receives: the state machine passes `{"batch.$": "$", "executionId.$": "$$.Execution.Id"}`,
/// so the whole state arrives under `batch` whatever its shape (a missing field cannot break the
/// state machine itself), with the execution's id for the dead letters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInput {
    /// The state: the execution input for validate, the previous Task's answer for the others.
    #[serde(default)]
    pub batch: Value,
    /// `$$.Execution.Id`.
    #[serde(default)]
    pub execution_id: Option<String>,
}

impl TaskInput {
    /// Reads a Task's input; anything else is [`ContractError::InvalidInput`].
    pub fn parse(event: Value) -> Result<Self, ContractError> {
        match event {
            Value::Object(ref o) if o.contains_key("batch") => serde_json::from_value(event)
                .map_err(|e| invalid("$", format!("is not a Task input: {e}"))),
            other => Err(invalid(
                "$",
                format!(
                    "must be {{\"batch\": ..., \"executionId\": ...}} (the state machine's Parameters), got {}",
                    kind(&other)
                ),
            )),
        }
    }

    /// The batch read as `T`; a mismatch is [`ContractError::InvalidInput`] naming the path.
    pub fn batch<T: serde::de::DeserializeOwned>(&self) -> Result<T, ContractError> {
        T::deserialize(&self.batch).map_err(|e| {
            invalid(
                "$.batch",
                format!("is not the previous stage's answer: {e}"),
            )
        })
    }
}

fn invalid(path: &str, problem: String) -> ContractError {
    ContractError::InvalidInput(Rejection {
        path: path.to_owned(),
        problem,
    })
}

/// Which elements an execution was handed: how many, and a digest of their ids. validate writes it from
/// the execution input; process and save check that the answer they are handed still accounts for every
/// one of them (as a valid event or a dead letter), and carry it on. So a stage that drops, adds or
/// garbles events fails the batch instead of losing them silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Elements handed in (a whole input that is not a batch counts as one).
    pub events: usize,
    /// Lowercase hex SHA-256 of the elements' `eventId`s ("" for an element without one), sorted, each
    /// followed by a line feed.
    pub digest: String,
}

impl Manifest {
    /// The manifest of these ids (any order).
    pub fn of_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let mut ids: Vec<&str> = ids.into_iter().collect();
        ids.sort_unstable();
        let mut hash = Sha256::new();
        for id in &ids {
            hash.update(id.as_bytes());
            hash.update(b"\n");
        }
        Self {
            events: ids.len(),
            digest: hex(&hash.finalize()),
        }
    }

    /// The manifest of an execution input: its elements' `eventId`s, or one element for an input that is
    /// not a batch.
    pub fn of_input(input: &Value) -> Self {
        match events_of(input) {
            Ok(elements) => Self::of_ids(
                elements
                    .iter()
                    .map(|e| e.get("eventId").and_then(Value::as_str).unwrap_or_default()),
            ),
            Err(_) => Self::of_ids([""]),
        }
    }

    /// Whether `ids` (the events and dead letters of an answer) are exactly the elements handed in.
    fn accounts_for<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
        let answered = Self::of_ids(ids);
        if answered == *self {
            return Ok(());
        }
        Err(if answered.events == self.events {
            format!(
                "accounts for {} events, as many as the batch was handed, but not the same ones",
                answered.events
            )
        } else {
            format!(
                "accounts for {} events (valid ones and dead letters), but the batch was handed {}",
                answered.events, self.events
            )
        })
    }
}

/// Checks that an answer without a manifest (an earlier version's, or a hand-made one) accounts for the
/// events of an execution fanout named: its name is derived from exactly those ids. Other names say
/// nothing, and pass.
fn accounts_for_name<'a>(
    execution_id: Option<&str>,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    let Some(name) = execution_id.map(name_of) else {
        return Ok(());
    };
    let mut ids: Vec<&str> = ids.into_iter().collect();
    ids.sort_unstable();
    if batch_name(&ids) == name || !is_batch_name(name) {
        return Ok(());
    }
    Err(format!(
        "accounts for {} events, not the ones the execution {name} was started with",
        ids.len()
    ))
}

/// validate's answer, and process's batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validated {
    /// The events that may be processed.
    pub events: Vec<PipelineEvent>,
    /// The events that may not, each with its reason. Required: an answer without it is not validate's.
    pub dead_letters: Vec<DeadLetter>,
    /// The elements validate was handed (absent in answers of versions before 0.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
}

/// Checks that the answer of `stage`, whose events and dead letters have the ids `ids`, accounts for every
/// element the execution was handed: by its manifest, or, without one, by the name fanout gave the
/// execution. The rejection names the stage, at `$.batch`.
pub fn check_accounts<'a>(
    stage: &str,
    manifest: Option<&Manifest>,
    execution_id: Option<&str>,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), Rejection> {
    match manifest {
        Some(m) => m.accounts_for(ids),
        None => accounts_for_name(execution_id, ids),
    }
    .map_err(|problem| Rejection {
        path: "$.batch".into(),
        problem: format!("{stage}'s answer {problem}"),
    })
}

impl Validated {
    /// Checks that this answer accounts for every element validate was handed ([`check_accounts`]).
    pub fn check(&self, execution_id: Option<&str>) -> Result<(), Rejection> {
        let ids = self
            .events
            .iter()
            .map(|e| e.event_id.as_str())
            .chain(self.dead_letters.iter().map(|d| d.event_id.as_str()));
        check_accounts("validate", self.manifest.as_ref(), execution_id, ids)
    }
}

/// The `CorrelationId`s of a batch's events, then of its dead letters, in order (missing ones as `None`):
/// what validate, process and save give `Invocation::correlate`.
fn batch_correlation_ids<'a>(
    events: &'a [PipelineEvent],
    dead_letters: &'a [DeadLetter],
) -> impl Iterator<Item = Option<&'a str>> + 'a {
    let events = events.iter().map(|e| e.correlation_id.as_deref());
    events.chain(dead_letters.iter().map(|d| d.correlation_id.as_deref()))
}

impl Validated {
    /// The correlation ids of its events, then of its dead letters (for the invocation's log line).
    pub fn correlation_ids(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        batch_correlation_ids(&self.events, &self.dead_letters)
    }
}

impl Processed {
    /// The correlation ids of its events, then of its dead letters (for the invocation's log line).
    pub fn correlation_ids(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        batch_correlation_ids(&self.events, &self.dead_letters)
    }
}

/// process's answer, and save's batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Processed {
    /// The events, carried on so that save can dead-letter one with its full input.
    pub events: Vec<PipelineEvent>,
    /// One record per event (same order), to write.
    pub records: Vec<ConversationRecord>,
    /// The events whose conversations the analytics API should enrich.
    pub enrich: Vec<EnrichmentRequest>,
    /// Dead letters so far (validate's and process's).
    pub dead_letters: Vec<DeadLetter>,
    /// The elements validate was handed, carried on (absent in answers of versions before 0.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
}

impl Processed {
    /// Checks that this answer is whole: one record per event, in order and of that event; enrichment
    /// requests only for its events; and every element validate was handed accounted for (by the manifest,
    /// or the execution's name). The rejection names process.
    pub fn check(&self, execution_id: Option<&str>) -> Result<(), Rejection> {
        let reject = |problem: String| Rejection {
            path: "$.batch".into(),
            problem: format!("process's answer {problem}"),
        };
        if self.records.len() != self.events.len() {
            return Err(reject(format!(
                "has {} records for {} events",
                self.records.len(),
                self.events.len()
            )));
        }
        if let Some(i) = self.events.iter().zip(&self.records).position(|(e, r)| {
            r.last_event_id != e.event_id || r.conversation_id != e.conversation_id
        }) {
            return Err(reject(format!(
                "has a record at {i} that is not of the event at {i}"
            )));
        }
        let ids: HashSet<&str> = self.events.iter().map(|e| e.event_id.as_str()).collect();
        if let Some(r) = self
            .enrich
            .iter()
            .find(|r| !ids.contains(r.event_id.as_str()))
        {
            return Err(reject(format!(
                "asks to enrich event {}, which is not one of its events",
                r.event_id
            )));
        }
        let ids = self
            .events
            .iter()
            .map(|e| e.event_id.as_str())
            .chain(self.dead_letters.iter().map(|d| d.event_id.as_str()));
        check_accounts("process", self.manifest.as_ref(), execution_id, ids)
    }
}

/// What became of one event at save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SaveOutcome {
    /// Written: the newest event of its conversation so far.
    Stored,
    /// Not written: the table holds a newer event of the conversation (an older event arrived late).
    Stale,
    /// Not written: the table already holds this very event (a redelivery).
    Duplicate,
    /// Given up on; its dead letter is in the pipeline dead-letter queue.
    DeadLettered,
}

/// One event's fate, in save's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventOutcome {
    /// The EventBridge event id.
    pub event_id: String,
    /// What happened to it.
    pub outcome: SaveOutcome,
}

/// save's answer: the execution's output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    /// Records written.
    pub stored: usize,
    /// Records not written because a newer event is stored.
    pub stale: usize,
    /// Records not written because the same event is stored.
    pub duplicate: usize,
    /// Dead letters sent (validate's, process's and save's).
    pub dead_lettered: usize,
    /// Enrichment requests queued.
    pub enrichment_queued: usize,
    /// Every event of the batch, with its fate.
    pub events: Vec<EventOutcome>,
}
