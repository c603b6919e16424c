//! Which queues, state machine and function gcx works on: the stack's outputs, with every explicit flag
//! on top. Resolved once, before anything is received, so a missing name fails the run before it
//! touches a message.

use std::collections::HashMap;

use crate::aws::Failure;
use crate::cli::{Kind, QueueArg, TargetArgs};
use crate::error::Error;

/// The resolved names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// The stack they came from, if any (for messages).
    pub stack: Option<String>,
    /// `DeadLetterQueueUrl`.
    pub dead_letter_queue: Option<String>,
    /// `EnrichmentDeadLetterQueueUrl`.
    pub enrichment_dead_letter_queue: Option<String>,
    /// `EventDeadLetterQueueUrl`.
    pub event_dead_letter_queue: Option<String>,
    /// `FanoutDeadLetterQueueUrl`.
    pub fanout_dead_letter_queue: Option<String>,
    /// `EnrichmentQueueUrl`.
    pub enrichment_queue: Option<String>,
    /// `FanoutBufferQueueUrl` (sqs mode only).
    pub buffer_queue: Option<String>,
    /// `StateMachineArn`.
    pub state_machine: Option<String>,
    /// `FanoutFunctionArn`.
    pub fanout_function: Option<String>,
    /// The queue `--queue NAME` picked, if it named one.
    pub picked: Option<Kind>,
}

/// Where one dead-letter queue's messages go back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// StartExecution on the pipeline state machine.
    StateMachine(String),
    /// SendMessage to a queue: `name` is its template name, for messages.
    Queue {
        /// The queue URL.
        url: String,
        /// `EnrichmentQueue` or `FanoutBufferQueue`.
        name: &'static str,
    },
    /// Asynchronous Invoke of the fanout function.
    Function(String),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::StateMachine(arn) => write!(f, "state machine {arn}"),
            Self::Queue { url, name } => write!(f, "{name} {url}"),
            Self::Function(arn) => write!(f, "fanout function {arn} (asynchronous invoke)"),
        }
    }
}

/// The names from `args`, and from the stack's outputs when `--stack` is given.
pub async fn resolve(
    args: &TargetArgs,
    cfn: &aws_sdk_cloudformation::Client,
) -> Result<Targets, Error> {
    let outputs = match &args.stack {
        Some(stack) => stack_outputs(cfn, stack).await?,
        None => HashMap::new(),
    };
    merge(args, &outputs)
}

/// Flags over outputs.
fn merge(args: &TargetArgs, outputs: &HashMap<String, String>) -> Result<Targets, Error> {
    let pick = |flag: &Option<String>, key: &str| -> Option<String> {
        flag.clone()
            .or_else(|| outputs.get(key).cloned())
            .filter(|v| !v.trim().is_empty())
    };
    let (queue_url, picked) = match &args.queue {
        Some(QueueArg::Url(url)) => (Some(url.clone()), None),
        Some(QueueArg::Kind(kind)) => (None, Some(*kind)),
        None => (None, None),
    };
    if let (Some(a), Some(b)) = (&queue_url, &args.dead_letter_queue) {
        if a != b {
            return Err(Error::Conflict(
                "--queue URL and --dead-letter-queue both name the pipeline dead-letter queue, differently: give one"
                    .into(),
            ));
        }
    }
    Ok(Targets {
        stack: args.stack.clone(),
        dead_letter_queue: pick(
            &args.dead_letter_queue.clone().or(queue_url),
            Kind::Pipeline.output_key(),
        ),
        enrichment_dead_letter_queue: pick(
            &args.enrichment_dead_letter_queue,
            Kind::Enrichment.output_key(),
        ),
        event_dead_letter_queue: pick(&args.event_dead_letter_queue, Kind::Events.output_key()),
        fanout_dead_letter_queue: pick(&args.fanout_dead_letter_queue, Kind::Fanout.output_key()),
        enrichment_queue: pick(&args.enrichment_queue, "EnrichmentQueueUrl"),
        buffer_queue: pick(&args.buffer_queue, "FanoutBufferQueueUrl"),
        state_machine: pick(&args.state_machine, "StateMachineArn"),
        fanout_function: pick(&args.fanout_function, "FanoutFunctionArn"),
        picked,
    })
}

/// The stack's outputs by key.
async fn stack_outputs(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<HashMap<String, String>, Error> {
    let out = match cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out,
        Err(e) => {
            let failure = Failure::of(&e);
            // CloudFormation answers a missing stack with a plain ValidationError.
            if failure.code == "ValidationError" && failure.message.contains("does not exist") {
                return Err(Error::StackNotFound(stack.to_owned()));
            }
            return Err(Error::aws(format!("DescribeStacks {stack}"), failure));
        }
    };
    let Some(found) = out.stacks().first() else {
        return Err(Error::StackNotFound(stack.to_owned()));
    };
    Ok(found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect())
}

impl Targets {
    /// The dead-letter queue of `kind`, when known.
    pub fn dead_letter_queue(&self, kind: Kind) -> Option<&str> {
        match kind {
            Kind::Pipeline => self.dead_letter_queue.as_deref(),
            Kind::Enrichment => self.enrichment_dead_letter_queue.as_deref(),
            Kind::Events => self.event_dead_letter_queue.as_deref(),
            Kind::Fanout => self.fanout_dead_letter_queue.as_deref(),
        }
    }

    /// The dead-letter queues to work on: those of `only` (and `--queue NAME`), each of which must be
    /// known, or else every one that is known.
    pub fn selected(&self, only: &[Kind]) -> Result<Vec<(Kind, String)>, Error> {
        let mut wanted: Vec<Kind> = only.iter().copied().chain(self.picked).collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            let all: Vec<(Kind, String)> = Kind::ALL
                .into_iter()
                .filter_map(|k| Some((k, self.dead_letter_queue(k)?.to_owned())))
                .collect();
            if all.is_empty() {
                return Err(Error::NoQueues);
            }
            return Ok(all);
        }
        wanted
            .into_iter()
            .map(|k| match self.dead_letter_queue(k) {
                Some(url) => Ok((k, url.to_owned())),
                None => Err(Error::Missing(format!(
                    "{k}: no {} URL: {}pass {} URL",
                    k.queue_name(),
                    self.no_output(k.output_key()),
                    k.flag()
                ))),
            })
            .collect()
    }

    /// Where the messages of `kind` are redriven to.
    pub fn destination(&self, kind: Kind) -> Result<Destination, Error> {
        match kind {
            Kind::Pipeline => self
                .state_machine
                .clone()
                .map(Destination::StateMachine)
                .ok_or_else(|| {
                    Error::Missing(format!(
                        "pipeline: no state machine to restart the events on: {}pass --state-machine ARN",
                        self.no_output("StateMachineArn")
                    ))
                }),
            Kind::Enrichment => self
                .enrichment_queue
                .clone()
                .map(|url| Destination::Queue {
                    url,
                    name: "EnrichmentQueue",
                })
                .ok_or_else(|| {
                    Error::Missing(format!(
                        "enrichment: no EnrichmentQueue to send the requests to: {}pass --enrichment-queue URL",
                        self.no_output("EnrichmentQueueUrl")
                    ))
                }),
            Kind::Events | Kind::Fanout => {
                if let Some(url) = &self.buffer_queue {
                    Ok(Destination::Queue {
                        url: url.clone(),
                        name: "FanoutBufferQueue",
                    })
                } else if let Some(arn) = &self.fanout_function {
                    Ok(Destination::Function(arn.clone()))
                } else {
                    Err(Error::Missing(format!(
                        "{kind}: nowhere to deliver the events to: {}pass --buffer-queue URL (sqs mode) or --fanout-function ARN (direct mode)",
                        self.no_output("FanoutBufferQueueUrl nor FanoutFunctionArn")
                    )))
                }
            }
        }
    }

    /// "stack X has no output Y; " when a stack was given, so the message says where gcx looked.
    fn no_output(&self, key: &str) -> String {
        match &self.stack {
            Some(stack) => format!("stack {stack} has no output {key}; "),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs() -> HashMap<String, String> {
        [
            ("DeadLetterQueueUrl", "https://q/dlq"),
            ("EventDeadLetterQueueUrl", "https://q/events"),
            ("StateMachineArn", "arn:sm"),
            ("FanoutFunctionArn", "arn:fn"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn flags_win_over_outputs() {
        let args = TargetArgs {
            stack: Some("s".into()),
            state_machine: Some("arn:other".into()),
            ..TargetArgs::default()
        };
        let t = merge(&args, &outputs()).unwrap();
        assert_eq!(t.state_machine.as_deref(), Some("arn:other"));
        assert_eq!(t.dead_letter_queue.as_deref(), Some("https://q/dlq"));
        assert_eq!(
            t.destination(Kind::Events).unwrap(),
            Destination::Function("arn:fn".into())
        );
        let with_buffer = TargetArgs {
            buffer_queue: Some("https://q/buffer".into()),
            ..args
        };
        assert_eq!(
            merge(&with_buffer, &outputs())
                .unwrap()
                .destination(Kind::Fanout)
                .unwrap(),
            Destination::Queue {
                url: "https://q/buffer".into(),
                name: "FanoutBufferQueue"
            }
        );
    }

    #[test]
    fn queue_url_is_the_pipeline_dead_letter_queue_and_a_name_picks_one() {
        let args = TargetArgs {
            queue: Some(QueueArg::Url("https://q/mine".into())),
            ..TargetArgs::default()
        };
        let t = merge(&args, &outputs()).unwrap();
        assert_eq!(
            t.selected(&[]).unwrap(),
            [
                (Kind::Pipeline, "https://q/mine".to_owned()),
                (Kind::Events, "https://q/events".to_owned())
            ]
        );
        let args = TargetArgs {
            queue: Some(QueueArg::Kind(Kind::Events)),
            ..TargetArgs::default()
        };
        let t = merge(&args, &outputs()).unwrap();
        assert_eq!(
            t.selected(&[]).unwrap(),
            [(Kind::Events, "https://q/events".to_owned())]
        );
    }

    #[test]
    fn a_missing_name_says_which_output_and_which_flag() {
        let args = TargetArgs {
            stack: Some("prod".into()),
            ..TargetArgs::default()
        };
        let t = merge(&args, &HashMap::new()).unwrap();
        let e = t.selected(&[Kind::Enrichment]).unwrap_err().to_string();
        assert_eq!(e, "enrichment: no EnrichmentDeadLetterQueue URL: stack prod has no output EnrichmentDeadLetterQueueUrl; pass --enrichment-dead-letter-queue URL");
        let e = t.destination(Kind::Pipeline).unwrap_err().to_string();
        assert!(
            e.contains("StateMachineArn") && e.contains("--state-machine"),
            "{e}"
        );
        assert!(matches!(t.selected(&[]), Err(Error::NoQueues)));
    }

    #[test]
    fn two_different_pipeline_queues_conflict() {
        let args = TargetArgs {
            queue: Some(QueueArg::Url("https://q/a".into())),
            dead_letter_queue: Some("https://q/b".into()),
            ..TargetArgs::default()
        };
        assert!(matches!(
            merge(&args, &HashMap::new()),
            Err(Error::Conflict(_))
        ));
    }
}
