//! save: the last Task of the state machine. For each record of the batch it makes one conditional
//! `UpdateItem` (newest event wins, [`write`]), then queues the enrichment requests and sends every dead
//! letter of the batch (validate's, process's and its own) to the pipeline dead-letter queue.
//!
//! A stale or repeated event is an answer (`stale`, `duplicate`), not an error: at-least-once delivery
//! produces them. A write DynamoDB refuses for this one item is that event's dead letter
//! (`Store.Rejected`); throttling that outlives the SDK's retries, or a refusal that every write would get
//! (missing table, access denied), fails the batch for the state machine to retry or dead-letter whole.
//! Writes are conditional, so a retried batch writes nothing twice.

pub mod settings;
pub mod write;

pub use settings::{Settings, SETTINGS};

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};
use gcx_core::config::{ConfigError, Env};
use gcx_core::contract::{
    ContractError, ConversationRecord, DeadLetter, EnrichmentMessage, EventOutcome, Processed,
    SaveOutcome, Saved, Stage, TaskInput,
};
use gcx_core::lambda::{Function, Invocation, Outcome};
use gcx_core::metrics::Unit;
use gcx_core::queue::{self, Outgoing, SendError};
use serde_json::{Map, Value};

use crate::write::{WriteError, Written};

/// Why save failed as a whole; the Lambda `errorType` is the stable name.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Throttling or a transient DynamoDB failure that outlived the SDK's retries. Retried by the state
    /// machine; the writes that did succeed are no-ops the second time.
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    /// DynamoDB refuses every write (missing table, access denied): the whole batch is dead-lettered.
    #[error("DynamoDB rejected the writes: {0}")]
    Rejected(String),
    /// An enrichment request or a dead letter could not be queued. Retried by the state machine.
    #[error("{0}")]
    QueueUnavailable(SendError),
    /// The state is not process's answer.
    #[error(transparent)]
    Contract(#[from] ContractError),
}
gcx_core::stable_names!(SaveError {
    Unavailable(..) => "Store.Unavailable",
    Rejected(..) => "Store.Rejected",
    QueueUnavailable(..) => "Queue.Unavailable";
    Contract(ContractError),
});

/// Why one event was dead-lettered at save.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RecordFailure {
    /// DynamoDB refused this item (too large, invalid).
    #[error("DynamoDB rejected the item: {0}")]
    Rejected(String),
}
gcx_core::stable_names!(RecordFailure { Rejected(..) => "Store.Rejected" });

/// The function's state, built once at init. Cheap to clone.
#[derive(Clone)]
pub struct App {
    dynamo: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    settings: Arc<Settings>,
}

impl App {
    /// The app over existing clients (tests, the benchmark).
    pub fn new(
        dynamo: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
        settings: Settings,
    ) -> Self {
        Self {
            dynamo,
            sqs,
            settings: Arc::new(settings),
        }
    }

    /// Saves one Task input `{"batch": <process's answer>, "executionId"}`.
    pub async fn save(&self, event: Value) -> Result<Saved, SaveError> {
        let (batch, execution_id) = Self::read(event)?;
        self.save_batch(&batch, execution_id.as_deref()).await
    }

    /// The batch and execution id of a Task input. A batch that is not process's answer, or one that does
    /// not account for every element the execution was handed, fails whole (`Pipeline.InvalidInput`) before
    /// anything is written: the state machine dead-letters every event of the execution input.
    fn read(event: Value) -> Result<(Processed, Option<String>), SaveError> {
        let task = TaskInput::parse(event)?;
        let batch: Processed = task.batch()?;
        batch
            .check(task.execution_id.as_deref())
            .map_err(ContractError::InvalidInput)?;
        Ok((batch, task.execution_id))
    }

    /// Saves process's answer.
    async fn save_batch(
        &self,
        batch: &Processed,
        execution_id: Option<&str>,
    ) -> Result<Saved, SaveError> {
        let expires_at = self.settings.ttl_days.map(|days| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
                + u64::from(days) * 86_400
        });
        let written = self.write_all(&batch.records, expires_at).await;

        let mut saved = Saved::default();
        let mut dead_letters = batch.dead_letters.clone();
        for letter in &batch.dead_letters {
            saved.events.push(EventOutcome {
                event_id: letter.event_id.clone(),
                outcome: SaveOutcome::DeadLettered,
            });
        }
        let mut unavailable = None;
        for (i, result) in written.into_iter().enumerate() {
            let record = &batch.records[i];
            let outcome = match result {
                Ok(Written::Stored) => SaveOutcome::Stored,
                Ok(Written::Stale) => SaveOutcome::Stale,
                Ok(Written::Duplicate) => SaveOutcome::Duplicate,
                Err(WriteError::Unavailable(why)) => {
                    unavailable.get_or_insert(why);
                    continue;
                }
                Err(WriteError::TableRejected(why)) => return Err(SaveError::Rejected(why)),
                Err(WriteError::ItemRejected(why)) => {
                    let failure = RecordFailure::Rejected(why);
                    let letter = match batch
                        .events
                        .iter()
                        .find(|e| e.event_id == record.last_event_id)
                    {
                        Some(event) => {
                            DeadLetter::for_event(event, &failure, Stage::Save, execution_id)
                        }
                        None => DeadLetter::for_raw(
                            &serde_json::to_value(record).unwrap_or_default(),
                            i,
                            &failure,
                            Stage::Save,
                            execution_id,
                        ),
                    };
                    dead_letters.push(letter);
                    SaveOutcome::DeadLettered
                }
            };
            match outcome {
                SaveOutcome::Stored => saved.stored += 1,
                SaveOutcome::Stale => saved.stale += 1,
                SaveOutcome::Duplicate => saved.duplicate += 1,
                SaveOutcome::DeadLettered => {}
            }
            saved.events.push(EventOutcome {
                event_id: record.last_event_id.clone(),
                outcome,
            });
        }
        if let Some(why) = unavailable {
            return Err(SaveError::Unavailable(why));
        }

        // Every enrichment request, whatever its write's fate: a stale or repeated event may be the
        // first to reach enrich (the earlier delivery's request may never have been queued).
        let dead: Vec<&str> = dead_letters.iter().map(|d| d.event_id.as_str()).collect();
        let requests: Vec<_> = batch
            .enrich
            .iter()
            .filter(|r| !dead.contains(&r.event_id.as_str()))
            .cloned()
            .collect();
        let messages = enrichment_messages(&requests, self.settings.enrich_delay_seconds);
        queue::send_all(&self.sqs, &self.settings.enrichment_queue_url, &messages)
            .await
            .map_err(SaveError::QueueUnavailable)?;
        saved.enrichment_queued = requests.len();

        let letters: Vec<Outgoing> = dead_letters
            .iter()
            .map(|d| {
                Outgoing::new(serde_json::to_string(d).unwrap_or_default())
                    .attribute("ERROR_CODE", d.error.clone())
            })
            .collect();
        queue::send_all(&self.sqs, &self.settings.dead_letter_queue_url, &letters)
            .await
            .map_err(SaveError::QueueUnavailable)?;
        dead_letters.iter().for_each(DeadLetter::log);
        saved.dead_lettered = dead_letters.len();
        Ok(saved)
    }
}

impl App {
    /// Writes every record: one conditional write per conversation ([`write::coalesce`]: the newest event, with
    /// every gap filled as writing them oldest first would have), different conversations at once. The
    /// conversation's newest record gets the write's outcome; its older records are `stale` (a newer event of the
    /// conversation is stored, or would have been), or `duplicate` when they repeat the newest.
    async fn write_all(
        &self,
        records: &[gcx_core::contract::ConversationRecord],
        expires_at: Option<u64>,
    ) -> Vec<Result<Written, WriteError>> {
        let mut by_conversation: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (i, r) in records.iter().enumerate() {
            by_conversation
                .entry(r.conversation_id.as_str())
                .or_default()
                .push(i);
        }
        let groups: Vec<Vec<usize>> = by_conversation
            .into_values()
            .map(|mut g| {
                g.sort_by(|a, b| {
                    let (a, b) = (&records[*a], &records[*b]);
                    (a.last_event_time, &a.last_event_id)
                        .cmp(&(b.last_event_time, &b.last_event_id))
                });
                g
            })
            .collect();
        let done: Vec<Vec<(usize, Result<Written, WriteError>)>> = stream::iter(groups)
            .map(|group| async move {
                let oldest_first: Vec<&ConversationRecord> =
                    group.iter().map(|i| &records[*i]).collect();
                let Some(merged) = write::coalesce(&oldest_first) else {
                    return Vec::new();
                };
                let result =
                    write::write(&self.dynamo, &self.settings.table, &merged, expires_at).await;
                let newest = (merged.last_event_time, merged.last_event_id.as_str());
                let last = group.last().copied();
                group
                    .iter()
                    .map(|&i| {
                        let r = &records[i];
                        let outcome = match &result {
                            Err(e) => Err(e.clone()),
                            Ok(written) if Some(i) == last => Ok(*written),
                            // The same event twice in one batch: the second copy repeats the first.
                            Ok(_) if (r.last_event_time, r.last_event_id.as_str()) == newest => {
                                Ok(Written::Duplicate)
                            }
                            Ok(_) => Ok(Written::Stale),
                        };
                        (i, outcome)
                    })
                    .collect()
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        let mut results: Vec<Option<Result<Written, WriteError>>> =
            (0..records.len()).map(|_| None).collect();
        for (i, result) in done.into_iter().flatten() {
            results[i] = Some(result);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(WriteError::Unavailable("not written".into()))))
            .collect()
    }
}

/// Most requests in one enrichment message: about 250 bytes each, well under SQS's 256 KiB.
pub const REQUESTS_PER_MESSAGE: usize = 500;

/// The messages carrying `requests`, each delayed by `delay` seconds.
pub fn enrichment_messages(
    requests: &[gcx_core::contract::EnrichmentRequest],
    delay: u32,
) -> Vec<Outgoing> {
    requests
        .chunks(REQUESTS_PER_MESSAGE)
        .map(|chunk| {
            let body = serde_json::to_string(&EnrichmentMessage {
                requests: chunk.to_vec(),
            })
            .unwrap_or_default();
            Outgoing::new(body).delayed(delay)
        })
        .collect()
}

/// save's answer with its counts for the log line.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(transparent)]
pub struct Answer(pub Saved);

impl Outcome for Answer {
    fn fields(&self, fields: &mut Map<String, Value>) {
        let s = &self.0;
        for (name, n) in [
            ("stored", s.stored),
            ("stale", s.stale),
            ("duplicate", s.duplicate),
            ("deadLettered", s.dead_lettered),
            ("enrichmentQueued", s.enrichment_queued),
        ] {
            fields.insert(name.into(), n.into());
        }
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[
            ("stored", Unit::Count),
            ("stale", Unit::Count),
            ("duplicate", Unit::Count),
            ("deadLettered", Unit::Count),
            ("enrichmentQueued", Unit::Count),
        ]
    }
}

impl Function for App {
    const NAME: &'static str = "save";
    type Settings = Settings;
    type Output = Answer;
    type Error = SaveError;

    fn settings(env: &dyn Env) -> Result<Settings, ConfigError> {
        Settings::from_env(env)
    }

    async fn build(settings: Settings) -> Result<Self, ConfigError> {
        let sdk = gcx_core::aws::sdk_config().await;
        Ok(Self::new(
            gcx_core::dynamo::client(&sdk),
            queue::client(&sdk),
            settings,
        ))
    }

    async fn warm_up(&self) {
        let _ = self.dynamo.describe_limits().send().await;
    }

    async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Answer, SaveError> {
        let (batch, execution_id) = Self::read(event)?;
        // Before writing, so that a failed write's line leads to its events too.
        invocation.correlate(batch.correlation_ids());
        self.save_batch(&batch, execution_id.as_deref())
            .await
            .map(Answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gcx_core::names::StableName;

    fn env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("DYNAMODB_TABLE_NAME", "t"),
            ("ENRICHMENT_QUEUE_URL", "http://q/enrich"),
            ("DEAD_LETTER_QUEUE_URL", "http://q/dlq"),
        ]
    }

    #[test]
    fn settings() {
        let map: std::collections::HashMap<String, String> = env()
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let s = Settings::from_env(&map).unwrap();
        assert_eq!(
            (s.ttl_days, s.enrich_delay_seconds, s.concurrency),
            (None, 60, 16)
        );
        let mut with = map.clone();
        with.insert("RECORD_TTL_DAYS".into(), "30".into());
        with.insert("ENRICH_DELAY_SECONDS".into(), "0".into());
        let s = Settings::from_env(&with).unwrap();
        assert_eq!((s.ttl_days, s.enrich_delay_seconds), (Some(30), 0));
        for (var, bad) in [
            ("RECORD_TTL_DAYS", "-1"),
            ("ENRICH_DELAY_SECONDS", "901"),
            ("SAVE_CONCURRENCY", "0"),
        ] {
            let mut m = map.clone();
            m.insert(var.into(), bad.into());
            assert_eq!(Settings::from_env(&m).unwrap_err().variable, var);
        }
        let mut missing = map;
        missing.remove("ENRICHMENT_QUEUE_URL");
        assert_eq!(
            Settings::from_env(&missing).unwrap_err().variable,
            "ENRICHMENT_QUEUE_URL"
        );
    }

    #[test]
    fn names_compose() {
        assert_eq!(
            SaveError::names(),
            [
                "Store.Unavailable",
                "Store.Rejected",
                "Queue.Unavailable",
                "Pipeline.InvalidInput"
            ]
        );
    }

    #[test]
    fn enrichment_messages_carry_many_requests_each() {
        let request = gcx_core::contract::EnrichmentRequest {
            conversation_id: "c".into(),
            event_id: "e".into(),
            event_type: "t".into(),
            event_time: 1,
            correlation_id: None,
            execution_id: None,
            attempt: 0,
            unavailable: 0,
            first_queued_at: 1,
        };
        let messages = enrichment_messages(&vec![request; REQUESTS_PER_MESSAGE + 1], 60);
        assert_eq!(messages.len(), 2);
        assert!(messages
            .iter()
            .all(|m| m.delay_seconds == 60 && m.body.len() < 256 * 1024));
        assert!(enrichment_messages(&[], 60).is_empty());
    }
}
