//! Reading configuration from the environment, once, at init.
//!
//! Every error names the variable and says what a valid value looks like, because the first reader of
//! an init failure is an operator looking at CloudWatch, not the code. Every function parses all of its
//! variables here, at init (`Settings::from_env`), so a typo fails the cold start instead of being
//! silently ignored.

use std::time::Duration;

use secrecy::SecretString;

/// A configuration problem found at init. The Lambda `error_type` is `Config.Invalid`.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: String,
    /// What is wrong and what would be right.
    pub problem: String,
}

impl ConfigError {
    /// A problem with `variable`.
    pub fn new(variable: &str, problem: impl Into<String>) -> Self {
        Self {
            variable: variable.to_owned(),
            problem: problem.into(),
        }
    }
}

impl From<ConfigError> for lambda_runtime::Diagnostic {
    fn from(e: ConfigError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "Config.Invalid".into(),
            error_message: e.to_string(),
        }
    }
}

/// A source of configuration values; the process environment in production, a map in tests.
pub trait Env {
    /// The raw value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for std::collections::HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        std::collections::HashMap::get(self, name).cloned()
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// The value of `name`, trimmed; `None` when unset or blank (an empty variable means "not set" in SAM).
pub fn optional(env: &dyn Env, name: &str) -> Option<String> {
    env.get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The value of `name`, or an error naming it.
pub fn required(env: &dyn Env, name: &str) -> Result<String, ConfigError> {
    optional(env, name).ok_or_else(|| ConfigError::new(name, "is required but not set"))
}

/// A duration in seconds (fractions allowed), at least `min` and at most `max`.
pub fn seconds(
    env: &dyn Env,
    name: &str,
    default: Duration,
    min: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    let Some(raw) = optional(env, name) else {
        return Ok(default);
    };
    let secs: f64 = raw.parse().map_err(|_| {
        ConfigError::new(
            name,
            format!("must be a number of seconds such as 5 or 2.5, got {raw:?}"),
        )
    })?;
    if !secs.is_finite() {
        return Err(ConfigError::new(
            name,
            format!("must be a finite number of seconds, got {raw:?}"),
        ));
    }
    let d = Duration::try_from_secs_f64(secs).map_err(|_| {
        ConfigError::new(
            name,
            format!("must be a positive number of seconds, got {raw:?}"),
        )
    })?;
    if d < min || d > max {
        return Err(ConfigError::new(
            name,
            format!(
                "must be between {} and {} seconds, got {raw}",
                min.as_secs_f64(),
                max.as_secs_f64()
            ),
        ));
    }
    Ok(d)
}

/// A whole number in `min..=max`.
pub fn integer(
    env: &dyn Env,
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ConfigError> {
    let Some(raw) = optional(env, name) else {
        return Ok(default);
    };
    match raw.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::new(
            name,
            format!("must be a whole number from {min} to {max}, got {raw:?}"),
        )),
    }
}

/// A comma-separated list of values from `allowed`; `None` when unset or blank, `Some(vec![])` for `none`.
pub fn list_of(
    env: &dyn Env,
    name: &str,
    allowed: &[&str],
) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(raw) = optional(env, name) else {
        return Ok(None);
    };
    if raw.eq_ignore_ascii_case("none") {
        return Ok(Some(Vec::new()));
    }
    let mut values: Vec<String> = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !allowed.contains(&item) {
            return Err(ConfigError::new(
                name,
                format!(
                    "unknown value {item:?}; use a comma list of: {} (or none)",
                    allowed.join(", ")
                ),
            ));
        }
        if !values.iter().any(|v| v == item) {
            values.push(item.to_owned());
        }
    }
    Ok(Some(values))
}

/// A boolean written `true`/`false` (also `1`/`0`, `yes`/`no`, any case).
pub fn flag(env: &dyn Env, name: &str, default: bool) -> Result<bool, ConfigError> {
    let Some(raw) = optional(env, name) else {
        return Ok(default);
    };
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(
            name,
            format!("must be true or false, got {raw:?}"),
        )),
    }
}

/// An absolute `http` or `https` URL.
pub fn url(env: &dyn Env, name: &str) -> Result<reqwest::Url, ConfigError> {
    let raw = required(env, name)?;
    parse_url(name, &raw)
}

/// Parses `raw` as an absolute `http`/`https` URL with a host, naming `name` on failure.
pub fn parse_url(name: &str, raw: &str) -> Result<reqwest::Url, ConfigError> {
    let parsed = reqwest::Url::parse(raw).map_err(|e| {
        ConfigError::new(
            name,
            format!("must be an absolute http(s) URL ({e}), got {raw:?}"),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ConfigError::new(
            name,
            format!("must be an absolute http(s) URL with a host, got {raw:?}"),
        ));
    }
    Ok(parsed)
}

/// Where a secret value comes from: the value itself in one variable (local runs), or the Secrets Manager
/// secret whose ARN another variable holds (what the template sets), or neither. At most one may be set.
/// [`crate::aws::secret_value`] turns it into the value, reading the secret once at init.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// Neither variable is set.
    None,
    /// The value, given directly.
    Direct(SecretString),
    /// The ARN of the secret whose `SecretString` is the value.
    Secret(String),
}

/// Reads `direct_var` (the value) and `arn_var` (a secret's ARN); both set is an error naming both.
pub fn secret_source(
    env: &dyn Env,
    direct_var: &str,
    arn_var: &str,
) -> Result<SecretSource, ConfigError> {
    match (optional(env, direct_var), optional(env, arn_var)) {
        (None, None) => Ok(SecretSource::None),
        (Some(value), None) => Ok(SecretSource::Direct(SecretString::from(value))),
        (None, Some(arn)) => Ok(SecretSource::Secret(arn)),
        (Some(_), Some(_)) => Err(ConfigError::new(
            direct_var,
            format!("and {arn_var} are both set; set only one of them"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_accepts_fractions_and_rejects_garbage() {
        let min = Duration::from_millis(1);
        let max = Duration::from_secs(900);
        let d = Duration::from_secs(5);
        assert_eq!(
            seconds(&[("T", "2.5")], "T", d, min, max).unwrap(),
            Duration::from_millis(2500)
        );
        assert_eq!(seconds(&[("T", " ")], "T", d, min, max).unwrap(), d);
        for bad in ["abc", "-1", "NaN", "inf", "0", "901"] {
            let e = seconds(&[("T", bad)], "T", d, min, max).unwrap_err();
            assert_eq!(e.variable, "T", "{bad}");
        }
    }

    #[test]
    fn url_must_be_absolute_http() {
        assert!(url(&[("U", "https://api.example.com/v1/user-info")], "U").is_ok());
        for bad in ["", "api.example.com", "ftp://x/y", "http://"] {
            let e = url(&[("U", bad)], "U").unwrap_err();
            assert_eq!(e.variable, "U");
        }
    }

    #[test]
    fn lists_name_the_bad_value() {
        let allowed = ["a", "b.c"];
        assert_eq!(list_of(&[("L", " ")], "L", &allowed).unwrap(), None);
        assert_eq!(
            list_of(&[("L", "None")], "L", &allowed).unwrap(),
            Some(vec![])
        );
        assert_eq!(
            list_of(&[("L", "b.c, a,a")], "L", &allowed).unwrap(),
            Some(vec!["b.c".to_owned(), "a".to_owned()])
        );
        let e = list_of(&[("L", "a,x")], "L", &allowed).unwrap_err();
        assert!(e.problem.contains("\"x\""), "{e}");
        assert_eq!(integer(&[("N", "0")], "N", 5, 0, 9).unwrap(), 0);
        assert!(integer(&[("N", "10")], "N", 5, 0, 9).is_err());
    }

    #[test]
    fn a_secret_comes_from_one_variable_at_most() {
        use secrecy::ExposeSecret;
        assert!(matches!(
            secret_source(&[("X", "")], "K", "K_ARN").unwrap(),
            SecretSource::None
        ));
        match secret_source(&[("K", " v ")], "K", "K_ARN").unwrap() {
            SecretSource::Direct(v) => assert_eq!(v.expose_secret(), "v"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            secret_source(&[("K_ARN", "arn:x")], "K", "K_ARN").unwrap(),
            SecretSource::Secret(arn) if arn == "arn:x"
        ));
        let e = secret_source(&[("K", "v"), ("K_ARN", "arn:x")], "K", "K_ARN").unwrap_err();
        assert_eq!(
            e.to_string(),
            "K: and K_ARN are both set; set only one of them"
        );
    }

    #[test]
    fn flag_and_positive() {
        assert!(flag(&[("F", "TRUE")], "F", false).unwrap());
        assert!(!flag(&[("F", "0")], "F", true).unwrap());
        assert!(flag(&[("F", "maybe")], "F", true).is_err());
        assert_eq!(integer(&[("N", "16")], "N", 1, 1, 100).unwrap(), 16);
        assert!(integer(&[("N", "0")], "N", 1, 1, 100).is_err());
        assert!(integer(&[("N", "101")], "N", 1, 1, 100).is_err());
    }
}
