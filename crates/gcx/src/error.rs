//! What stops gcx before it can work: each a single line that names what failed, so an operator knows
//! which name, permission or stack to look at. Failures of single messages are not errors: they are
//! counted in the run's summary and reflected in the exit status.

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
        detail: crate::aws::Failure,
    },
}

impl Error {
    /// A queue that could not be read: named by its template name and URL.
    pub fn queue(name: &str, url: &str, failure: crate::aws::Failure) -> Self {
        if failure.is_missing_queue() {
            return Self::Missing(format!(
                "{name} {url} does not exist (check the URL, the region and the account)"
            ));
        }
        Self::aws(format!("{name} {url}"), failure)
    }

    /// An AWS call that failed.
    pub fn aws(what: impl Into<String>, detail: crate::aws::Failure) -> Self {
        Self::Aws {
            what: what.into(),
            detail,
        }
    }
}
