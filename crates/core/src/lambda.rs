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
