//! What every binary does around the Lambda Runtime API that `lambda_runtime` does not do for it.

/// Reports an init failure: one JSON log line, then `POST /runtime/init/error` (errorType `Config.Invalid`)
/// so Lambda shows the cause. lambda_runtime 1.5 only reports init errors for SnapStart hooks, hence this.
/// The caller then exits non-zero.
pub async fn report_init_error(error: &crate::config::ConfigError) {
    tracing::error!(error_type = "Config.Invalid", variable = %error.variable, error = %error, "init failed");
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let diagnostic = lambda_runtime::Diagnostic::from(error.clone());
    let Ok(body) = serde_json::to_vec(&diagnostic) else {
        return;
    };
    let Ok(client) = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(2))
        .build()
    else {
        return;
    };
    let _ = client
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header(
            "Lambda-Runtime-Function-Error-Type",
            diagnostic.error_type.as_str(),
        )
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
}

/// Time left before the Runtime API's deadline (`Lambda-Runtime-Deadline-Ms`, epoch milliseconds).
///
/// A deadline already in the past when the invocation starts is not one Lambda sends; local emulators do
/// (`cargo lambda watch` sends a constant 600000). It is then treated as Lambda's longest timeout, 900 s, so
/// the function's own timeouts govern instead of every call being cut at once.
pub fn time_left(deadline_ms: u64) -> std::time::Duration {
    const LONGEST_LAMBDA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(900);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let deadline = std::time::Duration::from_millis(deadline_ms);
    if deadline <= now {
        return LONGEST_LAMBDA_TIMEOUT;
    }
    deadline - now
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[test]
    fn real_deadlines_count_down_and_emulator_constants_do_not_cut_calls() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = time_left(now_ms + 3_000);
        assert!(
            left <= Duration::from_secs(3) && left > Duration::from_millis(2_500),
            "{left:?}"
        );
        assert_eq!(time_left(600_000), Duration::from_secs(900));
        assert_eq!(time_left(0), Duration::from_secs(900));
    }
}
