//! `customer-lookup`: looks a customer up in an external REST API (`GET {EXTERNAL_API_URL}?id=&locale=`)
//! and returns the flat seven-field output (`docs/contracts.md`, section data-action).
//!
//! Modules: [`settings`] (its variables), [`input`] (event validation), [`upstream`] (the HTTP call),
//! [`output`] (the answer's shape).

pub mod input;
pub mod output;
pub mod settings;
pub mod upstream;

use gcx_core::config::{ConfigError, Env};
use gcx_core::redact::pii_ref;
use gcx_core::setting::Setting;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::action::{Action, Aws, Build, Call, Rejected};
use crate::error::ActionError;
use input::Request;
use output::Output;
use settings::{LookupSettings, TokenSource, TOKEN_SECRET_VAR};
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

/// Served when `EXTERNAL_API_URL` is set, or when it is the default action (then the URL is required).
impl Build for CustomerLookup {
    type Settings = LookupSettings;
    const SETTINGS: &'static [Setting] = settings::SETTINGS;

    fn settings(env: &dyn Env, required: bool) -> Result<Option<LookupSettings>, ConfigError> {
        if !required && settings::EXTERNAL_API_URL.read_optional(env).is_none() {
            return Ok(None);
        }
        LookupSettings::from_env(env).map(Some)
    }

    /// Reads the token's secret, if one is configured: only then is the AWS configuration loaded.
    async fn build(settings: LookupSettings, aws: &Aws) -> Result<Self, ConfigError> {
        let sdk = match settings.token {
            TokenSource::Secret(_) => Some(aws.sdk().await),
            _ => None,
        };
        let token = gcx_core::aws::secret_value(&settings.token, TOKEN_SECRET_VAR, sdk).await?;
        CustomerLookup::new(&settings, token.as_ref())
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
