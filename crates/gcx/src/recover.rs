//! `gcx redrive --execution ARN`: the events of an execution that failed without reaching the dead-letter
//! queue (`Pipeline.DeadLetterUnavailable`: the state machine could not send every letter), restarted one
//! execution per event.
//!
//! Some of its letters may have reached the queue before the sends failed. Each event's execution is named
//! as a redrive of its letter would be ([`crate::redrive::execution_name`] of `<executionId>|<eventId>`), so
//! whichever comes second, this or a later `gcx redrive` of the queue, is refused by Step Functions
//! (`ExecutionAlreadyExists`) instead of running the event twice.

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};

use crate::aws::{Clients, Failure};
use crate::error::Error;
use crate::redrive::{execution_name, start, Started};

/// The key that names an element's redrive: what a dead letter of it would carry as `executionId` and
/// `eventId`; for an element without a text `eventId`, its index in the input.
pub fn element_key(execution: &str, index: usize, element: &Value) -> String {
    match element
        .get("eventId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(id) => format!("{execution}|{id}"),
        None => format!("{execution}|#{index}"),
    }
}

/// Restarts the events of each failed execution; `Ok(true)` when every one was started (or already was).
pub async fn run(clients: &Clients, executions: &[String], dry_run: bool) -> Result<bool, Error> {
    let mut all = true;
    for arn in executions {
        all &= one(clients, arn, dry_run).await?;
    }
    Ok(all)
}

async fn one(clients: &Clients, arn: &str, dry_run: bool) -> Result<bool, Error> {
    let described = clients
        .sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| {
            Error::aws(
                format!("DescribeExecution {arn} (an EXPRESS execution cannot be described)"),
                Failure::of(&e),
            )
        })?;
    // FAILED (Pipeline.DeadLetterUnavailable), or stopped or timed out before its events were stored or
    // dead-lettered.
    if !matches!(
        described.status(),
        ExecutionStatus::Failed | ExecutionStatus::Aborted | ExecutionStatus::TimedOut
    ) {
        return Err(Error::Conflict(format!(
            "execution {arn} is {}, not FAILED: there is nothing to recover (a SUCCEEDED execution's events are \
stored or in the dead-letter queue; a RUNNING one is not over)",
            described.status().as_str()
        )));
    }
    let error = described.error().unwrap_or_default();
    if error == "Pipeline.DeadLettered" {
        return Err(Error::Conflict(format!(
            "execution {arn} failed with Pipeline.DeadLettered: every event is in the dead-letter queue; \
redrive the queue instead"
        )));
    }
    let input: Value = described
        .input()
        .and_then(|i| serde_json::from_str(i).ok())
        .ok_or_else(|| {
            Error::Missing(format!(
                "execution {arn} has no readable input (IncludeExecutionData off?)"
            ))
        })?;
    let machine = described.state_machine_arn();
    let elements: Vec<Value> = match input.get("events").and_then(Value::as_array) {
        Some(events) => events.clone(),
        None => {
            println!(
                "execution {arn}: its input is not a batch; start it by hand if it should run"
            );
            return Ok(false);
        }
    };
    println!(
        "execution {arn} ({error}): {} events, each restarted alone",
        elements.len()
    );
    let mut all = true;
    for (index, element) in elements.iter().enumerate() {
        let name = execution_name(&element_key(arn, index, element));
        let who = element
            .get("eventId")
            .and_then(Value::as_str)
            .map_or_else(|| format!("element {index}"), |id| format!("event {id}"));
        if dry_run {
            println!("  would start execution {name} for {who}");
            continue;
        }
        let input = json!({"events": [element]}).to_string();
        match start(clients, machine, &name, &input).await {
            Ok(Started::New) => println!("  started execution {name} for {who}"),
            Ok(Started::Earlier) => {
                println!(
                    "  {who}: execution {name} already started (its dead letter was redriven)"
                );
            }
            Err(failure) => {
                all = false;
                println!("  left {who}: StartExecution failed: {failure}");
            }
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_elements_key_is_what_its_dead_letter_would_carry() {
        assert_eq!(
            element_key("arn:x", 3, &json!({"eventId": "e1"})),
            "arn:x|e1"
        );
        assert_eq!(element_key("arn:x", 3, &json!({"eventId": ""})), "arn:x|#3");
        assert_eq!(element_key("arn:x", 4, &json!(5)), "arn:x|#4");
    }
}
