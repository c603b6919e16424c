//! `gcx redrive`: each dead-letter queue's messages back into the pipeline, in that queue's own way.
//!
//! [`crate::letters`] knows what each queue holds and what of it goes back; [`Destination`] says where
//! it goes. The pass over a queue is the same for all four: receive, read,
//! filter, deliver, and delete only what was delivered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::aws::{Clients, Failure};
use crate::cli::{Kind, RedriveArgs};
use crate::error::Error;
use crate::filter::{Filter, Miss};
use crate::letters::{describe, read, Letter};
use crate::queue::{self, Received};
use crate::targets::{Destination, Targets};

/// The error that can never succeed as it is: fanout refused the event itself.
pub const MALFORMED: &str = "Fanout.MalformedEvent";

/// After this many receives in a row that brought no message not already seen, a pass ends: what is
/// left is what this run already looked at.
const IDLE_RECEIVES: u32 = 3;

/// The execution name of a pipeline redrive: from the letter's repeat key (the execution and the event it
/// was dead-lettered from), else the SQS message id. So a run that stopped between StartExecution and
/// DeleteMessage, or a second letter of the same event (a retried Task sent it twice, or a stage that failed
/// whole dead-lettered it again), starts nothing new: Step Functions answers with the same execution, or
/// `ExecutionAlreadyExists`. 48 characters of `[a-z0-9-]`.
pub fn execution_name(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("redrive-{hex}")
}

fn epoch_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What names a letter's redrive: its repeat key, else its message id.
fn redrive_key<'a>(letter: &'a Letter, m: &'a Received) -> &'a str {
    letter.repeat_key.as_deref().unwrap_or(&m.id)
}

/// The asynchronous Invoke of fanout with `payload`: `InvocationType=Event`, so fanout's own retries
/// and on-failure destination apply as to any delivery.
pub fn invoke_request(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    payload: &str,
) -> aws_sdk_lambda::operation::invoke::builders::InvokeFluentBuilder {
    lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(payload.as_bytes().to_vec()))
}

/// How a named StartExecution went.
pub enum Started {
    /// A new execution.
    New,
    /// The name was taken by an earlier start: `ExecutionAlreadyExists`, or (a STANDARD execution still
    /// RUNNING with the same name and input) the same execution returned again, started before this call.
    Earlier,
}

/// Starts `input` on `machine` under `name`: the one place redrives start executions.
pub async fn start(
    clients: &Clients,
    machine: &str,
    name: &str,
    input: &str,
) -> Result<Started, Failure> {
    let asked_at = epoch_ms(std::time::SystemTime::now());
    match clients
        .sfn
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input(input)
        .send()
        .await
    {
        Ok(out)
            if out
                .start_date()
                .to_millis()
                .is_ok_and(|t| t + 1_000 < asked_at) =>
        {
            Ok(Started::Earlier)
        }
        Ok(_) => Ok(Started::New),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_execution_already_exists()) =>
        {
            Ok(Started::Earlier)
        }
        Err(e) => Err(Failure::of(&e)),
    }
}

/// Why a delivery failed: the call and AWS's answer.
struct Undelivered {
    call: &'static str,
    failure: Failure,
}

/// Sends `payload` where `dest` says; answers what was done.
async fn deliver(
    clients: &Clients,
    dest: &Destination,
    key: &str,
    payload: &str,
) -> Result<String, Undelivered> {
    match dest {
        Destination::StateMachine(arn) => {
            let name = execution_name(key);
            match start(clients, arn, &name, payload).await {
                Ok(Started::New) => Ok(format!("started execution {name}")),
                Ok(Started::Earlier) => Ok(format!(
                    "execution {name} already started by an earlier run"
                )),
                Err(failure) => Err(Undelivered {
                    call: "StartExecution",
                    failure,
                }),
            }
        }
        Destination::Queue { url, name } => clients
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(payload)
            .send()
            .await
            .map(|_| format!("sent to {name}"))
            .map_err(|e| Undelivered {
                call: "SendMessage",
                failure: Failure::of(&e),
            }),
        Destination::Function(arn) => {
            match invoke_request(&clients.lambda, arn, payload).send().await {
                Ok(out) if out.status_code() == 202 => Ok("invoked fanout asynchronously".into()),
                Ok(out) => Err(Undelivered {
                    call: "Invoke",
                    failure: Failure {
                        code: out
                            .function_error()
                            .unwrap_or("UnexpectedStatus")
                            .to_owned(),
                        message: format!("status {} instead of 202", out.status_code()),
                    },
                }),
                Err(e) => Err(Undelivered {
                    call: "Invoke",
                    failure: Failure::of(&e),
                }),
            }
        }
    }
}

fn would(dest: &Destination, key: &str) -> String {
    match dest {
        Destination::StateMachine(_) => {
            format!("would start execution {}", execution_name(key))
        }
        Destination::Queue { name, .. } => format!("would send to {name}"),
        Destination::Function(_) => "would invoke fanout asynchronously".into(),
    }
}

/// What happened to the messages of one queue.
#[derive(Debug, Default)]
struct Tally {
    seen: u64,
    matched: u64,
    redriven: u64,
    /// Letters of an event this pass already redrove: deleted, not redriven again.
    repeats: u64,
    not_matched: BTreeMap<Miss, u64>,
    skipped: BTreeMap<String, u64>,
    failed: BTreeMap<String, u64>,
    /// Why the pass stopped before the queue was empty.
    stopped: Option<Stop>,
    /// Messages that could not be made visible again.
    unreleased: usize,
}

impl Tally {
    fn failed(&self) -> u64 {
        self.failed.values().sum()
    }

    fn left(&self) -> u64 {
        self.not_matched.values().sum::<u64>() + self.skipped.values().sum::<u64>() + self.failed()
    }

    fn fail(&mut self, reason: String) {
        *self.failed.entry(reason).or_default() += 1;
    }
}

/// Why a pass ended before its queue was empty.
#[derive(Debug)]
enum Stop {
    /// `--max` redrives were done (or would be, in a dry run).
    Max(u64),
    /// The target cannot work (or the queue cannot be read): the rest was not tried.
    Aborted(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Max(n) => write!(f, "--max {n} reached"),
            Self::Aborted(why) => write!(f, "aborted: {why}"),
        }
    }
}

impl Tally {
    /// Whether every matched message of this queue was redriven (or would be).
    fn ok(&self) -> bool {
        self.failed() == 0 && !matches!(self.stopped, Some(Stop::Aborted(_)))
    }

    /// The summary lines of this queue.
    fn print(&self, kind: Kind, dry_run: bool, visibility: i32) {
        let done = if dry_run { "would redrive" } else { "redriven" };
        println!(
            "  {:<11} seen {}, matched {}, {done} {}, repeats {}, left {}",
            kind.name(),
            self.seen,
            self.matched,
            self.redriven,
            self.repeats,
            self.left()
        );
        let indent = "";
        for (reason, n) in &self.failed {
            println!("  {indent:<11}   {n} left: {reason}");
        }
        for (reason, n) in &self.skipped {
            println!("  {indent:<11}   {n} skipped: {reason}");
        }
        for (miss, n) in &self.not_matched {
            println!("  {indent:<11}   {n} not matching {}", miss.flag());
        }
        if let Some(stop) = &self.stopped {
            println!("  {indent:<11}   stopped: {stop}");
        }
        if self.unreleased > 0 {
            println!(
                "  {indent:<11}   {} could not be made visible again: they come back within {visibility} s",
                self.unreleased
            );
        }
    }
}

/// `--max` over the whole run.
struct Budget {
    max: Option<u64>,
    used: u64,
}

impl Budget {
    fn spent(&self) -> bool {
        self.max.is_some_and(|m| self.used >= m)
    }
}

/// `--rate`: deliveries at most this often.
struct Pacer {
    interval: Duration,
    next: Option<tokio::time::Instant>,
}

impl Pacer {
    async fn wait(&mut self) {
        let now = tokio::time::Instant::now();
        if let Some(next) = self.next {
            if next > now {
                tokio::time::sleep_until(next).await;
            }
        }
        self.next = Some(self.next.map_or(now, |n| n.max(now)) + self.interval);
    }
}

/// One run's settings and state.
struct Run<'a> {
    clients: &'a Clients,
    filter: Filter,
    dry_run: bool,
    visibility: i32,
    per_receive: i32,
    budget: Budget,
    pacer: Pacer,
    /// The repeat keys of the letters redriven (or, in a dry run, that would be) in this run.
    redriven: HashSet<String>,
}

/// Redrives the selected queues; `Ok(true)` when every matched message was redriven.
pub async fn run(clients: &Clients, targets: &Targets, args: &RedriveArgs) -> Result<bool, Error> {
    let queues = targets.selected(&args.only)?;
    // Every name is checked before the first message is touched.
    let mut plans = Vec::new();
    for (kind, url) in queues {
        let dest = targets.destination(kind)?;
        let depth = queue::depth(&clients.sqs, &url)
            .await
            .map_err(|f| Error::queue(kind.queue_name(), &url, f))?;
        if let Destination::Queue { url: to, name } = &dest {
            queue::depth(&clients.sqs, to)
                .await
                .map_err(|f| Error::queue(name, to, f))?;
        }
        plans.push((kind, url, dest, depth));
    }

    let now = OffsetDateTime::now_utc();
    let rate = args.rate;
    // A batch must be delivered well within its visibility timeout, at this rate.
    let per_receive =
        ((rate * f64::from(args.visibility_timeout) / 4.0).floor() as i32).clamp(1, 10);
    let mut run = Run {
        clients,
        filter: Filter::new(
            &args.conversation,
            &args.error,
            args.since.map(|s| s.cutoff_ms(now)),
        ),
        dry_run: args.dry_run,
        visibility: args.visibility_timeout,
        per_receive: if args.dry_run { 10 } else { per_receive },
        budget: Budget {
            max: args.max,
            used: 0,
        },
        pacer: Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: None,
        },
        redriven: HashSet::new(),
    };
    if args.dry_run {
        println!("dry run: nothing is sent, started or deleted");
    }

    let mut tallies = Vec::new();
    for (kind, url, dest, depth) in plans {
        println!(
            "{kind}: {} {url} ({} visible, {} in flight) -> {dest}",
            kind.queue_name(),
            depth.visible,
            depth.in_flight
        );
        let tally = run.pass(kind, &url, &dest).await;
        tallies.push((kind, tally));
    }

    println!();
    println!(
        "summary{}:",
        if args.dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    );
    for (kind, t) in &tallies {
        t.print(*kind, args.dry_run, args.visibility_timeout);
    }
    Ok(tallies.iter().all(|(_, t)| t.ok()))
}

impl Run<'_> {
    /// One pass over one queue, until it is empty, the run's `--max` is reached, or a target fails.
    ///
    /// Messages that stay (not matching, skipped, failed) are kept hidden until the pass ends, then made
    /// visible again at once: made visible one by one, SQS would hand the same ones back on the next
    /// receive and the pass would never reach the messages behind them.
    async fn pass(&mut self, kind: Kind, url: &str, dest: &Destination) -> Tally {
        let mut tally = Tally::default();
        let mut seen: HashSet<String> = HashSet::new();
        // Message id → its latest receipt handle, for every message that stays.
        let mut keep: HashMap<String, String> = HashMap::new();
        let mut idle = 0;
        'receiving: loop {
            if self.budget.spent() {
                tally.stopped = Some(Stop::Max(self.budget.max.unwrap_or_default()));
                break;
            }
            let batch =
                match queue::receive(&self.clients.sqs, url, self.per_receive, self.visibility)
                    .await
                {
                    Ok(batch) => batch,
                    Err(f) => {
                        tally.stopped = Some(Stop::Aborted(format!("ReceiveMessage failed: {f}")));
                        break;
                    }
                };
            if batch.is_empty() {
                break;
            }
            let mut fresh = false;
            let mut batch = batch.into_iter();
            while let Some(m) = batch.next() {
                if seen.contains(&m.id) {
                    keep.insert(m.id, m.receipt);
                    continue;
                }
                if self.budget.spent() {
                    keep.insert(m.id, m.receipt);
                    keep.extend(batch.map(|m| (m.id, m.receipt)));
                    tally.stopped = Some(Stop::Max(self.budget.max.unwrap_or_default()));
                    break 'receiving;
                }
                seen.insert(m.id.clone());
                fresh = true;
                tally.seen += 1;
                match self.one(kind, url, dest, &m, &mut tally).await {
                    Step::Done => {}
                    Step::Keep => {
                        keep.insert(m.id, m.receipt);
                    }
                    Step::Abort(why) => {
                        keep.insert(m.id, m.receipt);
                        keep.extend(batch.map(|m| (m.id, m.receipt)));
                        tally.stopped = Some(Stop::Aborted(why));
                        break 'receiving;
                    }
                }
            }
            if fresh {
                idle = 0;
            } else {
                idle += 1;
                if idle >= IDLE_RECEIVES {
                    break;
                }
            }
        }
        let receipts: Vec<String> = keep.into_values().collect();
        tally.unreleased = queue::release(&self.clients.sqs, url, &receipts).await;
        tally
    }

    /// One message: read, filter, deliver, delete.
    async fn one(
        &mut self,
        kind: Kind,
        url: &str,
        dest: &Destination,
        m: &Received,
        tally: &mut Tally,
    ) -> Step {
        let letter = read(kind, m);
        let who = describe(&letter, m);
        if let Err(miss) =
            self.filter
                .check(&letter.conversations, letter.error.as_deref(), m.sent_ms)
        {
            *tally.not_matched.entry(miss).or_default() += 1;
            return Step::Keep;
        }
        if kind == Kind::Events
            && letter.error.as_deref() == Some(MALFORMED)
            && !self.filter.names_exactly(MALFORMED)
        {
            let reason = format!(
                "{MALFORMED} never succeeds as it is (--error {MALFORMED} redrives it all the same)"
            );
            println!("{kind}: skipped {who}: never succeeds as it is");
            *tally.skipped.entry(reason).or_default() += 1;
            return Step::Keep;
        }
        tally.matched += 1;
        let key = redrive_key(&letter, m).to_owned();
        let repeat = letter
            .repeat_key
            .as_ref()
            .is_some_and(|k| self.redriven.contains(&format!("{kind}/{k}")));
        if repeat {
            tally.repeats += 1;
            if self.dry_run {
                println!("{kind}: would delete {who}: a repeat of a letter redriven in this run");
                return Step::Keep;
            }
            return match queue::delete(&self.clients.sqs, url, &m.receipt).await {
                Ok(()) => {
                    println!("{kind}: deleted {who}: a repeat of a letter redriven in this run");
                    Step::Done
                }
                Err(f) => {
                    println!("{kind}: left {who}, a repeat: DeleteMessage failed: {f}");
                    Step::Keep
                }
            };
        }
        let payload = match &letter.payload {
            Ok(p) => p,
            Err(why) => {
                println!("{kind}: left {who}: {why}");
                tally.fail(why.clone());
                return Step::Keep;
            }
        };
        if self.dry_run {
            println!("{kind}: {} for {who}", would(dest, &key));
            self.budget.used += 1;
            tally.redriven += 1;
            if let Some(k) = &letter.repeat_key {
                self.redriven.insert(format!("{kind}/{k}"));
            }
            return Step::Keep;
        }
        self.pacer.wait().await;
        match deliver(self.clients, dest, &key, payload).await {
            Ok(done) => {
                self.budget.used += 1;
                if let Some(k) = &letter.repeat_key {
                    self.redriven.insert(format!("{kind}/{k}"));
                }
                match queue::delete(&self.clients.sqs, url, &m.receipt).await {
                    Ok(()) => {
                        println!("{kind}: redriven {who}: {done}");
                        tally.redriven += 1;
                        Step::Done
                    }
                    Err(f) => {
                        // Redelivered but still in the queue: the next run redelivers it again (a
                        // pipeline redrive starts nothing new; the others are harmless repeats).
                        let why = format!("redriven, but DeleteMessage failed: {f}");
                        println!("{kind}: {done} for {who}, but DeleteMessage failed: {f}");
                        tally.fail(why);
                        if f.is_about_the_target() {
                            Step::Abort(format!(
                                "DeleteMessage cannot succeed on {}: the rest of the queue was not tried",
                                kind.queue_name()
                            ))
                        } else {
                            Step::Keep
                        }
                    }
                }
            }
            Err(Undelivered { call, failure }) => {
                let why = format!("{call} failed: {failure}");
                println!("{kind}: left {who}: {why}");
                tally.fail(why);
                if failure.is_about_the_target() {
                    let code = if failure.code.is_empty() {
                        "no answer from AWS"
                    } else {
                        failure.code.as_str()
                    };
                    Step::Abort(format!(
                        "{call} cannot succeed for any message of {dest_name} ({code}): the rest of the queue was not tried",
                        dest_name = kind.queue_name()
                    ))
                } else {
                    Step::Keep
                }
            }
        }
    }
}

/// What becomes of one message.
enum Step {
    /// Redriven and deleted.
    Done,
    /// Stays in the queue.
    Keep,
    /// Stays, and the target is unusable: stop the pass.
    Abort(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letters::is_uuid;
    use crate::letters::tests::{event, msg, CONV};
    use serde_json::json;

    #[test]
    fn execution_names_are_stable_valid_and_distinct() {
        let a = execution_name("5fea7756-0ea4-451a-a703-a558b933e274");
        assert_eq!(a, execution_name("5fea7756-0ea4-451a-a703-a558b933e274"));
        assert_ne!(a, execution_name("5fea7756-0ea4-451a-a703-a558b933e275"));
        assert!(a.len() <= 80 && a.starts_with("redrive-"));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn the_invoke_is_asynchronous_with_the_payload_as_it_is() {
        let conf = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .build();
        let client = aws_sdk_lambda::Client::from_conf(conf);
        let req = invoke_request(
            &client,
            "arn:aws:lambda:eu-west-1:1:function:fanout",
            r#"{"id":"e"}"#,
        );
        assert_eq!(req.get_invocation_type(), &Some(InvocationType::Event));
        assert_eq!(
            req.get_function_name().as_deref(),
            Some("arn:aws:lambda:eu-west-1:1:function:fanout")
        );
        assert_eq!(
            req.get_payload().as_ref().map(Blob::as_ref),
            Some(br#"{"id":"e"}"#.as_slice())
        );
    }

    #[test]
    fn progress_lines_show_ids_only() {
        let body = json!({"eventId": "ev-1", "conversationId": "Jane Doe", "error": "Store.Unavailable",
                          "input": {"events": [event()]}});
        let m = msg(&body, None);
        let line = describe(&read(Kind::Pipeline, &m), &m);
        assert!(!line.contains("Jane"), "{line}");
        assert!(
            line.contains("event ev-1") && line.contains("(Store.Unavailable)"),
            "{line}"
        );
        assert!(is_uuid(CONV) && !is_uuid("2f7bf00a0fc24d6a9b5692238191433e"));
    }
}
