//! What a run has to hand: its settings, the stand-ins and moto every function runs against (started
//! once, stopped when the run ends), the fixtures, and the optional Python baseline.

use std::path::{Path, PathBuf};

use test_support::aws::LocalAws;

use crate::baseline::Baseline;
use crate::fixtures::{self, Fixtures};
use crate::genesys::GenesysStandIn;
use crate::http::Http;
use crate::say;
use crate::standins::{Aws, StepFunctions, Upstream};

/// Events in the batch Tasks' batch, and conversations in enrich's invocation.
pub const BATCH: usize = 100;
/// moto's table for enrich.
pub const ENRICH_TABLE: &str = "enrich-conversations";
/// moto's table for save (the real conditional writes).
pub const SAVE_TABLE: &str = "save-conversations";
/// The state machine fanout starts (the stand-in accepts any).
pub const STATE_MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:bench";

/// What to run and how much.
pub struct Settings {
    /// Fresh processes per function.
    pub cold_runs: usize,
    /// Timed invocations per warm loop.
    pub warm_runs: usize,
    /// Events in fanout's throughput invocation.
    pub fanout_events: usize,
    /// Where the release binaries are.
    pub bin_dir: PathBuf,
    /// The workspace root (events, fixtures, local/).
    pub root: PathBuf,
    /// Also report the arm64 artifacts `cargo lambda` built.
    pub arm64: bool,
}

impl Settings {
    /// Warm invocations where one invocation takes a few hundred ms (enrich against the Python stand-in
    /// and moto, save against moto): a 50th of `--warm`, at least 5.
    pub fn slow_runs(&self) -> usize {
        (self.warm_runs / 50).max(5)
    }

    /// The path of release binary `name`, checked.
    pub fn binary(&self, name: &str) -> Result<PathBuf, String> {
        let path = self.bin_dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{} not found: build first (`cargo build --release --workspace --bins`, or scripts/bench.sh)",
                path.display()
            ))
        }
    }
}

/// moto's queue URLs.
pub struct Queues {
    /// enrich's `ENRICHMENT_QUEUE_URL`.
    pub enrichment: String,
    /// enrich's `ENRICHMENT_DEAD_LETTER_QUEUE_URL`.
    pub enrichment_dlq: String,
    /// save's `ENRICHMENT_QUEUE_URL` (moto run).
    pub save_enrichment: String,
    /// save's `DEAD_LETTER_QUEUE_URL` (moto run).
    pub save_dlq: String,
}

/// Everything the functions run against, all on 127.0.0.1.
pub struct Stage {
    /// The bench's HTTP client.
    pub http: Http,
    /// data-action's customer API.
    pub upstream: Upstream,
    /// fanout's Step Functions.
    pub sfn: StepFunctions,
    /// save's DynamoDB and SQS (zero latency).
    pub aws: Aws,
    /// `local/genesys_standin.py`, with the batch's conversations registered.
    pub genesys: GenesysStandIn,
    /// moto (DynamoDB, SQS) with enrich's and save's tables and queues.
    pub moto: LocalAws,
    /// moto's queues.
    pub queues: Queues,
}

impl Stage {
    /// Starts every stand-in and moto.
    pub fn start(root: &Path) -> Result<Stage, String> {
        let http = Http::new()?;
        let upstream = Upstream::start(&http)?;
        let sfn = StepFunctions::start(&http)?;
        let aws = Aws::start(&http)?;
        say("stand-ins up (wiremock); starting local/genesys_standin.py and moto");
        let genesys = GenesysStandIn::start(root, &http)?;
        let ids: Vec<String> = (0..BATCH).map(fixtures::conversation_id).collect();
        genesys.register(&http, &ids)?;
        // The bench measures work, not the stand-in's per-token limit (300 a minute, as Genesys).
        genesys.faults(&http, &serde_json::json!({"rateLimit": 1_000_000}))?;
        let moto = LocalAws::start(false);
        moto.create_table(ENRICH_TABLE);
        moto.create_table(SAVE_TABLE);
        let queues = Queues {
            enrichment: moto.create_queue("enrichment"),
            enrichment_dlq: moto.create_queue("enrichment-dlq"),
            save_enrichment: moto.create_queue("save-enrichment"),
            save_dlq: moto.create_queue("save-dlq"),
        };
        Ok(Stage {
            http,
            upstream,
            sfn,
            aws,
            genesys,
            moto,
            queues,
        })
    }
}

/// A run's settings, stage, fixtures and baseline.
pub struct Context {
    /// The settings.
    pub settings: Settings,
    /// The stand-ins and moto.
    pub stage: Stage,
    /// The fixtures.
    pub fixtures: Fixtures,
    /// The Python baseline, when it runs.
    pub baseline: Option<Baseline>,
    /// Why it does not, when it does not.
    pub baseline_note: Option<String>,
}

impl Context {
    /// Loads the fixtures and starts the stage.
    pub fn new(
        settings: Settings,
        baseline: Result<Option<Baseline>, String>,
    ) -> Result<Context, String> {
        let fixtures = Fixtures::load(&settings.root)?;
        let stage = Stage::start(&settings.root)?;
        let (baseline, baseline_note) = match baseline {
            Ok(Some(b)) => (Some(b), None),
            Ok(None) => (
                None,
                Some("no baseline directory: the project's figures alone".into()),
            ),
            Err(e) => (None, Some(e)),
        };
        Ok(Context {
            settings,
            stage,
            fixtures,
            baseline,
            baseline_note,
        })
    }
}
