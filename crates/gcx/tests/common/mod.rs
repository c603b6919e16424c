//! What the gcx tests share: a moto server with the stack's queues and state machine, the `gcx`
//! binary run as an operator runs it, and dead letters built by the pipeline's own types
//! (`gcx_core::contract`), so they are exactly what the functions and the state machine write.

#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::process::{Command, Output};

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use gcx_core::contract::{DeadLetter, EnrichmentMessage, EnrichmentRequest, PipelineEvent, Stage};
use gcx_core::events::GenesysEvent;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use test_support::aws::LocalAws;

pub const CONV_A: &str = "2f7bf00a-0fc2-4d6a-9b56-92238191433e";
pub const CONV_B: &str = "1bc96a39-6725-40c4-9345-db72aa67b8c6";
pub const EXECUTION: &str =
    "arn:aws:states:us-east-1:123456789012:execution:pipeline:batch-1-5f0c2a";
/// A one-state machine: moto starts it and (without execution) leaves it RUNNING.
pub const DEFINITION: &str = r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#;

/// A moto server with the queues of a stack (sqs mode) and the pipeline state machine.
pub struct Stack {
    pub aws: LocalAws,
    pub dlq: String,
    pub enrichment_dlq: String,
    pub event_dlq: String,
    pub fanout_dlq: String,
    pub enrichment: String,
    pub buffer: String,
    pub state_machine: String,
}

/// What one gcx run did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self}");
        self
    }

    /// The summary line of `queue`: (seen, matched, redriven, left).
    pub fn summary(&self, queue: &str) -> (u64, u64, u64, u64) {
        let line = self
            .stdout
            .lines()
            .find(|l| {
                l.trim_start().starts_with(queue)
                    && l.contains(" seen ")
                    && l.split_whitespace().next() == Some(queue)
            })
            .unwrap_or_else(|| panic!("no summary line for {queue}\n{self}"));
        let n = |word: &str| -> u64 {
            let words: Vec<&str> = line.split_whitespace().collect();
            let i = words
                .iter()
                .position(|w| *w == word)
                .unwrap_or_else(|| panic!("no {word} in {line:?}"));
            words[i + 1].trim_end_matches(',').parse().unwrap()
        };
        let redriven = if line.contains("would redrive") {
            n("redrive")
        } else {
            n("redriven")
        };
        (n("seen"), n("matched"), redriven, n("left"))
    }

    /// The `repeats` count of `queue`'s summary line.
    pub fn repeats(&self, queue: &str) -> u64 {
        let line = self
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(queue) && l.contains(" repeats "))
            .unwrap_or_else(|| panic!("no summary line for {queue}\n{self}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        let i = words.iter().position(|w| *w == "repeats").unwrap();
        words[i + 1].trim_end_matches(',').parse().unwrap()
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Stack {
    pub fn new() -> Self {
        Self::with(LocalAws::start(false))
    }

    pub fn with(aws: LocalAws) -> Self {
        let dlq = aws.create_queue("DeadLetterQueue");
        let enrichment_dlq = aws.create_queue("EnrichmentDeadLetterQueue");
        let event_dlq = aws.create_queue("EventDeadLetterQueue");
        let fanout_dlq = aws.create_queue("FanoutDeadLetterQueue");
        let enrichment = aws.create_queue("EnrichmentQueue");
        let buffer = aws.create_queue("FanoutBufferQueue");
        let state_machine = aws.create_state_machine("Pipeline", DEFINITION);
        Self {
            aws,
            dlq,
            enrichment_dlq,
            event_dlq,
            fanout_dlq,
            enrichment,
            buffer,
            state_machine,
        }
    }

    /// Every name given by flag, as without a stack.
    pub fn flags(&self) -> Vec<String> {
        [
            ("--queue", &self.dlq),
            ("--enrichment-dead-letter-queue", &self.enrichment_dlq),
            ("--event-dead-letter-queue", &self.event_dlq),
            ("--fanout-dead-letter-queue", &self.fanout_dlq),
            ("--enrichment-queue", &self.enrichment),
            ("--buffer-queue", &self.buffer),
            ("--state-machine", &self.state_machine),
        ]
        .into_iter()
        .flat_map(|(f, v)| [f.to_owned(), v.clone()])
        .collect()
    }

    /// Runs gcx as an operator would: only the AWS environment of this moto, no profile, no IMDS.
    pub fn gcx(&self, args: &[&str]) -> Run {
        gcx_with_env(&self.aws.env(), args)
    }

    /// `gcx <args> <every flag>`.
    pub fn gcx_all(&self, args: &[&str]) -> Run {
        let flags = self.flags();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(flags.iter().map(String::as_str));
        self.gcx(&all)
    }

    /// Sends `body` to `url` with an `ERROR_CODE` attribute when given; returns the message id.
    pub fn send(&self, url: &str, body: &str, error_code: Option<&str>) -> String {
        let mut req = self
            .aws
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(body);
        if let Some(code) = error_code {
            req = req.message_attributes(
                "ERROR_CODE",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(code)
                    .build()
                    .unwrap(),
            );
            req = req.message_attributes(
                "ERROR_MESSAGE",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("what happened")
                    .build()
                    .unwrap(),
            );
        }
        self.aws
            .block_on(req.send())
            .expect("send")
            .message_id
            .expect("a message id")
    }

    /// A pipeline dead letter, sent as the state machine and save send it; returns (message id, body).
    /// Sends a pipeline dead letter of `event_id`; returns its redrive key (what `expected_name` names the
    /// redrive from: `<executionId>|<eventId>`) and its body.
    pub fn dead_letter(&self, event_id: &str, conversation: &str, error: &str) -> (String, Value) {
        let body =
            serde_json::to_value(pipeline_dead_letter(event_id, conversation, error)).unwrap();
        self.send(&self.dlq, &body.to_string(), Some(error));
        (format!("{EXECUTION}|{event_id}"), body)
    }

    /// (visible, in flight) of `url`: moto's counts are exact.
    pub fn depth(&self, url: &str) -> (u64, u64) {
        let out = self
            .aws
            .block_on(
                self.aws
                    .sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::All)
                    .send(),
            )
            .expect("queue attributes");
        let attrs = out.attributes().cloned().unwrap_or_default();
        let get = |n: QueueAttributeName| attrs.get(&n).and_then(|v| v.parse().ok()).unwrap_or(0);
        (
            get(QueueAttributeName::ApproximateNumberOfMessages),
            get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        )
    }

    /// The bodies of `url` as sent (receives and deletes them).
    pub fn take(&self, url: &str) -> Vec<Value> {
        self.aws.drain(url).into_iter().map(|m| m.body).collect()
    }

    /// The raw text bodies of `url` (receives and deletes them).
    pub fn take_text(&self, url: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let got = self
                .aws
                .block_on(
                    self.aws
                        .sqs
                        .receive_message()
                        .queue_url(url)
                        .max_number_of_messages(10)
                        .send(),
                )
                .expect("receive");
            if got.messages().is_empty() {
                return out;
            }
            for m in got.messages() {
                out.push(m.body().unwrap_or_default().to_owned());
                self.aws
                    .block_on(
                        self.aws
                            .sqs
                            .delete_message()
                            .queue_url(url)
                            .receipt_handle(m.receipt_handle().unwrap_or_default())
                            .send(),
                    )
                    .expect("delete");
            }
        }
    }

    /// Every execution of the pipeline state machine: name → input.
    pub fn executions(&self) -> BTreeMap<String, Value> {
        self.aws
            .executions(&self.state_machine)
            .into_iter()
            .collect()
    }
}

/// Runs the gcx binary with exactly `env` (plus PATH), as a user with no AWS profile would.
pub fn gcx_with_env(env: &[(String, String)], args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_gcx"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_CONFIG_FILE", "/nonexistent/gcx-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/gcx-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run gcx");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What gcx names the execution of the message `id` (redrive-<40 hex of its SHA-256>).
/// The execution name gcx gives the redrive of a letter whose redrive key (or, without one, message id) is
/// `key`.
pub fn expected_name(key: &str) -> String {
    let hex: String = Sha256::digest(key.as_bytes())
        .iter()
        .take(20)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("redrive-{hex}")
}

/// The sample EventBridge event with another id and conversation.
pub fn raw_event(event_id: &str, conversation: &str) -> Value {
    let path = format!(
        "{}/../../events/eventbridge/customer-start-sample.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut e: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    e["id"] = json!(event_id);
    e["detail"]["eventBody"]["conversationId"] = json!(conversation);
    e["detail"]["topicName"] = json!(format!(
        "v2.detail.events.conversation.{conversation}.customer.start"
    ));
    e
}

/// A malformed event as fanout dead-letters it (no `eventBody.conversationId`).
pub fn malformed_event() -> String {
    let path = format!(
        "{}/../../events/fanout/malformed-no-conversation-id.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

/// The pipeline element of `raw_event(event_id, conversation)`, as fanout builds it.
pub fn element(event_id: &str, conversation: &str) -> PipelineEvent {
    let parsed = GenesysEvent::parse(raw_event(event_id, conversation)).expect("an event");
    PipelineEvent::from_event(&parsed).expect("an element")
}

/// A `DeadLetterQueue` message as save writes it for one event (`DeadLetter::for_event`'s shape).
pub fn pipeline_dead_letter(event_id: &str, conversation: &str, error: &str) -> DeadLetter {
    let e = element(event_id, conversation);
    DeadLetter {
        dead_letter_id: gcx_core::contract::dead_letter_id(Some(EXECUTION), Stage::Save, event_id),
        event_id: e.event_id.clone(),
        conversation_id: e.conversation_id.clone(),
        event_type: e.event_type.clone(),
        correlation_id: e.correlation_id.clone(),
        error: error.into(),
        cause: "DynamoDB throttled the write after 5 attempts".into(),
        stage: Stage::Save,
        execution_id: Some(EXECUTION.into()),
        input: e.alone(),
    }
}

/// An enrichment request of `conversation`, first queued `first_queued_at` (epoch ms).
pub fn request(event_id: &str, conversation: &str, first_queued_at: i64) -> EnrichmentRequest {
    let mut r = EnrichmentRequest::for_event(
        &element(event_id, conversation),
        Some(EXECUTION),
        first_queued_at,
    );
    r.event_type = "v2.detail.events.conversation.{id}.customer.end".into();
    r
}

/// An `EnrichmentDeadLetterQueue` message as enrich writes it (`DeadLetter::for_request`'s shape).
pub fn enrichment_dead_letter(event_id: &str, conversation: &str, error: &str) -> DeadLetter {
    let r = request(event_id, conversation, 1_700_000_000_000);
    DeadLetter {
        dead_letter_id: gcx_core::contract::dead_letter_id(
            Some(EXECUTION),
            Stage::Enrich,
            event_id,
        ),
        event_id: r.event_id.clone(),
        conversation_id: r.conversation_id.clone(),
        event_type: r.event_type.clone(),
        correlation_id: r.correlation_id.clone(),
        error: error.into(),
        cause: "not in the analytics answer after 5 tries".into(),
        stage: Stage::Enrich,
        execution_id: r.execution_id.clone(),
        input: serde_json::to_value(EnrichmentMessage { requests: vec![r] }).unwrap(),
    }
}

/// A Lambda on-failure destination record of an asynchronous fanout invocation with `payload`.
pub fn on_failure_record(payload: &Value) -> Value {
    json!({
        "version": "1.0",
        "timestamp": "2026-11-30T08:00:00.000Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-46e4-a8b0-1b6d4e4f6e3a",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:fanout:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Fanout.StartFailed", "errorMessage": "StartExecution failed after 8 attempts"}
    })
}

/// A CloudFormation client for this moto.
pub fn cfn(aws: &LocalAws) -> aws_sdk_cloudformation::Client {
    let conf = aws.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&aws.moto.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load(),
    );
    aws_sdk_cloudformation::Client::new(&conf)
}

/// Creates stack `name` from `template` in moto; returns its outputs.
pub fn create_stack(aws: &LocalAws, name: &str, template: &Value) -> BTreeMap<String, String> {
    let cfn = cfn(aws);
    aws.block_on(
        cfn.create_stack()
            .stack_name(name)
            .template_body(template.to_string())
            .send(),
    )
    .expect("create the stack in moto");
    let out = aws
        .block_on(cfn.describe_stacks().stack_name(name).send())
        .expect("describe the stack");
    let stack = &out.stacks()[0];
    assert_eq!(
        stack.stack_status().map(|s| s.as_str()),
        Some("CREATE_COMPLETE"),
        "{stack:?}"
    );
    stack
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap_or_default().to_owned(),
                o.output_value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The queues and state machine of the template (sqs mode), by the template's logical ids, with the
/// outputs gcx reads. `FanoutFunctionArn` is a plain value: in sqs mode gcx never invokes it.
pub fn sqs_mode_template() -> Value {
    let queue = json!({"Type": "AWS::SQS::Queue"});
    json!({
        "Resources": {
            "DeadLetterQueue": queue,
            "EnrichmentDeadLetterQueue": queue,
            "EventDeadLetterQueue": queue,
            "FanoutDeadLetterQueue": queue,
            "EnrichmentQueue": queue,
            "FanoutBufferQueue": queue,
            "PipelineStateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": DEFINITION, "RoleArn": "arn:aws:iam::123456789012:role/sfn"}
            }
        },
        "Outputs": {
            "DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue"}},
            "EnrichmentDeadLetterQueueUrl": {"Value": {"Ref": "EnrichmentDeadLetterQueue"}},
            "EventDeadLetterQueueUrl": {"Value": {"Ref": "EventDeadLetterQueue"}},
            "FanoutDeadLetterQueueUrl": {"Value": {"Ref": "FanoutDeadLetterQueue"}},
            "EnrichmentQueueUrl": {"Value": {"Ref": "EnrichmentQueue"}},
            "FanoutBufferQueueUrl": {"Value": {"Ref": "FanoutBufferQueue"}},
            "StateMachineArn": {"Value": {"Ref": "PipelineStateMachine"}},
            "FanoutFunctionArn": {"Value": "arn:aws:lambda:us-east-1:123456789012:function:fanout"}
        }
    })
}

impl Stack {
    /// The stack `name` created from `sqs_mode_template()` in a fresh moto.
    pub fn from_cloudformation(name: &str) -> Self {
        let aws = LocalAws::start(false);
        let o = create_stack(&aws, name, &sqs_mode_template());
        let get = |k: &str| o.get(k).cloned().unwrap_or_else(|| panic!("output {k}"));
        Self {
            dlq: get("DeadLetterQueueUrl"),
            enrichment_dlq: get("EnrichmentDeadLetterQueueUrl"),
            event_dlq: get("EventDeadLetterQueueUrl"),
            fanout_dlq: get("FanoutDeadLetterQueueUrl"),
            enrichment: get("EnrichmentQueueUrl"),
            buffer: get("FanoutBufferQueueUrl"),
            state_machine: get("StateMachineArn"),
            aws,
        }
    }
}
