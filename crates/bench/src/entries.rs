//! What runs: each function (and bench-bare, and the Python seeds) with its environment, what it runs
//! against, the event of each invocation and how its answer is checked.

use serde_json::{json, Value};

use crate::context::{Context, BATCH, ENRICH_TABLE, STATE_MACHINE_ARN};
use crate::fixtures;
use crate::genesys::{CLIENT_ID, CLIENT_SECRET};
use crate::measure::{BoxedCheck, Target};

/// The project's functions, in pipeline order after the data action.
pub const FUNCTIONS: [&str; 6] = [
    "data-action",
    "fanout",
    "validate",
    "process",
    "save",
    "enrich",
];
/// The bare `lambda_runtime` echo binary the functions' init is compared with.
pub const BARE: &str = "bench-bare";
/// The Python seed data action's row.
pub const SEED_DATA_ACTION: &str = "seed data-action (py)";
/// The Python seed fan-out's row.
pub const SEED_FANOUT: &str = "seed fanout (py)";

/// One thing to measure.
pub struct Entry<'a> {
    /// Its row in the table.
    pub name: &'static str,
    /// The program and its environment.
    pub target: Target,
    /// What it runs against.
    pub against: String,
    /// What each invocation carries.
    pub event: String,
    /// The event of invocation `i` (0: cold starts and the untimed priming one).
    pub event_for: Box<dyn FnMut(usize) -> Value + 'a>,
    /// The answer check.
    pub check: BoxedCheck<'a>,
    /// Timed warm invocations.
    pub warm_runs: usize,
}

/// The inputs of the batch Tasks, each the previous Task's real answer (`phase::batch::prepare`).
pub struct BatchInputs {
    /// `{"batch": {"events": [100 elements]}, "executionId"}`.
    pub validate: Value,
    /// `{"batch": <validate's answer>, "executionId"}`.
    pub process: Value,
    /// `{"batch": <process's answer>, "executionId"}`.
    pub save: Value,
}

/// `Ok` when `value` at `pointer` is `want`.
pub fn expect(value: &Value, pointer: &str, want: &Value) -> Result<(), String> {
    match value.pointer(pointer) {
        Some(got) if got == want => Ok(()),
        _ => Err(format!(
            "expected {pointer} = {want} in the answer, got {value}"
        )),
    }
}

/// The length of the array at `pointer`.
pub fn len_at(value: &Value, pointer: &str) -> usize {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// Finds an entry by name.
pub fn find<'e, 'a>(entries: &'e mut [Entry<'a>], name: &str) -> Option<&'e mut Entry<'a>> {
    entries.iter_mut().find(|e| e.name == name)
}

/// Every entry: the project's functions, bench-bare, then the seeds when the baseline runs.
pub fn all<'a>(ctx: &'a Context, inputs: &'a BatchInputs) -> Result<Vec<Entry<'a>>, String> {
    let mut entries = vec![data_action(ctx)?, fanout(ctx)?];
    entries.extend(batch_tasks(ctx, inputs)?);
    entries.push(enrich(ctx)?);
    let flat = &ctx.fixtures.flat;
    entries.push(Entry {
        name: BARE,
        target: Target::new(BARE, ctx.settings.binary(BARE)?),
        against: "nothing (echo)".into(),
        event: "events/data-action/flat.json, echoed".into(),
        event_for: Box::new(|_| flat.clone()),
        check: Box::new(move |v| {
            (v == flat)
                .then_some(())
                .ok_or(format!("bench-bare did not echo: {v}"))
        }),
        warm_runs: ctx.settings.warm_runs,
    });
    entries.extend(seeds(ctx)?);
    Ok(entries)
}

fn data_action(ctx: &Context) -> Result<Entry<'_>, String> {
    let wrapped = &ctx.fixtures.wrapped;
    Ok(Entry {
        name: "data-action",
        target: Target::new("data-action", ctx.settings.binary("data-action")?)
            .with("EXTERNAL_API_URL", &ctx.stage.upstream.url()),
        against: "upstream stand-in".into(),
        event: "events/data-action/wrapped.json".into(),
        event_for: Box::new(|_| wrapped.clone()),
        check: Box::new(|v| {
            expect(v, "/success", &json!(true))?;
            expect(v, "/customer_name", &json!("John Doe"))
        }),
        warm_runs: ctx.settings.warm_runs,
    })
}

/// fanout pointed at the Step Functions stand-in with `FANOUT_CONCURRENCY=concurrency`.
pub fn fanout_target(ctx: &Context, concurrency: usize) -> Result<Target, String> {
    Ok(Target::new("fanout", ctx.settings.binary("fanout")?)
        .with("STATE_MACHINE_ARN", STATE_MACHINE_ARN)
        .with("FANOUT_CONCURRENCY", &concurrency.to_string())
        .with(
            "EVENT_DEAD_LETTER_QUEUE_URL",
            &ctx.stage.aws.queue_url("event-dlq"),
        )
        .with("AWS_ENDPOINT_URL", &ctx.stage.sfn.server.uri()))
}

fn fanout(ctx: &Context) -> Result<Entry<'_>, String> {
    let fixtures = &ctx.fixtures;
    Ok(Entry {
        name: "fanout",
        target: fanout_target(ctx, 16)?,
        against: "Step Functions stand-in (no delay)".into(),
        event: "one event (customer-end.json, new id) per invocation".into(),
        event_for: Box::new(|i| fixtures.customer_end("warm", i)),
        check: Box::new(|v| {
            expect(v, "/started", &json!(1))?;
            expect(v, "/executions", &json!(1))
        }),
        warm_runs: ctx.settings.warm_runs,
    })
}

/// save writing to `table` and queueing to `enrichment` and `dlq` (the caller adds the endpoint).
pub fn save_target(
    ctx: &Context,
    table: &str,
    enrichment: &str,
    dlq: &str,
) -> Result<Target, String> {
    Ok(Target::new("save", ctx.settings.binary("save")?)
        .with("DYNAMODB_TABLE_NAME", table)
        .with("ENRICHMENT_QUEUE_URL", enrichment)
        .with("DEAD_LETTER_QUEUE_URL", dlq)
        .with("ENRICH_DELAY_SECONDS", "60"))
}

fn batch_tasks<'a>(ctx: &'a Context, inputs: &'a BatchInputs) -> Result<Vec<Entry<'a>>, String> {
    let aws = &ctx.stage.aws;
    let event = format!("a {BATCH}-event batch (the previous Task's answer)");
    let all_of = |pointer: &'static str| {
        move |v: &Value| match len_at(v, pointer) {
            BATCH => expect(v, "/deadLetters", &json!([])),
            n => Err(format!("expected {BATCH} at {pointer}, got {n}: {v}")),
        }
    };
    let save = save_target(
        ctx,
        "conversations",
        &aws.queue_url("enrichment"),
        &aws.queue_url("dlq"),
    )?
    .with("AWS_ENDPOINT_URL", &aws.server.uri());
    Ok(vec![
        Entry {
            name: "validate",
            target: Target::new("validate", ctx.settings.binary("validate")?),
            against: "nothing (pure)".into(),
            event: event.clone(),
            event_for: Box::new(|_| inputs.validate.clone()),
            check: Box::new(all_of("/events")),
            warm_runs: ctx.settings.warm_runs,
        },
        Entry {
            name: "process",
            target: Target::new("process", ctx.settings.binary("process")?),
            against: "nothing (pure)".into(),
            event: event.clone(),
            event_for: Box::new(|_| inputs.process.clone()),
            check: Box::new(all_of("/records")),
            warm_runs: ctx.settings.warm_runs,
        },
        Entry {
            name: "save",
            target: save,
            against: "DynamoDB + SQS stand-in (UpdateItem answers {} at once)".into(),
            event,
            event_for: Box::new(|_| inputs.save.clone()),
            check: Box::new(|v| {
                expect(v, "/stored", &json!(BATCH))?;
                expect(v, "/deadLettered", &json!(0))
            }),
            warm_runs: ctx.settings.warm_runs,
        },
    ])
}

fn enrich(ctx: &Context) -> Result<Entry<'_>, String> {
    let stage = &ctx.stage;
    let base = stage.genesys.base.as_str();
    let target = Target::new("enrich", ctx.settings.binary("enrich")?)
        .with_all(&stage.moto.env())
        .with("GENESYS_LOGIN_URL", base)
        .with("GENESYS_API_URL", base)
        .with("GENESYS_CLIENT_ID", CLIENT_ID)
        .with("GENESYS_CLIENT_SECRET", CLIENT_SECRET)
        .with("DYNAMODB_TABLE_NAME", ENRICH_TABLE)
        .with("ENRICHMENT_QUEUE_URL", &stage.queues.enrichment)
        .with(
            "ENRICHMENT_DEAD_LETTER_QUEUE_URL",
            &stage.queues.enrichment_dlq,
        )
        // The budget must not make the bench wait: it measures work, not the request budget.
        .with("GENESYS_REQUESTS_PER_MINUTE", "100000")
        .with("ENRICH_MAX_CONCURRENCY", "1");
    Ok(Entry {
        name: "enrich",
        target,
        against: "local/genesys_standin.py (Python) + moto (DynamoDB, SQS)".into(),
        event: format!("an SQS message asking for {BATCH} conversations"),
        event_for: Box::new(|_| fixtures::enrichment_event(BATCH, fixtures::now_ms())),
        check: Box::new(|v| {
            expect(v, "/enriched", &json!(BATCH))?;
            expect(v, "/genesysRequests", &json!(1))?;
            expect(v, "/batchItemFailures", &json!([]))
        }),
        warm_runs: ctx.settings.slow_runs(),
    })
}

/// The seed's answer: `{"statusCode": 200, "body": "{\"processed\": n, \"errors\": []}"}`.
pub fn seed_processed(n: usize) -> impl Fn(&Value) -> Result<(), String> {
    move |v: &Value| {
        let body: Value = v["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        expect(&body, "/processed", &json!(n))?;
        expect(&body, "/errors", &json!([]))
    }
}

fn seeds(ctx: &Context) -> Result<Vec<Entry<'_>>, String> {
    let Some(baseline) = &ctx.baseline else {
        return Ok(Vec::new());
    };
    let wrapped = &ctx.fixtures.wrapped;
    let mut out = vec![Entry {
        name: SEED_DATA_ACTION,
        target: Target::new(
            SEED_DATA_ACTION,
            baseline.wrapper("seed_data_action.lambda_handler")?,
        )
        .with("EXTERNAL_API_URL", &ctx.stage.upstream.url()),
        against: "upstream stand-in".into(),
        event: "events/data-action/wrapped.json".into(),
        event_for: Box::new(|_| wrapped.clone()),
        check: Box::new(|v| expect(v, "/result/success", &json!(true))),
        warm_runs: ctx.settings.warm_runs,
    }];
    if baseline.has("seed_fanout_fixed.py") {
        let fixtures = &ctx.fixtures;
        out.push(Entry {
            name: SEED_FANOUT,
            target: Target::new(
                SEED_FANOUT,
                baseline.wrapper("seed_fanout_fixed.lambda_handler")?,
            )
            .with("STATE_MACHINE_ARN", STATE_MACHINE_ARN)
            .with("AWS_ENDPOINT_URL", &ctx.stage.sfn.server.uri()),
            against: "Step Functions stand-in (no delay)".into(),
            event: "one event (customer-end.json, new id) per invocation".into(),
            event_for: Box::new(|i| fixtures.customer_end("seed-warm", i)),
            check: Box::new(seed_processed(1)),
            warm_runs: ctx.settings.warm_runs,
        });
    }
    Ok(out)
}
