//! The AWS clients, built once from the standard configuration, and AWS errors reduced to one line.

use std::fmt;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use crate::cli::AwsArgs;
use crate::error::Error;

/// Every client gcx uses, sharing one configuration (region, credentials, endpoint).
pub struct Clients {
    /// SQS: the queues.
    pub sqs: aws_sdk_sqs::Client,
    /// Step Functions: pipeline redrives, running executions.
    pub sfn: aws_sdk_sfn::Client,
    /// CloudFormation: the stack's outputs.
    pub cfn: aws_sdk_cloudformation::Client,
    /// Lambda: fanout, invoked asynchronously in direct mode.
    pub lambda: aws_sdk_lambda::Client,
}

impl Clients {
    /// Loads the standard AWS configuration, with the flags on top.
    pub async fn load(args: &AwsArgs) -> Result<Self, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &args.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &args.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(endpoint) = &args.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let conf = loader.load().await;
        if conf.region().is_none() {
            return Err(Error::NoRegion);
        }
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(&conf),
            sfn: aws_sdk_sfn::Client::new(&conf),
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            lambda: aws_sdk_lambda::Client::new(&conf),
        })
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
