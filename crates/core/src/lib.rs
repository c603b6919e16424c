//! What every function of the toolkit shares. Nothing here knows a particular handler.
//!
//! # Layout
//!
//! - [`lambda`]: the runtime shell every `main.rs` calls (settings, init errors, warm-up, the runtime
//!   loop, one log line per invocation).
//! - [`config`], [`setting`]: reading the environment once, with errors that name the variable; each setting
//!   declared once as data, from which `make generate` writes the template constraints and the docs tables.
//! - [`logging`]: JSON lines on stdout, each carrying the invocation's `requestId`.
//! - [`metrics`]: CloudWatch metrics embedded in the invocation line (Embedded Metric Format).
//! - [`names`]: stable error names, declared once per variant ([`stable_names!`]).
//! - [`contract`]: what the parts of the pipeline hand each other (execution input, Task answers, records,
//!   enrichment requests, dead letters) and the one check of an execution input.
//! - [`customer`]: the customer across conversations as a keyed hash of the normalized address (never the
//!   address itself), and where its key comes from.
//! - [`events`]: the Genesys event in its EventBridge envelope, and the conversation detail topics.
//! - [`aws`], [`dynamo`], [`queue`], [`http`]: SDK config and the one secret reader; the DynamoDB client and
//!   the one reading of a failed conditional write; SQS batch sends; the HTTP client.
//! - [`redact`]: keeping PII and secrets out of logs.

pub mod aws;
pub mod config;
pub mod contract;
pub mod customer;
pub mod dynamo;
pub mod events;
pub mod http;
pub mod lambda;
pub mod logging;
pub mod metrics;
pub mod names;
pub mod queue;
pub mod redact;
pub mod setting;

/// Re-exported for [`stable_names!`], which names `lambda_runtime::Diagnostic` from other crates.
pub use lambda_runtime;
