//! Phase: the batch Tasks. validate, process and save each get a 100-event batch made from the
//! `events/eventbridge` fixtures with new ids; each Task's input is the previous Task's real answer
//! (`prepare` runs validate and process once to get them). save runs against the zero-latency DynamoDB
//! and SQS stand-in here, so its figure is its own cost; `phase::moto` runs it against real conditional
//! writes.

use serde_json::{json, Value};

use crate::context::{Context, BATCH};
use crate::entries::{find, BatchInputs, Entry};
use crate::fixtures::{self, task_input};
use crate::measure::{Summary, Target};
use crate::phase::warm;
use crate::results::Results;
use crate::say;
use crate::standins::count;

/// Runs `target` once on `input`; its answer.
fn answer_of(target: &Target, input: &Value) -> Result<Value, String> {
    let process = target.spawn();
    let invocation = process.invoke(input);
    if invocation.ok {
        Ok(invocation.body)
    } else {
        Err(format!(
            "{} failed preparing the batch: {:?} {}\n{}",
            target.label,
            invocation.error_type,
            invocation.body,
            process.logs()
        ))
    }
}

/// The three Tasks' inputs: the batch, validate's answer to it, process's answer to that.
pub fn prepare(ctx: &Context) -> Result<BatchInputs, String> {
    let settings = &ctx.settings;
    let validate = task_input(&ctx.fixtures.batch(BATCH));
    let validated = answer_of(
        &Target::new("validate", settings.binary("validate")?),
        &validate,
    )?;
    let process = task_input(&validated);
    let processed = answer_of(
        &Target::new("process", settings.binary("process")?),
        &process,
    )?;
    let save = task_input(&processed);
    say(&format!(
        "batch: {BATCH} events, {} B for validate, {} B for save ({} enrichment requests)",
        fixtures::compact_len(&validate),
        fixtures::compact_len(&save),
        crate::entries::len_at(&processed, "/enrich"),
    ));
    Ok(BatchInputs {
        validate,
        process,
        save,
    })
}

/// The warm loops of validate, process and save, with each Task's cost per event and save's calls.
pub fn run(ctx: &Context, entries: &mut [Entry], results: &mut Results) -> Result<(), String> {
    let aws = &ctx.stage.aws;
    let mut per_event = serde_json::Map::new();
    for name in ["validate", "process", "save"] {
        let entry = find(entries, name).ok_or(format!("no {name} entry"))?;
        let (items, batches) = (count(&aws.update_items), count(&aws.send_batches));
        let warm = warm::one(entry)?;
        let invocations = (warm.samples_ms.len() + 1) as f64;
        let p50 = Summary::of(&warm.samples_ms).p50;
        let mut figures = json!({ "warm_p50_per_event_us": (p50 * 1e3 / BATCH as f64).round() });
        if name == "save" {
            figures["update_items_per_invocation"] =
                json!((count(&aws.update_items) - items) as f64 / invocations);
            figures["send_message_batches_per_invocation"] =
                json!((count(&aws.send_batches) - batches) as f64 / invocations);
        }
        per_event.insert(name.into(), figures);
        results.warm(name, &warm);
    }
    results.set(
        "batch_tasks",
        json!({ "events_per_batch": BATCH, "tasks": per_event }),
    );
    Ok(())
}
