//! The AWS side of an integration test: a moto server and SDK clients pointed at it, with blocking
//! helpers to create what a function needs and to read what it did.

use std::collections::BTreeMap;
use std::future::Future;

use serde_json::Value;

use crate::moto::MotoServer;

/// The conversations table's index of each customer's conversations by time (template.yaml).
pub const CUSTOMER_INDEX: &str = "CustomerRecency";

/// A moto server plus Step Functions, DynamoDB and SQS clients for it.
pub struct LocalAws {
    /// The server (stopped on drop).
    pub moto: MotoServer,
    /// A current-thread runtime for the blocking helpers.
    pub runtime: tokio::runtime::Runtime,
    /// Step Functions.
    pub sfn: aws_sdk_sfn::Client,
    /// DynamoDB.
    pub dynamo: aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
}

/// One SQS message as a test reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The body, parsed as JSON (a JSON string when it is not JSON).
    pub body: Value,
    /// String message attributes.
    pub attributes: BTreeMap<String, String>,
}

impl LocalAws {
    /// Starts moto; with `execute`, moto runs the executions of state machines created afterwards.
    pub fn start(execute: bool) -> Self {
        let moto = MotoServer::start();
        if execute {
            moto.enable_execution();
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let conf = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&moto.endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .load(),
        );
        Self {
            sfn: aws_sdk_sfn::Client::new(&conf),
            dynamo: aws_sdk_dynamodb::Client::new(&conf),
            sqs: aws_sdk_sqs::Client::new(&conf),
            moto,
            runtime,
        }
    }

    /// Runs `f` to completion.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// The environment of a function pointed at this moto.
    pub fn env(&self) -> Vec<(String, String)> {
        self.moto.env()
    }

    /// Creates the conversations table as template.yaml does: key `conversationId`, on demand, and the
    /// `CustomerRecency` index (hash `customerKey`, range `customerContactAt`, keys only, as template.yaml).
    pub fn create_table(&self, name: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let attribute = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .expect("attribute definition")
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("key schema")
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name(CUSTOMER_INDEX)
            .key_schema(key("customerKey", KeyType::Hash))
            .key_schema(key("customerContactAt", KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build(),
            )
            .build()
            .expect("index");
        self.block_on(
            self.dynamo
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(attribute("conversationId", ScalarAttributeType::S))
                .attribute_definitions(attribute("customerKey", ScalarAttributeType::S))
                .attribute_definitions(attribute("customerContactAt", ScalarAttributeType::N))
                .key_schema(key("conversationId", KeyType::Hash))
                .global_secondary_indexes(index)
                .send(),
        )
        .expect("create the table in moto");
    }

    /// The items of `table` whose `customerKey` is `customer_key`, newest `customerContactAt` first: one
    /// query of the `CustomerRecency` index, as the recent-contact data action makes it.
    pub fn customer_contacts(&self, table: &str, customer_key: &str) -> Vec<Value> {
        let out = self
            .block_on(
                self.dynamo
                    .query()
                    .table_name(table)
                    .index_name(CUSTOMER_INDEX)
                    .key_condition_expression("customerKey = :k")
                    .expression_attribute_values(
                        ":k",
                        aws_sdk_dynamodb::types::AttributeValue::S(customer_key.to_owned()),
                    )
                    .scan_index_forward(false)
                    .send(),
            )
            .expect("query the customer index");
        out.items()
            .iter()
            .map(|i| serde_dynamo::from_item(i.clone()).expect("an item as JSON"))
            .collect()
    }

    /// Every item of `table`, as plain JSON, ordered by `conversationId`.
    pub fn items(&self, table: &str) -> Vec<Value> {
        let out = self
            .block_on(self.dynamo.scan().table_name(table).send())
            .expect("scan");
        let mut items: Vec<Value> = out
            .items()
            .iter()
            .map(|i| serde_dynamo::from_item(i.clone()).expect("an item as JSON"))
            .collect();
        items.sort_by(|a, b| {
            a["conversationId"]
                .as_str()
                .cmp(&b["conversationId"].as_str())
        });
        items
    }

    /// The item of `conversation_id`, if any.
    pub fn item(&self, table: &str, conversation_id: &str) -> Option<Value> {
        self.items(table)
            .into_iter()
            .find(|i| i["conversationId"] == conversation_id)
    }

    /// Creates a queue; returns its URL.
    pub fn create_queue(&self, name: &str) -> String {
        self.block_on(self.sqs.create_queue().queue_name(name).send())
            .expect("create the queue in moto")
            .queue_url
            .unwrap_or_default()
    }

    /// Sends `body` to `url`.
    pub fn send(&self, url: &str, body: &str) {
        self.block_on(
            self.sqs
                .send_message()
                .queue_url(url)
                .message_body(body)
                .send(),
        )
        .expect("send a message");
    }

    /// Receives (and deletes) every message of `url` that is visible now. Messages still delayed
    /// (`DelaySeconds`, which moto honours) are not; see [`LocalAws::delayed`].
    pub fn drain(&self, url: &str) -> Vec<Message> {
        let mut out = Vec::new();
        loop {
            let got = self
                .block_on(
                    self.sqs
                        .receive_message()
                        .queue_url(url)
                        .max_number_of_messages(10)
                        .message_attribute_names("All")
                        .send(),
                )
                .expect("receive");
            let batch = got.messages();
            if batch.is_empty() {
                return out;
            }
            for m in batch {
                let text = m.body().unwrap_or_default();
                let body =
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()));
                let attributes = m
                    .message_attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| {
                                (k.clone(), v.string_value().unwrap_or_default().to_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Message { body, attributes });
                self.block_on(
                    self.sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .send(),
                )
                .expect("delete");
            }
        }
    }

    /// `ApproximateNumberOfMessagesDelayed` of `url`: messages sent with a delay not over yet.
    pub fn delayed(&self, url: &str) -> usize {
        let out = self
            .block_on(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(
                        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed,
                    )
                    .send(),
            )
            .expect("queue attributes");
        out.attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Creates a state machine from `definition`; returns its ARN.
    pub fn create_state_machine(&self, name: &str, definition: &str) -> String {
        self.block_on(
            self.sfn
                .create_state_machine()
                .name(name)
                .definition(definition)
                .role_arn("arn:aws:iam::123456789012:role/sfn")
                .send(),
        )
        .expect("create the state machine in moto")
        .state_machine_arn
    }

    /// Every execution of `arn`: (name, parsed input), ordered by name.
    pub fn executions(&self, arn: &str) -> Vec<(String, Value)> {
        self.block_on(async {
            let list = self
                .sfn
                .list_executions()
                .state_machine_arn(arn)
                .max_results(1000)
                .send()
                .await
                .expect("list executions");
            let mut out = Vec::new();
            for e in list.executions() {
                let d = self
                    .sfn
                    .describe_execution()
                    .execution_arn(e.execution_arn())
                    .send()
                    .await
                    .expect("describe execution");
                out.push((
                    e.name().to_owned(),
                    serde_json::from_str(d.input().unwrap_or("null")).unwrap_or(Value::Null),
                ));
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        })
    }
}
