//! The runtime shell: what every function binary does around its handler, written once.
//!
//! A function crate implements [`Function`] (settings read from the environment, the app built once,
//! the handler) and its `main.rs` is `gcx_core::lambda::serve::<App>()`. The shell owns:
//!
//! - logging init ([`crate::logging`]);
//! - reading the settings once, and reporting a bad one to the Runtime API as `Config.Invalid`;
//! - the optional warm-up (`WARM_CONNECTIONS=true`);
//! - the runtime loop (`lambda_runtime::run`);
//! - one structured line per invocation: `requestId`, `function`, `outcome` (a stable name),
//!   `durationMs`, the Genesys correlation ids of the events it carried ([`Invocation::correlate`]) and
//!   the function's own counts ([`Outcome::fields`]), which is also the invocation's CloudWatch metric
//!   record when `METRICS_NAMESPACE` is set ([`crate::metrics`]);
//! - the exit code.

use std::collections::HashSet;
use std::future::Future;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::{Map, Value};
use tracing::Level;

use crate::config::{ConfigError, Env, ProcessEnv};
use crate::metrics::Unit;
use crate::names::StableName;
use crate::setting::Setting;

/// One Lambda function: its settings, its app (built once per container) and its handler.
pub trait Function: Sized + 'static {
    /// The function's name in logs (`fanout`, `save`, ...).
    const NAME: &'static str;
    /// Everything read from the environment, parsed and validated.
    type Settings;
    /// The handler's answer.
    type Output: serde::Serialize + Outcome;
    /// The handler's failure; its stable name becomes the Lambda `errorType`.
    type Error: StableName + std::fmt::Display + std::fmt::Debug + Into<Diagnostic>;

    /// Reads and validates every setting (no I/O); an error names the variable.
    fn settings(env: &dyn Env) -> Result<Self::Settings, ConfigError>;

    /// Builds the app once per container: clients, secrets, caches.
    fn build(settings: Self::Settings) -> impl Future<Output = Result<Self, ConfigError>>;

    /// One cheap call that opens the connections the first invocation will need (`WARM_CONNECTIONS`).
    fn warm_up(&self) -> impl Future<Output = ()> {
        async {}
    }

    /// Handles one event.
    fn handle(
        &self,
        event: Value,
        invocation: &Invocation,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>>;
}

/// What a handler's answer says about the invocation, for its log line.
pub trait Outcome {
    /// A stable name for how the invocation went: `ok`, or a failure kind.
    fn outcome(&self) -> &'static str {
        "ok"
    }

    /// The log line's level.
    fn level(&self) -> Level {
        Level::INFO
    }

    /// Extra fields for the log line (counts, statuses; never PII).
    fn fields(&self, _fields: &mut Map<String, Value>) {}

    /// Which of those fields are CloudWatch metrics too (dimension `function`), with their units.
    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[]
    }
}

/// The error type of a function that answers every event (validate, enrich): it has no values.
#[derive(Debug, thiserror::Error)]
pub enum Never {}
crate::stable_names!(Never {});

/// The invocation being handled.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Lambda's request id.
    pub request_id: String,
    /// When the handler started.
    pub started: Instant,
    /// When Lambda stops the function (see [`time_left`]).
    pub deadline: Instant,
    /// The Genesys correlation ids of the events it carries, once the handler has read them.
    correlation_ids: OnceLock<CorrelationIds>,
}

impl Invocation {
    /// An invocation starting now with `time_left` to run (tests and benchmarks).
    pub fn new(request_id: impl Into<String>, time_left: Duration) -> Self {
        let started = Instant::now();
        Self {
            request_id: request_id.into(),
            started,
            deadline: started + time_left,
            correlation_ids: OnceLock::new(),
        }
    }

    /// Records the Genesys correlation ids (`detail.metadata.CorrelationId`) of the events this
    /// invocation carries, so that its log line, success or failure, leads to them. The handler calls it
    /// once, as soon as it has read its input; a second call is ignored.
    pub fn correlate<'a>(&self, ids: impl IntoIterator<Item = Option<&'a str>>) {
        let _ = self.correlation_ids.set(CorrelationIds::collect(ids));
    }

    /// Time until the deadline, zero when past.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// A batch's Genesys correlation ids for a log line: each once, in order of arrival, the first
/// [`CorrelationIds::MAX`] of them (a batch holds up to hundreds of events; the line stays short).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorrelationIds {
    ids: Vec<String>,
    /// Distinct ids beyond the first `MAX`.
    more: usize,
}

impl CorrelationIds {
    /// Most ids written on one line (about 40 bytes each).
    pub const MAX: usize = 20;

    /// The distinct ids among `ids`, skipping events that have none.
    pub fn collect<'a>(ids: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut seen = HashSet::new();
        let mut out = Self::default();
        for id in ids.into_iter().flatten() {
            if id.is_empty() || !seen.insert(id) {
                continue;
            }
            if out.ids.len() < Self::MAX {
                out.ids.push(id.to_owned());
            } else {
                out.more += 1;
            }
        }
        out
    }

    /// Adds `correlationIds` (and `correlationIdsMore`, the count left out) to a log line's fields;
    /// nothing when there are none.
    pub fn insert_into(&self, fields: &mut Map<String, Value>) {
        if self.ids.is_empty() {
            return;
        }
        fields.insert("correlationIds".into(), self.ids.clone().into());
        if self.more > 0 {
            fields.insert("correlationIdsMore".into(), self.more.into());
        }
    }
}

/// Runs function `F` until the Runtime API goes away. The whole of every `main.rs`.
pub async fn serve<F: Function>() -> ExitCode {
    crate::logging::init();
    let env = ProcessEnv;
    let app = match init::<F>(&env).await {
        Ok(app) => app,
        Err(error) => {
            report_init_error(&error).await;
            return ExitCode::FAILURE;
        }
    };
    let namespace = crate::metrics::namespace(&env);
    let namespace = namespace.as_deref();
    let outcome = lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        invoke(&app, event, namespace)
    }))
    .await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "runtime loop ended");
            ExitCode::FAILURE
        }
    }
}

/// One cheap call at init so that the first event finds a pooled connection.
pub const WARM_CONNECTIONS: Setting = Setting::flag("WARM_CONNECTIONS", false).doc(
    "Make one cheap call at init so the first event finds a pooled TLS connection (fanout: ListStateMachines, \
     save: DescribeLimits, enrich: fetches the token); anything but true or false fails init.",
);

/// The variables every function reads (the shell's, the logger's, the metrics', the HTTP client's and the
/// AWS SDK's), besides its own `SETTINGS`.
pub const COMMON_SETTINGS: &[Setting] = &[
    WARM_CONNECTIONS,
    crate::logging::LOG_LEVEL,
    crate::metrics::METRICS_NAMESPACE,
    crate::http::SSL_CERT_FILE,
    crate::aws::AWS_ENDPOINT_URL,
];

/// Reads the settings, builds the app and warms it up when asked.
async fn init<F: Function>(env: &dyn Env) -> Result<F, ConfigError> {
    let warm = WARM_CONNECTIONS.read_flag(env)?;
    let settings = F::settings(env)?;
    let app = F::build(settings).await?;
    if warm {
        // Bounded: a bad network must not stall init for long; the answer itself does not matter
        // (an access-denied reply warms the TLS connection as well as a success).
        let started = Instant::now();
        let _ = tokio::time::timeout(Duration::from_secs(2), app.warm_up()).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "connections warmed"
        );
    }
    Ok(app)
}

async fn invoke<F: Function>(
    app: &F,
    event: LambdaEvent<Value>,
    namespace: Option<&str>,
) -> Result<F::Output, F::Error> {
    let invocation = Invocation::new(
        event.context.request_id.clone(),
        time_left(event.context.deadline),
    );
    let result = app.handle(event.payload, &invocation).await;
    let (level, fields) = invocation_line::<F>(&invocation, &result, namespace);
    crate::logging::write_line(level, "invocation", fields);
    result
}

/// The per-invocation line's level and fields.
fn invocation_line<F: Function>(
    invocation: &Invocation,
    result: &Result<F::Output, F::Error>,
    namespace: Option<&str>,
) -> (Level, Map<String, Value>) {
    let mut fields = Map::new();
    fields.insert("requestId".into(), invocation.request_id.clone().into());
    fields.insert("function".into(), F::NAME.into());
    if let Some(ids) = invocation.correlation_ids.get() {
        ids.insert_into(&mut fields);
    }
    let level = match result {
        Ok(output) => {
            fields.insert("outcome".into(), output.outcome().into());
            output.fields(&mut fields);
            output.level()
        }
        Err(error) => {
            fields.insert("outcome".into(), error.name().into());
            fields.insert("errorMessage".into(), error.to_string().into());
            Level::WARN
        }
    };
    // Milliseconds with microsecond resolution: warm invocations take well under a millisecond.
    let micros = invocation.started.elapsed().as_micros() as f64;
    fields.insert(crate::metrics::DURATION.into(), (micros / 1000.0).into());
    if let Some(namespace) = namespace {
        let own = result.as_ref().map_or(&[][..], Outcome::metrics);
        crate::metrics::embed(&mut fields, namespace, own);
    }
    (level, fields)
}

/// Reports an init failure: one JSON log line, then `POST /runtime/init/error` (errorType
/// `Config.Invalid`) so Lambda shows the cause. lambda_runtime 1.5 only reports init errors for SnapStart
/// hooks, hence this. The caller then exits non-zero.
pub async fn report_init_error(error: &ConfigError) {
    tracing::error!(error_type = "Config.Invalid", variable = %error.variable, error = %error, "init failed");
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let diagnostic = Diagnostic::from(error.clone());
    let Ok(body) = serde_json::to_vec(&diagnostic) else {
        return;
    };
    let Ok(client) = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
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
pub fn time_left(deadline_ms: u64) -> Duration {
    const LONGEST_LAMBDA_TIMEOUT: Duration = Duration::from_secs(900);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let deadline = Duration::from_millis(deadline_ms);
    if deadline <= now {
        return LONGEST_LAMBDA_TIMEOUT;
    }
    deadline - now
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

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

    #[derive(Debug, thiserror::Error)]
    enum Failure {
        #[error("the table is gone")]
        Gone,
    }
    crate::stable_names!(Failure { Gone => "Test.Gone" });

    #[derive(serde::Serialize)]
    struct Echo(u64);
    impl Outcome for Echo {
        fn outcome(&self) -> &'static str {
            "partial"
        }
        fn fields(&self, fields: &mut Map<String, Value>) {
            fields.insert("stored".into(), self.0.into());
        }
        fn metrics(&self) -> &'static [(&'static str, Unit)] {
            &[("stored", Unit::Count)]
        }
    }

    struct Probe;
    impl Function for Probe {
        const NAME: &'static str = "probe";
        type Settings = ();
        type Output = Echo;
        type Error = Failure;
        fn settings(_: &dyn Env) -> Result<(), ConfigError> {
            Ok(())
        }
        async fn build(_: ()) -> Result<Self, ConfigError> {
            Ok(Probe)
        }
        async fn handle(&self, _: Value, _: &Invocation) -> Result<Echo, Failure> {
            Ok(Echo(1))
        }
    }

    #[test]
    fn the_invocation_line_names_request_outcome_and_counts() {
        let invocation = Invocation::new("req-1", Duration::from_secs(1));
        let (level, ok) = invocation_line::<Probe>(&invocation, &Ok(Echo(3)), None);
        assert_eq!(level, Level::INFO);
        assert_eq!(ok["requestId"], "req-1");
        assert_eq!(ok["function"], "probe");
        assert_eq!(ok["outcome"], "partial");
        assert_eq!(ok["stored"], 3);
        assert!(ok["durationMs"].as_f64().unwrap() >= 0.0);
        assert!(ok.get("_aws").is_none(), "no namespace, no metrics");
        let (level, failed) = invocation_line::<Probe>(&invocation, &Err(Failure::Gone), None);
        assert_eq!(level, Level::WARN);
        assert_eq!(failed["outcome"], "Test.Gone");
        assert_eq!(failed["errorMessage"], "the table is gone");
    }

    #[test]
    fn the_line_carries_the_batch_correlation_ids_once_each_and_capped() {
        let invocation = Invocation::new("req-3", Duration::from_secs(1));
        let (_, none) = invocation_line::<Probe>(&invocation, &Ok(Echo(1)), None);
        assert!(none.get("correlationIds").is_none(), "{none:?}");

        let many: Vec<String> = (0..30).map(|i| format!("corr-{i}")).collect();
        let ids = [
            Some("corr-b"),
            None,
            Some("corr-a"),
            Some("corr-b"),
            Some(""),
        ]
        .into_iter()
        .chain(many.iter().map(|s| Some(s.as_str())));
        invocation.correlate(ids);
        invocation.correlate([Some("ignored")]);
        let (_, failed) = invocation_line::<Probe>(&invocation, &Err(Failure::Gone), None);
        let listed: Vec<&str> = failed["correlationIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(listed.len(), CorrelationIds::MAX);
        assert_eq!(&listed[..3], ["corr-b", "corr-a", "corr-0"]);
        assert!(!listed.contains(&"ignored"));
        assert_eq!(failed["correlationIdsMore"], 32 - CorrelationIds::MAX);
        assert_eq!(failed["outcome"], "Test.Gone", "failures carry them too");
    }

    #[test]
    fn with_a_namespace_the_line_is_also_the_metric_record() {
        let invocation = Invocation::new("req-2", Duration::from_secs(1));
        let (_, ok) = invocation_line::<Probe>(&invocation, &Ok(Echo(3)), Some("GenesysCx/s"));
        let directives = ok["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[1]["Metrics"][0]["Name"], "stored");
        assert_eq!(ok["invocations"], 1);
        let (_, failed) =
            invocation_line::<Probe>(&invocation, &Err(Failure::Gone), Some("GenesysCx/s"));
        let directives = failed["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(
            directives.len(),
            1,
            "a failed invocation has no counts of its own"
        );
        assert_eq!(failed["outcome"], "Test.Gone");
    }

    #[tokio::test]
    async fn a_mistyped_warm_up_flag_fails_init_naming_it() {
        let e = init::<Probe>(&[("WARM_CONNECTIONS", "ture")])
            .await
            .err()
            .unwrap();
        assert_eq!(e.variable, "WARM_CONNECTIONS");
        assert!(init::<Probe>(&[("WARM_CONNECTIONS", "true")]).await.is_ok());
    }
}
