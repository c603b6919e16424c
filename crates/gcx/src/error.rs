//! What stops gcx before it can work: each a single line that names what failed, so an operator knows
//! which name, permission or stack to look at. Failures of single messages are not errors: they are
//! counted in the run's summary and reflected in the exit status. An AWS error is reduced to one line
//! ([`Failure`]).

use std::fmt;

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

/// A reason gcx cannot run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No region from the flag, the environment or the profile.
    #[error("no AWS region: set AWS_REGION or pass --region")]
    NoRegion,
    /// DescribeStacks knows no such stack.
    #[error("stack {0} does not exist in this account and region (check --stack, --region, AWS_PROFILE)")]
    StackNotFound(String),
    /// Two flags name the same thing differently.
    #[error("{0}")]
    Conflict(String),
    /// A queue, state machine or function that the work needs has no name.
    #[error("{0}")]
    Missing(String),
    /// Nothing to work on at all.
    #[error("no dead-letter queue to work on: pass --stack NAME, or --queue URL (the pipeline dead-letter queue), \
--enrichment-dead-letter-queue URL, --event-dead-letter-queue URL or --fanout-dead-letter-queue URL")]
    NoQueues,
    /// An AWS call failed: `what` names the call and its target.
    #[error("{what}: {detail}")]
    Aws {
        /// The call and what it was about, e.g. `GetQueueAttributes https://.../DeadLetterQueue`.
        what: String,
        /// Why, in AWS's words (the error code and message).
        detail: Failure,
    },
}

impl Error {
    /// A queue that could not be read: named by its template name and URL.
    pub fn queue(name: &str, url: &str, failure: Failure) -> Self {
        if failure.is_missing_queue() {
            return Self::Missing(format!(
                "{name} {url} does not exist (check the URL, the region and the account)"
            ));
        }
        Self::aws(format!("{name} {url}"), failure)
    }

    /// An AWS call that failed.
    pub fn aws(what: impl Into<String>, detail: Failure) -> Self {
        Self::Aws {
            what: what.into(),
            detail,
        }
    }
}

/// A failed AWS call, as a person needs it: AWS's error code and message, or what went wrong on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The AWS error code (`StateMachineDoesNotExist`, `AccessDenied`, ...); empty when the call never got
    /// an answer.
    pub code: String,
    /// AWS's message, or the transport's.
    pub message: String,
}

/// Codes that say the target itself is unusable (missing, or not ours to use): every later message of
/// the same queue would fail the same way, so its pass stops at the first.
const TARGET_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "StateMachineDoesNotExist",
    "StateMachineDeleting",
    "InvalidArn",
    "ResourceNotFoundException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "KMS.AccessDeniedException",
    "KMSAccessDeniedException",
];

impl Failure {
    /// From any SDK call's error.
    pub fn of<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug + 'static,
    {
        match err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                Self {
                    code: e.code().unwrap_or("UnknownError").to_owned(),
                    message: e.message().unwrap_or_default().to_owned(),
                }
            }
            SdkError::TimeoutError(_) => Self::transport("the call timed out"),
            _ => {
                let why = chain(err);
                if why.contains("no credentials") {
                    return Self::transport(
                        "no AWS credentials found: set AWS_PROFILE (an SSO profile: export its \
                         credentials first, see gcx --help) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                    );
                }
                match err {
                    SdkError::DispatchFailure(_) => {
                        Self::transport(format!("cannot reach AWS: {why}"))
                    }
                    _ => Self::transport(why),
                }
            }
        }
    }

    /// A failure without an AWS answer.
    pub fn transport(message: impl Into<String>) -> Self {
        Self {
            code: String::new(),
            message: message.into(),
        }
    }

    /// Whether every later call to the same target would fail the same way.
    pub fn is_about_the_target(&self) -> bool {
        self.code.is_empty() || TARGET_CODES.contains(&self.code.as_str())
    }

    /// Whether SQS says the queue does not exist.
    pub fn is_missing_queue(&self) -> bool {
        matches!(
            self.code.as_str(),
            "AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist"
        )
    }
}

/// An error and its sources, each said once, joined on one line (the SDK's own context adds Debug dumps).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: AWS messages are one line, transport chains are joined by the SDK.
        let message = self.message.replace(['\n', '\r'], " ");
        match (self.code.is_empty(), message.is_empty()) {
            (true, _) => f.write_str(&message),
            (false, true) => f.write_str(&self.code),
            (false, false) => write!(f, "{}: {message}", self.code),
        }
    }
}
