//! A minimal function for testing the emulator itself: echoes the event, fails with
//! `{"fail": "<errorType>"}`, sleeps with `{"sleep_ms": n}`, exits with `{"exit": code}`, and reports the
//! deadline it was given with `{"deadline": true}`.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::{json, Value};

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let payload = event.payload;
    println!(
        "{{\"msg\":\"echo\",\"request_id\":\"{}\"}}",
        event.context.request_id
    );
    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if let Some(code) = payload.get("exit").and_then(Value::as_i64) {
        std::process::exit(i32::try_from(code).unwrap_or(1));
    }
    if let Some(kind) = payload.get("fail").and_then(Value::as_str) {
        return Err(Diagnostic {
            error_type: kind.to_owned(),
            error_message: "asked to fail".to_owned(),
        });
    }
    if payload.get("deadline").is_some() {
        return Ok(json!({ "deadline_ms": event.context.deadline }));
    }
    Ok(payload)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(echo)).await
}
