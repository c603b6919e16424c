//! The command line: every flag, its help, and the checks that need no AWS call.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const ABOUT: &str =
    "Operate a deployed Genesys Cloud → AWS pipeline: redrive its dead-letter queues, \
see queue depths, failures and the enrichment lag.";

const LONG_ABOUT: &str = "Operate a deployed Genesys Cloud → AWS pipeline: redrive its dead-letter queues, \
see queue depths, failures and the enrichment lag.

Name the stack with --stack: its outputs give every queue, the state machine and the fanout function. Or give \
each name with its own flag (--queue URL --state-machine ARN is enough for the pipeline dead-letter queue). A flag \
always wins over the stack's output.

Region, credentials and endpoint come from the usual AWS environment (AWS_REGION, AWS_PROFILE, \
AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...), or --region / --profile / --endpoint-url. SSO profiles need \
`eval \"$(aws configure export-credentials --format env)\"` first.

gcx prints message, event and conversation ids, error names and AWS names, never an event body.";

const AFTER_HELP: &str = "Examples:
  gcx status --stack genesys-cx-aws
  gcx redrive --stack genesys-cx-aws --dry-run
  gcx redrive --stack genesys-cx-aws --only pipeline --error Store.Unavailable --since 2h
  gcx redrive --queue https://sqs.eu-west-1.amazonaws.com/123456789012/DeadLetterQueue \\
              --state-machine arn:aws:states:eu-west-1:123456789012:stateMachine:Pipeline

Exit status: 0 done; 1 some matched messages could not be redriven (they are still in their queue); \
2 bad arguments; 3 gcx could not run (stack, queue or access problem, named on stderr).";

const REDRIVE_ABOUT: &str =
    "Move dead-lettered messages back into the pipeline, each queue in its own way";

const REDRIVE_LONG: &str = "Move dead-lettered messages back into the pipeline, each queue in its own way:

  pipeline    DeadLetterQueue: StartExecution of the message's `input` on the state machine, named \
redrive-<hash of the execution and event it was dead-lettered from>, so a second run after a crash, or a second \
letter of the same event, starts nothing twice.
  enrichment  EnrichmentDeadLetterQueue: its `input` ({\"requests\": [...]}) sent to EnrichmentQueue; a message \
that is already such a body (moved by the queue's redrive policy) is sent as it is.
  events      EventDeadLetterQueue: the raw EventBridge event sent to FanoutBufferQueue, or, with no buffer \
queue (BufferMode=direct), fanout invoked asynchronously with it. Fanout.MalformedEvent messages never succeed as \
they are: they are skipped unless --error Fanout.MalformedEvent is given.
  fanout      FanoutDeadLetterQueue: the Lambda on-failure record's `requestPayload`, delivered the same way.

Letters of one event of one execution (two copies of a send, or an event dead-lettered alone and again with its \
whole batch) are one: the first is redriven, the repeats deleted.

--execution ARN recovers an execution that failed with Pipeline.DeadLetterUnavailable (its dead letters could \
not all be sent): each event of its input is started alone, named as its letter's redrive would be.

A message is deleted only after its redrive succeeded. Messages that do not match the filters, and messages \
that could not be redriven, are made visible again (visibility 0) when their queue's pass ends; they are never \
deleted. Without --only (or --queue NAME), every dead-letter queue that is known is redriven.";

const REDRIVE_AFTER: &str = "Examples:
  gcx redrive --stack genesys-cx-aws --dry-run                       # what would happen, nothing changes
  gcx redrive --stack genesys-cx-aws --only enrichment               # after fixing the Genesys credentials
  gcx redrive --stack genesys-cx-aws --conversation 2f7bf00a-0fc2-4d6a-9b56-92238191433e
  gcx redrive --stack genesys-cx-aws --only events --since 30m --max 100 --rate 5
  gcx redrive --execution arn:aws:states:eu-west-1:123456789012:execution:Pipeline:batch-12-0a1b...";

const STATUS_ABOUT: &str =
    "Queue depths, recent failures by error name, enrichment lag, running executions";

const STATUS_LONG: &str = "Queue depths, recent failures by error name, enrichment lag, running executions.

Depths are SQS's approximate counts (visible, in flight, delayed). Failures are counted on a sample: gcx \
receives up to --peek messages of each dead-letter queue with a short visibility timeout and makes them visible \
again at once; nothing is ever deleted. The enrichment lag is the age of the oldest request among up to 10 \
visible EnrichmentQueue messages (its firstQueuedAt, else when the message was sent); that peek counts as one \
receive towards EnrichmentQueue's maxReceiveCount (10), so do not run status in a tight loop (--no-peek \
skips every peek).";

const STATUS_AFTER: &str = "Examples:
  gcx status --stack genesys-cx-aws
  gcx status --stack genesys-cx-aws --only pipeline,enrichment --peek 200
  gcx status --queue https://sqs.eu-west-1.amazonaws.com/123456789012/DeadLetterQueue --no-peek";

/// `gcx`: see the module docs of each subcommand.
#[derive(Debug, Parser)]
#[command(name = "gcx", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// Where the AWS calls go.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// What the stack is made of.
    #[command(flatten)]
    pub targets: TargetArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(about = REDRIVE_ABOUT, long_about = REDRIVE_LONG, after_help = REDRIVE_AFTER)]
    /// Move dead-lettered messages back into the pipeline.
    Redrive(RedriveArgs),
    #[command(about = STATUS_ABOUT, long_about = STATUS_LONG, after_help = STATUS_AFTER)]
    /// Queue depths, failures, lag.
    Status(StatusArgs),
}

/// Region, profile and endpoint; everything else comes from the standard AWS environment.
#[derive(Debug, Args)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// AWS region (default: AWS_REGION, then the profile's).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile of ~/.aws/config (default: AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every AWS call here, e.g. a local moto (default: AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// The stack, or each of its parts by name. A flag wins over the stack's output.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Stack (its outputs), or each part by name")]
pub struct TargetArgs {
    /// CloudFormation stack whose outputs name every queue, the state machine and the fanout function.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "GCX_STACK",
        hide_env_values = true
    )]
    pub stack: Option<String>,
    /// A queue URL: the pipeline dead-letter queue (same as --dead-letter-queue). Or a queue name
    /// (pipeline, enrichment, events, fanout): only that queue, like --only.
    #[arg(long, global = true, value_name = "URL|NAME", value_parser = parse_queue)]
    pub queue: Option<QueueArg>,
    /// Pipeline dead-letter queue URL (output DeadLetterQueueUrl).
    #[arg(long, global = true, value_name = "URL")]
    pub dead_letter_queue: Option<String>,
    /// Enrichment dead-letter queue URL (output EnrichmentDeadLetterQueueUrl).
    #[arg(long, global = true, value_name = "URL")]
    pub enrichment_dead_letter_queue: Option<String>,
    /// Event dead-letter queue URL (output EventDeadLetterQueueUrl).
    #[arg(long, global = true, value_name = "URL")]
    pub event_dead_letter_queue: Option<String>,
    /// Fanout dead-letter queue URL, direct mode's on-failure destination (output FanoutDeadLetterQueueUrl).
    #[arg(long, global = true, value_name = "URL")]
    pub fanout_dead_letter_queue: Option<String>,
    /// Enrichment queue URL, where enrichment requests are redriven to (output EnrichmentQueueUrl).
    #[arg(long, global = true, value_name = "URL")]
    pub enrichment_queue: Option<String>,
    /// Fanout buffer queue URL, where raw events are redriven to in sqs mode (output FanoutBufferQueueUrl).
    #[arg(long, global = true, value_name = "URL")]
    pub buffer_queue: Option<String>,
    /// Pipeline state machine ARN, where pipeline dead letters are restarted (output StateMachineArn).
    #[arg(long, global = true, value_name = "ARN")]
    pub state_machine: Option<String>,
    /// Fanout function ARN, invoked asynchronously when there is no buffer queue (output FanoutFunctionArn).
    #[arg(long, global = true, value_name = "ARN")]
    pub fanout_function: Option<String>,
}

/// What `--queue` named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueArg {
    /// The pipeline dead-letter queue's URL.
    Url(String),
    /// One of the dead-letter queues, by name.
    Kind(Kind),
}

/// The four dead-letter queues, by the name the operator types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Kind {
    /// DeadLetterQueue: events the pipeline gave up on.
    #[value(alias = "dlq", alias = "dead-letter")]
    Pipeline,
    /// EnrichmentDeadLetterQueue: enrichment requests given up on.
    #[value(alias = "enrich")]
    Enrichment,
    /// EventDeadLetterQueue: raw events that never reached an execution.
    #[value(alias = "event")]
    Events,
    /// FanoutDeadLetterQueue: failed asynchronous fanout invocations (direct mode).
    Fanout,
}

/// `gcx redrive`.
#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// Print what would be done; change nothing, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these dead-letter queues (comma-separated or repeated; default: every one known).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "QUEUE")]
    pub only: Vec<Kind>,
    /// Only messages of this conversation (the dead letter's conversationId, a raw event's
    /// detail.eventBody.conversationId). Repeat for several.
    #[arg(long, value_name = "ID")]
    pub conversation: Vec<String>,
    /// Only messages with this error name (the dead letter's `error`, the ERROR_CODE attribute, a Lambda
    /// record's errorType); `Genesys.*` matches a prefix. Repeat for several.
    #[arg(long, value_name = "NAME")]
    pub error: Vec<String>,
    /// Only messages sent since then (SQS SentTimestamp; a message moved by a redrive policy keeps the
    /// time it was first sent): a duration ago (30m, 2h, 1d, 1h30m) or an RFC 3339 time
    /// (2026-11-30T08:00:00Z).
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<Since>,
    /// Redrive at most this many messages in this run, over all queues.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max: Option<u64>,
    /// Redrive at most this many messages per second (StartExecution, SendMessage or Invoke calls).
    #[arg(long, value_name = "PER_SECOND", default_value = "10", value_parser = parse_rate)]
    pub rate: f64,
    /// Seconds a received message stays hidden from others while gcx works on it.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(i32).range(10..=43_200))]
    pub visibility_timeout: i32,
    /// Instead of the queues: restart each event of this FAILED execution (Pipeline.DeadLetterUnavailable:
    /// its dead letters could not all be sent) as an execution of its own, named as the redrive of its dead
    /// letter, so an event whose letter did reach the queue never runs twice. Repeat for several.
    #[arg(long, value_name = "ARN")]
    pub execution: Vec<String>,
}

/// `gcx status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only these dead-letter queues (comma-separated or repeated; default: every one known).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "QUEUE")]
    pub only: Vec<Kind>,
    /// Most messages of each dead-letter queue looked at to count failures by error name.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub peek: u32,
    /// Depths only: receive no message at all (no failure counts, no enrichment lag).
    #[arg(long)]
    pub no_peek: bool,
}

/// `--since`: a time, or a duration before now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// This long before now.
    Ago(Duration),
    /// This instant.
    At(OffsetDateTime),
}

impl Since {
    /// The cutoff in epoch milliseconds, for `now`.
    pub fn cutoff_ms(self, now: OffsetDateTime) -> i64 {
        let at = match self {
            Self::At(t) => t,
            Self::Ago(d) => now - d,
        };
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MIN)
    }
}

fn parse_queue(s: &str) -> Result<QueueArg, String> {
    if s.starts_with("https://") || s.starts_with("http://") {
        return Ok(QueueArg::Url(s.to_owned()));
    }
    Kind::from_str(s, true).map(QueueArg::Kind).map_err(|_| {
        format!("expected a queue URL (https://...) or one of pipeline, enrichment, events, fanout; got {s:?}")
    })
}

/// `30m`, `2h`, `1d`, `90s`, `1w`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("expected a duration like 30m, 2h, 1d or 1h30m; got {s:?}");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

fn parse_since(s: &str) -> Result<Since, String> {
    if let Ok(d) = parse_duration(s) {
        return Ok(Since::Ago(d));
    }
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map(Since::At)
        .map_err(|_| {
            format!(
                "expected a duration like 30m, 2h, 1d or an RFC 3339 time like 2026-11-30T08:00:00Z; got {s:?}"
            )
        })
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 1000.0 => Ok(r),
        _ => Err(format!(
            "expected messages per second, more than 0 and at most 1000; got {s:?}"
        )),
    }
}

impl Kind {
    /// Every queue, in the order gcx works on them.
    pub const ALL: [Self; 4] = [Self::Pipeline, Self::Enrichment, Self::Events, Self::Fanout];

    /// The name typed on the command line and printed.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::Enrichment => "enrichment",
            Self::Events => "events",
            Self::Fanout => "fanout",
        }
    }

    /// The queue's logical id in the template.
    pub fn queue_name(self) -> &'static str {
        match self {
            Self::Pipeline => "DeadLetterQueue",
            Self::Enrichment => "EnrichmentDeadLetterQueue",
            Self::Events => "EventDeadLetterQueue",
            Self::Fanout => "FanoutDeadLetterQueue",
        }
    }

    /// The stack output holding its URL.
    pub fn output_key(self) -> &'static str {
        match self {
            Self::Pipeline => "DeadLetterQueueUrl",
            Self::Enrichment => "EnrichmentDeadLetterQueueUrl",
            Self::Events => "EventDeadLetterQueueUrl",
            Self::Fanout => "FanoutDeadLetterQueueUrl",
        }
    }

    /// The flag that gives its URL.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Pipeline => "--dead-letter-queue",
            Self::Enrichment => "--enrichment-dead-letter-queue",
            Self::Events => "--event-dead-letter-queue",
            Self::Fanout => "--fanout-dead-letter-queue",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        for bad in ["", "30", "m", "0m", "3x", "-1h", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        assert_eq!(
            parse_since("2h").unwrap().cutoff_ms(now),
            (1_800_000_000 - 7200) * 1000
        );
        assert_eq!(
            parse_since("2027-01-15T07:00:00Z").unwrap().cutoff_ms(now),
            1_799_996_400_000
        );
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn queue_is_a_url_or_a_name() {
        assert_eq!(
            parse_queue("https://sqs.eu-west-1.amazonaws.com/1/DLQ"),
            Ok(QueueArg::Url(
                "https://sqs.eu-west-1.amazonaws.com/1/DLQ".into()
            ))
        );
        assert_eq!(parse_queue("events"), Ok(QueueArg::Kind(Kind::Events)));
        assert_eq!(parse_queue("Enrich"), Ok(QueueArg::Kind(Kind::Enrichment)));
        assert!(parse_queue("sqs/DLQ").is_err());
    }

    #[test]
    fn rate_is_positive_and_bounded() {
        assert_eq!(parse_rate("2.5"), Ok(2.5));
        for bad in ["0", "-1", "NaN", "inf", "fast", "1001"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_go_before_or_after_the_subcommand() {
        let a = Cli::try_parse_from([
            "gcx",
            "--stack",
            "s",
            "redrive",
            "--only",
            "pipeline,events",
        ])
        .unwrap();
        let b = Cli::try_parse_from([
            "gcx", "redrive", "--stack", "s", "--only", "pipeline", "--only", "events",
        ])
        .unwrap();
        for cli in [a, b] {
            assert_eq!(cli.targets.stack.as_deref(), Some("s"));
            let Command::Redrive(r) = cli.command else {
                panic!("not redrive")
            };
            assert_eq!(r.only, [Kind::Pipeline, Kind::Events]);
            assert!((r.rate - 10.0).abs() < f64::EPSILON);
        }
        assert!(Cli::try_parse_from(["gcx", "redrive", "--max", "0"]).is_err());
    }
}
