//! AWS SDK configuration and Secrets Manager reads, done once per container at init.
//!
//! `aws-config` honours `AWS_ENDPOINT_URL` (and per-service `AWS_ENDPOINT_URL_<SERVICE>`), which is how the
//! local stack points every client at the moto server; nothing here special-cases local runs.

use secrecy::SecretString;

/// Loads the shared SDK configuration from the Lambda environment (region, credentials, endpoints).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Why a secret could not be read at init.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager refused or could not be reached.
    #[error("reading secret {arn} from Secrets Manager failed: {message}")]
    Read {
        /// The secret's ARN (not sensitive).
        arn: String,
        /// The SDK's error text (never contains the secret value).
        message: String,
    },
    /// The secret has no string value.
    #[error("secret {arn} has no SecretString")]
    Empty {
        /// The secret's ARN.
        arn: String,
    },
}

/// Reads the `SecretString` of `arn` once. Call at init and keep the result; it never appears in logs.
pub async fn read_secret(
    config: &aws_config::SdkConfig,
    arn: &str,
) -> Result<SecretString, SecretError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| SecretError::Read {
            arn: arn.to_owned(),
            message: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
        })?;
    out.secret_string
        .filter(|s| !s.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| SecretError::Empty {
            arn: arn.to_owned(),
        })
}

/// Runs `warm_up` at init when `WARM_CONNECTIONS=true`, so the first real request finds a pooled,
/// already-handshaken TLS connection. The call's result is ignored (an access-denied answer warms the
/// connection just as well), and it is bounded to 2 s so a bad network never stalls init for long.
pub async fn warm_if_asked<F: std::future::Future>(env: &dyn crate::config::Env, warm_up: F) {
    if crate::config::flag(env, "WARM_CONNECTIONS", false).unwrap_or(false) {
        let started = std::time::Instant::now();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), warm_up).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "connections warmed"
        );
    }
}
