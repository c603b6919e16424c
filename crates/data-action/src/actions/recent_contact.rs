//! `recent-contact`: has this caller contacted us recently? For repeat-caller routing (a flow sends a
//! caller who called yesterday straight to the agent or queue that handled them). A web-services data
//! action cannot answer this: it reads what the pipeline stores.
//!
//! The pipeline stores, per conversation, `customerKey`: the HMAC-SHA256 of the customer's normalized
//! address under a key from Secrets Manager (`gcx_core::customer`), and `customerContactAt`. The table's
//! `CustomerRecency` index on those two answers in one query: the contacts of this key within the window,
//! newest first. The index holds the keys only (`KEYS_ONLY`), so the pipeline's writes never write it again
//! once an item is in it; one `GetItem` then reads the newest contact's details from the table. The raw
//! address is never stored, logged or sent anywhere: only its keyed hash leaves the function, in the query.
//!
//! This module is also the framework's worked example: an input type, an output type, `parse`,
//! `failure` and `run`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use gcx_core::contract::Agent;
use gcx_core::customer::{normalize, CustomerKeyer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use gcx_core::config::{ConfigError, Env};
use gcx_core::customer::{customer_key_source, CustomerKeySource};
use gcx_core::setting::Setting;

use crate::action::{fields, Action, Aws, Build, Call, Rejected};
use crate::error::{ActionError, InvalidInput};

/// The pipeline's conversations table; setting it serves recent-contact.
pub const TABLE_NAME: Setting = Setting::optional(
    "TABLE_NAME",
    "recent-contact not served unless it is the default action",
)
.doc(
    "The pipeline's conversations table, read by recent-contact; setting it serves recent-contact.",
);
/// The table's index by customer key and contact time.
pub const CUSTOMER_INDEX: Setting = Setting::optional("CUSTOMER_INDEX", "`CustomerRecency`")
    .doc("The table's index by `customerKey` and `customerContactAt` (recent-contact).");
/// Seconds a recent-contact read may take.
pub const STORE_TIMEOUT: Setting = Setting::seconds(
    "STORE_TIMEOUT",
    Duration::from_secs(3),
    Duration::from_millis(10),
    Duration::from_secs(60),
)
.doc("Seconds recent-contact's query and read may take, never past the Lambda deadline minus 250 ms.");

/// Every variable recent-contact reads; the customer key is the pipeline's (process's).
pub const SETTINGS: &[Setting] = &[
    TABLE_NAME,
    CUSTOMER_INDEX,
    STORE_TIMEOUT,
    gcx_core::customer::CUSTOMER_KEY_SECRET_ARN,
    gcx_core::customer::CUSTOMER_KEY,
];

/// [`TABLE_NAME`]'s variable.
pub const TABLE_VAR: &str = TABLE_NAME.variable;
/// Default for [`CUSTOMER_INDEX`]: the index `template.yaml` creates.
pub const DEFAULT_CUSTOMER_INDEX: &str = "CustomerRecency";

/// recent-contact's settings.
#[derive(Debug, Clone)]
pub struct RecentSettings {
    /// The conversations table.
    pub table: String,
    /// Its index by `customerKey` and `customerContactAt`.
    pub index: String,
    /// Where the HMAC key of customer addresses comes from (the pipeline's key).
    pub key: CustomerKeySource,
    /// Budget for the query.
    pub timeout: Duration,
}

impl RecentSettings {
    /// Reads [`SETTINGS`]: the table and the key are required.
    pub fn from_env(env: &dyn Env) -> Result<RecentSettings, ConfigError> {
        let table = TABLE_NAME
            .read_optional(env)
            .ok_or_else(|| ConfigError::new(TABLE_VAR, "is required to serve recent-contact"))?;
        let key = customer_key_source(env)?;
        if matches!(key, CustomerKeySource::None) {
            return Err(ConfigError::new(
                gcx_core::customer::CUSTOMER_KEY_SECRET_VAR,
                "is required to serve recent-contact (the pipeline's customer key)",
            ));
        }
        Ok(RecentSettings {
            table,
            index: CUSTOMER_INDEX
                .read_optional(env)
                .unwrap_or_else(|| DEFAULT_CUSTOMER_INDEX.to_owned()),
            key,
            timeout: STORE_TIMEOUT.read_seconds(env)?,
        })
    }
}

/// Served when `TABLE_NAME` is set, or when it is the default action (then the table and key are required).
impl Build for RecentContactAction {
    type Settings = RecentSettings;
    const SETTINGS: &'static [Setting] = SETTINGS;

    fn settings(env: &dyn Env, required: bool) -> Result<Option<RecentSettings>, ConfigError> {
        if !required && TABLE_NAME.read_optional(env).is_none() {
            return Ok(None);
        }
        RecentSettings::from_env(env).map(Some)
    }

    /// Reads the customer key (its secret, once) and builds the table client.
    async fn build(settings: RecentSettings, aws: &Aws) -> Result<Self, ConfigError> {
        let sdk = aws.sdk().await;
        let keyer = gcx_core::customer::load_customer_keyer(&settings.key, Some(sdk))
            .await?
            .ok_or_else(|| {
                ConfigError::new(
                    gcx_core::customer::CUSTOMER_KEY_SECRET_VAR,
                    "is required to serve recent-contact",
                )
            })?;
        Ok(RecentContactAction::new(
            aws_sdk_dynamodb::Client::new(sdk),
            keyer,
            &settings,
        ))
    }
}

/// `window_hours` when the request has none.
pub const DEFAULT_WINDOW_HOURS: u32 = 72;
/// The longest window: a year.
pub const MAX_WINDOW_HOURS: u32 = 8760;
/// `contacts_in_window` counts at most this many contacts (one query page, so one request).
pub const MAX_COUNTED: i32 = 100;

/// A validated request. Its schema is the action's input contract.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(
    title = "Recent contact request",
    description = "The caller's address and how far back to look. The request template sends {\"action\": \"recent-contact\", \"inputs\": <this object>}.",
    extend("additionalProperties" = true)
)]
pub struct Request {
    /// The caller's address, normalized (`gcx_core::customer::normalize`): kept in memory only.
    #[schemars(
        description = "the caller's address as Architect has it (Call.Ani), e.g. tel:+3212345678 or sip:+3212345678@host"
    )]
    pub ani: String,
    /// Hours to look back, 1 to [`MAX_WINDOW_HOURS`].
    #[schemars(
        with = "Option<u32>",
        range(min = 1, max = 8760),
        description = "how many hours to look back; 72 when absent"
    )]
    pub window_hours: u32,
    /// The conversation asking (Architect's `Call.ConversationId`): left out of the answer, since the
    /// pipeline may already have stored it.
    #[schemars(
        description = "the current conversation (Call.ConversationId), which is left out of the answer"
    )]
    pub conversation_id: Option<String>,
}

/// The flat answer: every field, always.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(
    title = "Recent contact result",
    description = "Every response has all eleven fields. found=false (with success=true) means no contact in the window; a failure is success=false with error and message set.",
    deny_unknown_fields
)]
pub struct RecentContact {
    /// The lookup worked (whether or not a contact was found).
    #[schemars(description = "true when the contact history was read")]
    pub success: bool,
    /// At least one earlier contact in the window.
    #[schemars(description = "true when this caller had a conversation within the window")]
    pub found: bool,
    /// The newest earlier conversation, or empty.
    #[schemars(description = "the newest earlier conversation's id; empty when none")]
    pub last_conversation_id: String,
    /// Its end (ISO-8601, from the analytics details), or empty while unknown.
    #[schemars(description = "when that conversation ended (ISO-8601); empty when not known yet")]
    pub last_conversation_end: String,
    /// Hours since that contact began, two decimals; -1 when none.
    #[schemars(description = "hours since that contact began; -1 when none")]
    pub hours_since_last: f64,
    /// Its last queue, or empty.
    #[schemars(description = "the last queue of that conversation; empty when none")]
    pub last_queue_id: String,
    /// Its last agent, or empty.
    #[schemars(description = "the last agent (user id) of that conversation; empty when none")]
    pub last_agent_id: String,
    /// Its last wrap-up code, or empty.
    #[schemars(description = "the last wrap-up code of that conversation; empty when none")]
    pub last_wrapup_code: String,
    /// Earlier conversations within the window (at most [`MAX_COUNTED`]).
    #[schemars(
        description = "earlier conversations of this caller within the window (at most 100)"
    )]
    pub contacts_in_window: u32,
    /// Empty on success; else a short sentence safe to show or say.
    #[schemars(description = "human-readable outcome, safe to log or play back")]
    pub message: String,
    /// Empty on success; else the stable error name.
    #[schemars(
        description = "empty on success, else one of ValidationError, StoreError, ExternalApiTimeout"
    )]
    pub error: String,
}

impl RecentContact {
    fn none() -> RecentContact {
        RecentContact {
            success: true,
            found: false,
            last_conversation_id: String::new(),
            last_conversation_end: String::new(),
            hours_since_last: -1.0,
            last_queue_id: String::new(),
            last_agent_id: String::new(),
            last_wrapup_code: String::new(),
            contacts_in_window: 0,
            message: String::new(),
            error: String::new(),
        }
    }
}

/// A contact in the index: its conversation and when the customer contacted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Contact {
    conversation_id: String,
    customer_contact_at: i64,
}

/// The stored attributes of the newest contact the answer uses (`gcx_core::contract::ConversationRecord` and
/// `Enrichment`), read from the table.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    #[serde(default)]
    conversation_end: Option<String>,
    #[serde(default)]
    queue_ids: Vec<String>,
    #[serde(default)]
    agents: Vec<Agent>,
    #[serde(default)]
    wrap_up_codes: Vec<String>,
}

/// What the query reads: the `CustomerRecency` index's keys and the table's key, all it projects
/// (`KEYS_ONLY`, template.yaml): a write to an item already in the index changes none of them, so it does not
/// write the index too.
const CONTACT: &str = "#c, #at";
/// What the newest contact's `GetItem` reads from the table.
const DETAILS: &str = "#end, #q, #a, #w";

/// The action, built once: the table client and the customer key.
#[derive(Debug, Clone)]
pub struct RecentContactAction {
    client: aws_sdk_dynamodb::Client,
    keyer: CustomerKeyer,
    table: String,
    index: String,
    timeout: Duration,
}

impl RecentContactAction {
    /// The action over `client`, hashing addresses with `keyer` (the pipeline's key).
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        keyer: CustomerKeyer,
        settings: &RecentSettings,
    ) -> RecentContactAction {
        RecentContactAction {
            client,
            keyer,
            table: settings.table.clone(),
            index: settings.index.clone(),
            timeout: settings.timeout,
        }
    }

    async fn query(
        &self,
        key: String,
        since: i64,
        call: &mut Call,
    ) -> Result<Vec<Contact>, ActionError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(&self.index)
            .key_condition_expression("#k = :k AND #at >= :since")
            .projection_expression(CONTACT)
            .set_expression_attribute_names(Some(names(&[
                ("#k", "customerKey"),
                ("#at", "customerContactAt"),
                ("#c", "conversationId"),
            ])))
            .expression_attribute_values(":k", AttributeValue::S(key))
            .expression_attribute_values(":since", AttributeValue::N(since.to_string()))
            .scan_index_forward(false)
            .limit(MAX_COUNTED)
            .send();
        let output = self.timed(call, request).await?;
        serde_dynamo::from_items(output.items.unwrap_or_default())
            .map_err(|_| ActionError::Store("a stored item has an unexpected shape"))
    }

    /// The newest contact's details: one eventually consistent `GetItem` (half a read unit).
    async fn details(&self, conversation_id: &str, call: &mut Call) -> Result<Stored, ActionError> {
        let request = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(
                "conversationId",
                AttributeValue::S(conversation_id.to_owned()),
            )
            .projection_expression(DETAILS)
            .set_expression_attribute_names(Some(names(&[
                ("#end", "conversationEnd"),
                ("#q", "queueIds"),
                ("#a", "agents"),
                ("#w", "wrapUpCodes"),
            ])))
            .send();
        let output = self.timed(call, request).await?;
        match output.item {
            Some(item) => serde_dynamo::from_item(item)
                .map_err(|_| ActionError::Store("a stored item has an unexpected shape")),
            // Expired or deleted since the index answered: the contact is still one.
            None => Ok(Stored::default()),
        }
    }

    /// Awaits one DynamoDB call within what is left of the store timeout and the invocation; counts it.
    async fn timed<T, E>(
        &self,
        call: &mut Call,
        request: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, ActionError>
    where
        E: ProvideErrorMetadata,
    {
        let started = std::time::Instant::now();
        call.facts.attempts += 1;
        let budget = self
            .timeout
            .saturating_sub(call.facts.upstream_latency)
            .min(call.remaining());
        let result = tokio::time::timeout(budget, request).await;
        call.facts.upstream_latency += started.elapsed();
        result
            .map_err(|_| ActionError::Store("the query did not answer in time"))?
            .map_err(|e| ActionError::Store(store_failure(e.code())))
    }
}

fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Action for RecentContactAction {
    const NAME: &'static str = "recent-contact";
    const TITLE: &'static str = "Recent Contact (AWS Lambda)";
    type Input = Request;
    type Output = RecentContact;

    fn parse(event: &Map<String, Value>) -> Result<Request, Rejected> {
        let fields = fields::inputs(event, &["ani"]);
        let reject = |reason| Err(Rejected::because(reason));
        let ani = match fields::text(fields, "ani") {
            Ok(Some(ani)) => ani,
            Ok(None) => return reject(InvalidInput::MissingAddress),
            Err(()) => return reject(InvalidInput::BadAddress),
        };
        let Some(ani) = normalize(ani) else {
            return reject(InvalidInput::BadAddress);
        };
        let window_hours = match fields::whole_number(fields, "window_hours") {
            Ok(None) => DEFAULT_WINDOW_HOURS,
            Ok(Some(h)) if (1..=i64::from(MAX_WINDOW_HOURS)).contains(&h) => h as u32,
            _ => return reject(InvalidInput::BadWindow),
        };
        let conversation_id = match fields::text(fields, "conversation_id") {
            Ok(id) => id.map(str::to_owned),
            Err(()) => None,
        };
        Ok(Request {
            ani,
            window_hours,
            conversation_id,
        })
    }

    fn failure(error: &ActionError) -> RecentContact {
        RecentContact {
            success: false,
            message: error.message().to_owned(),
            error: error.name().to_owned(),
            ..RecentContact::none()
        }
    }

    fn cache_key(input: &Request) -> Option<String> {
        Some(format!(
            "{}\u{1f}{}\u{1f}{}",
            input.ani,
            input.window_hours,
            input.conversation_id.as_deref().unwrap_or("")
        ))
    }

    async fn run(&self, input: Request, call: &mut Call) -> Result<RecentContact, ActionError> {
        let key = self
            .keyer
            .key(&input.ani)
            .ok_or(ActionError::Validation(InvalidInput::BadAddress))?;
        // Keyed, unlike `pii_ref`: a phone number's unkeyed hash can be reversed by trying every number.
        call.facts.subject_ref = Some(key[..12].to_owned());
        let now = now_ms();
        let since = now - i64::from(input.window_hours) * 3_600_000;
        let contacts: Vec<Contact> = self
            .query(key, since, call)
            .await?
            .into_iter()
            .filter(|c| Some(&c.conversation_id) != input.conversation_id.as_ref())
            .collect();
        let details = match contacts.first() {
            Some(newest) => self.details(&newest.conversation_id, call).await?,
            None => Stored::default(),
        };
        Ok(answer(&contacts, &details, now))
    }
}

/// The answer from the contacts found, newest first, and the newest one's details.
fn answer(contacts: &[Contact], details: &Stored, now: i64) -> RecentContact {
    let Some(last) = contacts.first() else {
        return RecentContact::none();
    };
    let hours = (now - last.customer_contact_at).max(0) as f64 / 3_600_000.0;
    RecentContact {
        found: true,
        last_conversation_id: last.conversation_id.clone(),
        last_conversation_end: details.conversation_end.clone().unwrap_or_default(),
        hours_since_last: (hours * 100.0).round() / 100.0,
        last_queue_id: details.queue_ids.last().cloned().unwrap_or_default(),
        last_agent_id: details
            .agents
            .iter()
            .rev()
            .find_map(|a| a.user_id.clone())
            .unwrap_or_default(),
        last_wrapup_code: details.wrap_up_codes.last().cloned().unwrap_or_default(),
        contacts_in_window: u32::try_from(contacts.len()).unwrap_or(u32::MAX),
        ..RecentContact::none()
    }
}

/// A fixed phrase for a DynamoDB error code (never the service's text, which may quote the request).
fn store_failure(code: Option<&str>) -> &'static str {
    match code {
        _ if gcx_core::dynamo::throttled(code) => "the table is throttling reads",
        Some("ResourceNotFoundException") => "the table or its customer index does not exist",
        Some("AccessDeniedException" | "UnrecognizedClientException") => "the query was refused",
        Some("ValidationException") => "the query was rejected (is the index CustomerRecency?)",
        _ => "the table is unavailable",
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Request, InvalidInput> {
        RecentContactAction::parse(v.as_object().unwrap()).map_err(|r| r.reason)
    }

    #[test]
    fn the_address_is_normalized_and_the_window_defaults_to_72_hours() {
        let r = parse(json!({"ani": "tel:+32 12 34 56 78"})).unwrap();
        assert_eq!(r.ani, "+3212345678");
        assert_eq!(r.window_hours, DEFAULT_WINDOW_HOURS);
        let r = parse(json!({"action": "recent-contact", "inputs": {"ani": "tel:+3212345678", "window_hours": "24", "conversation_id": "c1"}})).unwrap();
        assert_eq!(
            (r.window_hours, r.conversation_id.as_deref()),
            (24, Some("c1"))
        );
    }

    #[test]
    fn bad_requests_are_specific_validation_errors() {
        assert_eq!(parse(json!({})), Err(InvalidInput::MissingAddress));
        assert_eq!(
            parse(json!({"ani": "  "})),
            Err(InvalidInput::MissingAddress)
        );
        assert_eq!(
            parse(json!({"ani": 3212345678_i64})),
            Err(InvalidInput::BadAddress)
        );
        assert_eq!(parse(json!({"ani": "tel:"})), Err(InvalidInput::BadAddress));
        for window in [
            json!(0),
            json!(8761),
            json!(-1),
            json!(1.5),
            json!("x"),
            json!(true),
        ] {
            assert_eq!(
                parse(json!({"ani": "tel:+3212345678", "window_hours": window})),
                Err(InvalidInput::BadWindow),
                "{window}"
            );
        }
    }

    #[test]
    fn the_answer_is_the_newest_contact_and_the_count() {
        let now = 10 * 3_600_000;
        let contact = |id: &str, at: i64| Contact {
            conversation_id: id.into(),
            customer_contact_at: at,
        };
        let details = Stored {
            conversation_end: Some("2026-11-30T10:00:00.000Z".into()),
            queue_ids: vec!["q1".into(), "q2".into()],
            agents: vec![Agent {
                user_id: Some("u1".into()),
                name: None,
            }],
            wrap_up_codes: vec!["w1".into()],
        };
        let a = answer(
            &[contact("c2", now - 5_400_000), contact("c1", 0)],
            &details,
            now,
        );
        assert!(a.success && a.found);
        assert_eq!(a.last_conversation_id, "c2");
        assert_eq!(a.hours_since_last, 1.5);
        assert_eq!(
            (
                a.last_queue_id.as_str(),
                a.last_agent_id.as_str(),
                a.last_wrapup_code.as_str()
            ),
            ("q2", "u1", "w1")
        );
        assert_eq!(a.contacts_in_window, 2);
        let none = answer(&[], &details, now);
        assert!(none.success && !none.found && none.hours_since_last == -1.0);
    }

    #[test]
    fn failures_keep_every_field() {
        for error in ActionError::EXAMPLES {
            let out = serde_json::to_value(RecentContactAction::failure(&error)).unwrap();
            assert_eq!(out.as_object().unwrap().len(), 11);
            assert_eq!(out["success"], false);
            assert_eq!(out["error"], error.name());
        }
    }

    proptest! {
        #[test]
        fn any_event_parses_or_is_a_validation_error(ani in any::<String>(), hours in any::<i64>()) {
            match parse(json!({"ani": ani, "window_hours": hours})) {
                Ok(r) => prop_assert!((1..=MAX_WINDOW_HOURS).contains(&r.window_hours) && !r.ani.is_empty()),
                Err(reason) => prop_assert!(matches!(
                    reason,
                    InvalidInput::MissingAddress | InvalidInput::BadAddress | InvalidInput::BadWindow
                )),
            }
        }
    }
}
