//! `gcx redrive`: each dead-letter queue's messages back into the pipeline, in that queue's own way.
//!
//! [`read`] is the one place that knows what each queue holds and what of it goes back ([`Letter`]);
//! [`Destination`] says where it goes. The pass over a queue is the same for all four: receive, read,
//! filter, deliver, and delete only what was delivered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use gcx_core::contract::DeadLetterRead;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::aws::{Clients, Failure};
use crate::cli::{Kind, RedriveArgs};
use crate::error::Error;
use crate::filter::{Filter, Miss};
use crate::queue::{self, Received};
use crate::targets::{Destination, Targets};

/// The error that can never succeed as it is: fanout refused the event itself.
pub const MALFORMED: &str = "Fanout.MalformedEvent";

/// After this many receives in a row that brought no message not already seen, a pass ends: what is
/// left is what this run already looked at.
const IDLE_RECEIVES: u32 = 3;

/// What gcx reads of one dead-lettered message, whatever its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// What makes two letters the same event to redrive (docs/contracts.md, Dead letter): the execution and
    /// the event (`<executionId>|<eventId>`), else the letter's `deadLetterId`; none for letters that carry
    /// neither (raw events, Lambda records, letters written before 0.4).
    pub repeat_key: Option<String>,
    /// The EventBridge event id, when there is one.
    pub event_id: Option<String>,
    /// The conversations it is about (a raw batch can hold several).
    pub conversations: Vec<String>,
    /// Its stable error name, when known.
    pub error: Option<String>,
    /// What to redeliver, serialized, or why nothing can be.
    pub payload: Result<String, String>,
}

/// Reads `m` the way its queue wrote it (docs/contracts.md, "Dead letter").
pub fn read(kind: Kind, m: &Received) -> Letter {
    let parsed: Option<Value> = serde_json::from_str(&m.body).ok();
    let Some(body) = parsed else {
        return Letter {
            repeat_key: None,
            event_id: None,
            conversations: Vec::new(),
            error: m.error_code.clone(),
            payload: Err("the body is not JSON".into()),
        };
    };
    match kind {
        // {eventId, conversationId, ..., error, stage, input: {"events": [...]}}: input is an execution input.
        Kind::Pipeline => dead_letter(m, &body, "events"),
        // The same with input: {"requests": [...]}; or, moved by EnrichmentQueue's redrive policy after 10
        // receives, an enrichment message {"requests": [...]} itself, re-queued as it is.
        Kind::Enrichment => {
            if body.get("input").is_none() && non_empty(body.get("requests")).is_some() {
                let requests = non_empty(body.get("requests")).unwrap_or_default();
                Letter {
                    repeat_key: None,
                    event_id: requests.first().and_then(|r| text(r, "eventId")),
                    conversations: requests
                        .iter()
                        .filter_map(|r| text(r, "conversationId"))
                        .collect(),
                    error: m.error_code.clone(),
                    payload: Ok(m.body.clone()),
                }
            } else {
                dead_letter(m, &body, "requests")
            }
        }
        // A raw EventBridge event (or a buffer message: an event or an array of them), as received, with
        // ERROR_CODE / ERROR_MESSAGE attributes: fanout takes the body as it is.
        Kind::Events => Letter {
            repeat_key: None,
            event_id: events_of(&body).first().and_then(|e| text(e, "id")),
            conversations: conversations_of_events(&body),
            error: m.error_code.clone(),
            payload: Ok(m.body.clone()),
        },
        // A Lambda on-failure record: requestPayload is what fanout was invoked with.
        Kind::Fanout => {
            let payload = body.get("requestPayload").filter(|p| !p.is_null());
            Letter {
                repeat_key: None,
                event_id: payload.and_then(|p| events_of(p).first().and_then(|e| text(e, "id"))),
                conversations: payload.map(conversations_of_events).unwrap_or_default(),
                error: body
                    .pointer("/responsePayload/errorType")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        body.pointer("/requestContext/condition")
                            .and_then(Value::as_str)
                    })
                    .map(str::to_owned)
                    .or_else(|| m.error_code.clone()),
                payload: payload
                    .map(Value::to_string)
                    .ok_or_else(|| "not a Lambda on-failure record: no requestPayload".into()),
            }
        }
    }
}

/// A dead letter of the pipeline or enrichment queue, read through the contract's type: `input.<key>` is
/// what goes back.
fn dead_letter(m: &Received, body: &Value, key: &str) -> Letter {
    let letter = DeadLetterRead::from_body(body);
    let input = letter.input.as_ref();
    let items = input.and_then(|i| non_empty(i.get(key)));
    let mut conversations: Vec<String> = letter.conversation_id.clone().into_iter().collect();
    // The items are what a stage refused, so they are read field by field, whatever else they hold.
    for item in items.unwrap_or_default() {
        if let Some(c) = text(item, "conversationId") {
            if !conversations.contains(&c) {
                conversations.push(c);
            }
        }
    }
    let payload = match (input, items) {
        (Some(input @ Value::Object(_)), Some(_)) => Ok(input.to_string()),
        (None, _) if !body.is_object() => Err("not a dead-letter message (not a JSON object)".into()),
        (None, _) => Err("no input to redrive".into()),
        (Some(_), _) => Err(format!(
            "its input is not {{\"{key}\": [...]}} (a whole input carried as it came): nothing to redrive as it is"
        )),
    };
    let event_id = letter.event_id.clone().or_else(|| {
        items
            .and_then(|i| i.first())
            .and_then(|i| text(i, "eventId"))
    });
    Letter {
        repeat_key: letter.repeat_key(event_id.as_deref()),
        event_id,
        conversations,
        error: letter.error.clone().or_else(|| m.error_code.clone()),
        payload,
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn non_empty(v: Option<&Value>) -> Option<&[Value]> {
    v.and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map(Vec::as_slice)
}

/// One event, or the events of an array.
fn events_of(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn conversations_of_events(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events_of(v) {
        if let Some(c) = e
            .pointer("/detail/eventBody/conversationId")
            .and_then(Value::as_str)
        {
            if !out.iter().any(|o| o == c) {
                out.push(c.to_owned());
            }
        }
    }
    out
}

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

/// The ids of a message for a progress line: the SQS message id, the event and conversation ids (never
/// a body). An id that does not look like one is not printed: it could be anything a producer put there.
fn describe(letter: &Letter, m: &Received) -> String {
    let mut out = format!("message {}", m.id);
    if let Some(e) = letter.event_id.as_deref().filter(|e| looks_like_id(e)) {
        out.push_str(&format!(" event {e}"));
    }
    match letter.conversations.as_slice() {
        [] => {}
        [one] if is_uuid(one) => out.push_str(&format!(" conversation {one}")),
        [one, rest @ ..] if is_uuid(one) => {
            out.push_str(&format!(" conversation {one} (+{} more)", rest.len()));
        }
        _ => out.push_str(" conversation (not a UUID, not shown)"),
    }
    if let Some(e) = letter.error.as_deref().filter(|e| looks_like_id(e)) {
        out.push_str(&format!(" ({e})"));
    }
    out
}

fn looks_like_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// A hyphenated UUID.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(body: &Value, error_code: Option<&str>) -> Received {
        Received {
            id: "5fea7756-0ea4-451a-a703-a558b933e274".into(),
            receipt: "r".into(),
            body: body.to_string(),
            sent_ms: Some(1),
            error_code: error_code.map(str::to_owned),
        }
    }

    const CONV: &str = "2f7bf00a-0fc2-4d6a-9b56-92238191433e";

    fn event() -> Value {
        json!({"conversationId": CONV, "eventId": "ev-1", "eventType": "v2.detail.events.conversation.{id}.acw",
               "eventTime": 1, "correlationId": null, "detail": {"eventBody": {"conversationId": CONV}}})
    }

    #[test]
    fn a_pipeline_dead_letter_gives_back_its_input() {
        let body = json!({"eventId": "ev-1", "conversationId": CONV, "eventType": "x", "correlationId": null,
                          "error": "Store.Unavailable", "cause": "c", "stage": "save", "executionId": "arn:x",
                          "input": {"events": [event()]}});
        let l = read(Kind::Pipeline, &msg(&body, Some("Store.Unavailable")));
        assert_eq!(l.event_id.as_deref(), Some("ev-1"));
        assert_eq!(l.conversations, [CONV]);
        assert_eq!(l.error.as_deref(), Some("Store.Unavailable"));
        let payload: Value = serde_json::from_str(l.payload.as_ref().unwrap()).unwrap();
        assert_eq!(payload, json!({"events": [event()]}));
    }

    #[test]
    fn a_whole_input_or_a_stranger_is_not_redriven() {
        let whole = json!({"eventId": "", "conversationId": "", "eventType": "", "correlationId": null,
                           "error": "Pipeline.InvalidInput", "cause": "c", "stage": "validate",
                           "executionId": "arn:x", "input": {"something": 1}});
        assert!(read(Kind::Pipeline, &msg(&whole, None)).payload.is_err());
        let empty = json!({"error": "x", "input": {"events": []}});
        assert!(read(Kind::Pipeline, &msg(&empty, None)).payload.is_err());
        let not_json = Received {
            body: "{oops".into(),
            ..msg(&json!({}), Some("Event.Invalid"))
        };
        let l = read(Kind::Pipeline, &not_json);
        assert_eq!(l.payload, Err("the body is not JSON".into()));
        assert_eq!(l.error.as_deref(), Some("Event.Invalid"));
        // The identity of an unidentified dead letter comes from its input.
        let unidentified = json!({"eventId": "", "conversationId": "", "error": "Store.Rejected",
                                  "input": {"events": [event()]}});
        let l = read(Kind::Pipeline, &msg(&unidentified, None));
        assert_eq!(
            (l.event_id.as_deref(), l.conversations.as_slice()),
            (Some("ev-1"), [CONV.to_owned()].as_slice())
        );
    }

    #[test]
    fn an_enrichment_dead_letter_or_a_moved_message() {
        let request = json!({"conversationId": CONV, "eventId": "ev-2", "eventType": "t", "eventTime": 1,
                             "attempt": 0, "firstQueuedAt": 5});
        let body = json!({"eventId": "ev-2", "conversationId": CONV, "eventType": "t", "correlationId": null,
                          "error": "Genesys.NotYetAvailable", "cause": "c", "stage": "enrich", "executionId": null,
                          "input": {"requests": [request]}});
        let l = read(Kind::Enrichment, &msg(&body, None));
        assert_eq!(
            serde_json::from_str::<Value>(l.payload.as_ref().unwrap()).unwrap(),
            json!({"requests": [request]})
        );
        let moved = json!({"requests": [request]});
        let m = msg(&moved, None);
        let l = read(Kind::Enrichment, &m);
        assert_eq!(l.payload.as_deref(), Ok(m.body.as_str()));
        assert_eq!(
            (l.conversations.as_slice(), l.error),
            ([CONV.to_owned()].as_slice(), None)
        );
        assert!(read(Kind::Enrichment, &msg(&json!({"requests": []}), None))
            .payload
            .is_err());
    }

    #[test]
    fn raw_events_and_lambda_records() {
        let raw = json!({"id": "ev-3", "detail-type": "v2.detail.events.conversation.{id}.acw",
                         "detail": {"eventBody": {"conversationId": CONV}}});
        let m = msg(&raw, Some("Fanout.EventTooLarge"));
        let l = read(Kind::Events, &m);
        assert_eq!(
            (l.event_id.as_deref(), l.error.as_deref()),
            (Some("ev-3"), Some("Fanout.EventTooLarge"))
        );
        assert_eq!(l.conversations, [CONV]);
        assert_eq!(l.payload.as_deref(), Ok(m.body.as_str()));
        let array =
            json!([raw, {"id": "ev-4", "detail": {"eventBody": {"conversationId": "other"}}}]);
        assert_eq!(
            read(Kind::Events, &msg(&array, None)).conversations,
            [CONV, "other"]
        );

        let record = json!({"version": "1.0", "timestamp": "2026-11-30T08:00:00.000Z",
            "requestContext": {"requestId": "r", "functionArn": "arn:f", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": raw,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "Fanout.StartFailed", "errorMessage": "m"}});
        let l = read(Kind::Fanout, &msg(&record, None));
        assert_eq!(l.error.as_deref(), Some("Fanout.StartFailed"));
        assert_eq!(l.conversations, [CONV]);
        assert_eq!(
            serde_json::from_str::<Value>(l.payload.as_ref().unwrap()).unwrap(),
            raw
        );
        let timed_out =
            json!({"requestContext": {"condition": "RetriesExhausted"}, "requestPayload": raw});
        assert_eq!(
            read(Kind::Fanout, &msg(&timed_out, None)).error.as_deref(),
            Some("RetriesExhausted")
        );
        assert!(read(Kind::Fanout, &msg(&json!({"x": 1}), None))
            .payload
            .is_err());
    }

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
