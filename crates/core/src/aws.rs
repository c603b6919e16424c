//! AWS SDK configuration and the one Secrets Manager reader, used once per container at init.
//!
//! `aws-config` honours `AWS_ENDPOINT_URL` (and per-service `AWS_ENDPOINT_URL_<SERVICE>`), which is how the
//! local stack points every client at the moto server; nothing here special-cases local runs.

use secrecy::{ExposeSecret, SecretString};

use crate::config::{ConfigError, SecretSource};

/// A local endpoint for every AWS call (read by the AWS SDK itself).
pub const AWS_ENDPOINT_URL: crate::setting::Setting =
    crate::setting::Setting::optional("AWS_ENDPOINT_URL", "AWS")
        .doc("Point the AWS SDK at a local endpoint (moto).");

/// Loads the shared SDK configuration from the Lambda environment (region, credentials, endpoints).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Reads the `SecretString` of the secret named by `variable` (its ARN), once, at init. Any failure is a
/// [`ConfigError`] naming `variable`; the value never appears in an error or a log line.
pub async fn read_secret(
    config: &aws_config::SdkConfig,
    variable: &str,
    arn: &str,
) -> Result<SecretString, ConfigError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            ConfigError::new(
                variable,
                format!(
                    "reading secret {arn} from Secrets Manager failed: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                ),
            )
        })?;
    match out.secret_string {
        Some(s) if !s.trim().is_empty() => Ok(SecretString::from(s)),
        _ => Err(ConfigError::new(
            variable,
            format!("names secret {arn}, whose SecretString is empty"),
        )),
    }
}

/// A secret's value, trimmed, as a [`SecretString`] (for bearer tokens pasted with a newline).
pub fn trimmed(secret: &SecretString) -> SecretString {
    SecretString::from(secret.expose_secret().trim().to_owned())
}

/// The value `source` gives, trimmed: the variable's own, or the `SecretString` of the secret it names, read
/// from Secrets Manager with `sdk` (loaded here only when needed and not given, so a function that loads it
/// anyway loads it once). `arn_var` names the variable in errors.
pub async fn secret_value(
    source: &SecretSource,
    arn_var: &str,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<Option<SecretString>, ConfigError> {
    match (source, sdk) {
        (SecretSource::None, _) => Ok(None),
        (SecretSource::Direct(value), _) => Ok(Some(trimmed(value))),
        (SecretSource::Secret(arn), Some(sdk)) => {
            Ok(Some(trimmed(&read_secret(sdk, arn_var, arn).await?)))
        }
        (SecretSource::Secret(arn), None) => {
            let sdk = sdk_config().await;
            Ok(Some(trimmed(&read_secret(&sdk, arn_var, arn).await?)))
        }
    }
}
