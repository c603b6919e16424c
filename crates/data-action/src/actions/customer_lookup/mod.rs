//! `customer-lookup`: looks a customer up in an external REST API (`GET {EXTERNAL_API_URL}?id=&locale=`)
//! and returns the flat seven-field output (`docs/contracts.md`, section data-action).
//!
//! Modules: [`input`] (event validation), [`upstream`] (the HTTP call), [`output`] (the answer's shape).

pub mod input;
pub mod output;
pub mod upstream;

use gcx_core::config::ConfigError;
use gcx_core::redact::pii_ref;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::action::{Action, Call, Rejected};
use crate::config::LookupSettings;
use crate::error::ActionError;
use input::Request;
use output::Output;
use upstream::Upstream;

/// The `User-Agent` sent upstream.
const USER_AGENT: &str = concat!("gcx-data-action/", env!("CARGO_PKG_VERSION"));

/// The lookup, built once: the upstream with its client and headers.
#[derive(Debug, Clone)]
pub struct CustomerLookup {
    upstream: Upstream,
}

impl CustomerLookup {
    /// Prepares the upstream (one HTTP client, reused); `token` is the bearer token, if any.
    pub fn new(
        settings: &LookupSettings,
        token: Option<&SecretString>,
    ) -> Result<CustomerLookup, ConfigError> {
        let client = gcx_core::http::client(USER_AGENT, settings.timeout);
        let upstream = Upstream::new(client, settings.url.clone(), token, settings.timeout)?;
        Ok(CustomerLookup { upstream })
    }
}

impl Action for CustomerLookup {
    const NAME: &'static str = "customer-lookup";
    const TITLE: &'static str = "Customer Lookup (AWS Lambda)";
    type Input = Request;
    type Output = Output;

    fn parse(event: &Map<String, Value>) -> Result<Request, Rejected> {
        input::parse_fields(event)
    }

    fn failure(error: &ActionError) -> Output {
        Output::failure(error)
    }

    fn subject_ref(input: &Request) -> Option<String> {
        Some(pii_ref(&input.customer_id))
    }

    /// Id and locale: the upstream answer depends on nothing else. The key stays in this container's
    /// memory only.
    fn cache_key(input: &Request) -> Option<String> {
        Some(format!("{}\u{1f}{}", input.customer_id, input.locale))
    }

    async fn run(&self, input: Request, call: &mut Call) -> Result<Output, ActionError> {
        let exchange = self.upstream.fetch(&input, call.deadline).await;
        call.facts.upstream_status = exchange.status;
        call.facts.attempts = exchange.attempts;
        call.facts.upstream_latency = exchange.latency;
        exchange
            .outcome
            .and_then(|body| Output::from_upstream(&body))
    }
}
