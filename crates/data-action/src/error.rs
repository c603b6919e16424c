//! The outcomes that are not a success, with the stable names Architect flows branch on (`error` field) and
//! the short sentences a flow may show or say (`message` field).
//!
//! One list for every action a function serves, so a name means the same thing in every contract.
//!
//! Nothing here carries internal error text, the customer id or a URL: the `detail` of a variant is a
//! fixed, log-safe phrase. Every outcome is still a *successful* invocation (see `docs/contracts.md`).

/// A validation rule an action declares in its own module, so that a new action's rejections need no change
/// here: a fixed phrase for the log and the sentence for `message`, neither echoing the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The log-safe phrase naming the field at fault.
    pub detail: &'static str,
    /// The sentence returned in `message`.
    pub message: &'static str,
}

/// Why the event was rejected before any upstream call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidInput {
    /// A rule of the action's own ([`Rule`]).
    Rule(&'static Rule),
    /// The event is an array, string, number or null.
    NotAnObject,
    /// `customer_id` is absent, null, empty or whitespace.
    MissingId,
    /// `customer_id` is a bool, array, object or a non-integer number.
    IdNotText,
    /// `customer_id` is longer than [`crate::actions::customer_lookup::input::MAX_ID_CHARS`] characters.
    IdTooLong,
    /// `customer_id` contains control characters.
    IdControlCharacters,
    /// `locale` is not text or not a BCP-47-like tag.
    BadLocale,
    /// `action` names no action this function serves, or is not text. The message (built once at init)
    /// lists the actions it does serve.
    UnknownAction(&'static str),
    /// `ani` (recent-contact) is absent, null or empty.
    MissingAddress,
    /// `ani` is not text, or not a phone number or SIP address.
    BadAddress,
    /// `window_hours` is not a whole number from 1 to [`crate::actions::recent_contact::MAX_WINDOW_HOURS`].
    BadWindow,
}

impl InvalidInput {
    /// A fixed, log-safe phrase naming the field at fault (never its value).
    pub fn detail(self) -> &'static str {
        match self {
            InvalidInput::Rule(rule) => rule.detail,
            InvalidInput::NotAnObject => "event is not a JSON object",
            InvalidInput::MissingId => "customer_id is missing",
            InvalidInput::IdNotText => "customer_id is neither text nor a whole number",
            InvalidInput::IdTooLong => "customer_id is too long",
            InvalidInput::IdControlCharacters => "customer_id contains control characters",
            InvalidInput::BadLocale => "locale is not a language tag",
            InvalidInput::UnknownAction(_) => "action is not one this function serves",
            InvalidInput::MissingAddress => "ani is missing",
            InvalidInput::BadAddress => "ani is not a phone number or SIP address",
            InvalidInput::BadWindow => "window_hours is out of range",
        }
    }

    /// The sentence returned in `message`: safe to show a caller, never echoing the input.
    pub fn message(self) -> &'static str {
        match self {
            InvalidInput::Rule(rule) => rule.message,
            InvalidInput::NotAnObject => "The request is not in the expected format.",
            InvalidInput::MissingId => "A customer ID is required.",
            InvalidInput::IdNotText => "The customer ID must be text or a whole number.",
            InvalidInput::IdTooLong => "The customer ID is too long.",
            InvalidInput::IdControlCharacters => {
                "The customer ID contains characters that are not allowed."
            }
            InvalidInput::BadLocale => "The locale must be a language tag such as en-US.",
            InvalidInput::UnknownAction(message) => message,
            InvalidInput::MissingAddress => "The caller's address (ani) is required.",
            InvalidInput::BadAddress => {
                "The caller's address must be a phone number or a SIP address."
            }
            InvalidInput::BadWindow => "The window must be a whole number of hours from 1 to 8760.",
        }
    }
}

/// Every way an invocation can end without customer data; `name()` is the contract's `error` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The event failed validation; no upstream request was made.
    #[error("ValidationError: {0}")]
    Validation(InvalidInput),
    /// The upstream answered 404 for this customer.
    #[error("NotFound")]
    NotFound,
    /// The upstream refused (401/403), was rate limited (429), failed (5xx) or unreachable.
    #[error("ExternalApiError: {0}")]
    ExternalApi(&'static str),
    /// The upstream did not answer within `EXTERNAL_API_TIMEOUT` or before the Lambda deadline.
    #[error("ExternalApiTimeout")]
    ExternalApiTimeout,
    /// A 2xx whose body is not JSON, not an object, has no `data` object, a bad field, or is over 1 MiB.
    #[error("InvalidExternalResponse: {0}")]
    InvalidExternalResponse(&'static str),
    /// Something that points at this function or its configuration: another 4xx, an unfollowed 3xx.
    #[error("InternalServerError: {0}")]
    Internal(&'static str),
    /// The pipeline's table could not be read (recent-contact): throttled, unavailable or refused.
    #[error("StoreError: {0}")]
    Store(&'static str),
}

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.detail())
    }
}

impl std::error::Error for InvalidInput {}

impl ActionError {
    /// One of each kind, for exhaustive tests (schema, messages) that must not miss a new variant.
    pub const EXAMPLES: [ActionError; 16] = [
        ActionError::Validation(InvalidInput::NotAnObject),
        ActionError::Validation(InvalidInput::MissingId),
        ActionError::Validation(InvalidInput::IdNotText),
        ActionError::Validation(InvalidInput::IdTooLong),
        ActionError::Validation(InvalidInput::IdControlCharacters),
        ActionError::Validation(InvalidInput::BadLocale),
        ActionError::NotFound,
        ActionError::ExternalApi("unavailable"),
        ActionError::ExternalApiTimeout,
        ActionError::InvalidExternalResponse("not_json"),
        ActionError::Internal("unexpected_status"),
        ActionError::Validation(InvalidInput::UnknownAction("Unknown action.")),
        ActionError::Validation(InvalidInput::MissingAddress),
        ActionError::Validation(InvalidInput::BadAddress),
        ActionError::Validation(InvalidInput::BadWindow),
        ActionError::Store("unavailable"),
    ];

    /// The stable name returned in the `error` field and logged as `outcome`.
    pub fn name(&self) -> &'static str {
        match self {
            ActionError::Validation(_) => "ValidationError",
            ActionError::NotFound => "NotFound",
            ActionError::ExternalApi(_) => "ExternalApiError",
            ActionError::ExternalApiTimeout => "ExternalApiTimeout",
            ActionError::InvalidExternalResponse(_) => "InvalidExternalResponse",
            ActionError::Internal(_) => "InternalServerError",
            ActionError::Store(_) => "StoreError",
        }
    }

    /// The sentence returned in `message`: short, safe to show or say, no internal text and no id.
    pub fn message(&self) -> &'static str {
        match self {
            ActionError::Validation(why) => why.message(),
            ActionError::NotFound => "No customer was found with that ID.",
            ActionError::ExternalApi(_) => {
                "The customer system is unavailable. Please try again later."
            }
            ActionError::ExternalApiTimeout => {
                "The customer system did not respond in time. Please try again later."
            }
            ActionError::InvalidExternalResponse(_) => {
                "The customer system returned a response that could not be read."
            }
            ActionError::Internal(_) => "Something went wrong while looking up the customer.",
            ActionError::Store(_) => "The contact history is unavailable. Please try again later.",
        }
    }

    /// A fixed, log-safe phrase for operators (never input data, never upstream text).
    pub fn detail(&self) -> &'static str {
        match self {
            ActionError::Validation(why) => why.detail(),
            ActionError::NotFound => "upstream answered 404",
            ActionError::ExternalApiTimeout => "upstream did not answer within the time budget",
            ActionError::ExternalApi(d)
            | ActionError::InvalidExternalResponse(d)
            | ActionError::Internal(d)
            | ActionError::Store(d) => d,
        }
    }
}
