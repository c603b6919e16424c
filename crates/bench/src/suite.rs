//! The benchmark proper: which function runs with which environment, event and answer check, in which
//! order; the results it collects. Printing and budgets live in `report`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};
use test_support::moto::MotoServer;

use crate::artifacts::{self, Artifact};
use crate::baseline::Baseline;
use crate::client::{self, Conn};
use crate::measure::{self, BoxedCheck, Cold, Single, Summary, Target, Warm};
use crate::say;
use crate::standin::{StandIn, AMZ_JSON};

/// The five functions, in pipeline order after the data action.
pub const FUNCTIONS: [&str; 5] = ["data-action", "fanout", "validate", "process", "save"];
/// The bare `lambda_runtime` echo binary the functions' init is compared with.
pub const BARE: &str = "bench-bare";
/// Label of the Python seed's fanout throughput run.
pub const SEED_FANOUT: &str = "Python seed (one at a time)";
/// The Python seed data action's row.
pub const SEED_DATA_ACTION: &str = "seed data-action (py)";
/// The Python seed fan-out's row.
pub const SEED_FANOUT_FN: &str = "seed fanout (py)";
/// Name (prefix) of the emulator round trip with a pipeline-sized event in the stand-in list.
pub const BIG_EVENT_ROUND_TRIP: &str = "runtime API round trip, pipeline event";
/// Latency the Step Functions stand-in adds to each call in the throughput runs.
pub const SFN_DELAY: Duration = Duration::from_millis(5);
/// The DynamoDB table save writes to (created in moto).
const TABLE: &str = "conversations";
/// The state machine fanout starts (the stand-in accepts any).
const STATE_MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:bench";
/// Deadline for the big throughput invocations (the one-at-a-time runs take seconds).
const LONG_DEADLINE: Duration = Duration::from_secs(600);
/// A fake SigV4 header for the raw calls to moto: moto reads the region from it, never the signature.
const MOTO_AUTH: &str = "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0";

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
    /// The workspace root (events, fixtures).
    pub root: PathBuf,
    /// Also report the arm64 artifacts `cargo lambda` built.
    pub arm64: bool,
}

/// One function's figures.
pub struct FnResult {
    /// `data-action`, ..., `bench-bare`, or `seed data-action (py)`.
    pub name: String,
    /// A Python seed, not a project binary.
    pub python: bool,
    /// Release binary and zip sizes (project binaries only).
    pub artifact: Option<Artifact>,
    /// arm64 sizes, with `--arm64`.
    pub arm64: Option<Artifact>,
    /// Cold starts.
    pub cold: Cold,
    /// The warm loop.
    pub warm: Warm,
    /// Peak RSS of other processes of this function (fanout's throughput run), KiB.
    pub other_peak_rss_kb: u64,
    /// What it ran against.
    pub against: String,
}

impl FnResult {
    /// Init summary.
    pub fn init(&self) -> Summary {
        Summary::of(&self.cold.init_ms)
    }

    /// Warm-loop summary.
    pub fn warm(&self) -> Summary {
        Summary::of(&self.warm.samples_ms)
    }

    /// The highest VmHWM of any of its processes, KiB.
    pub fn peak_rss_kb(&self) -> u64 {
        self.cold
            .peak_rss_kb
            .max(self.warm.peak_rss_kb)
            .max(self.other_peak_rss_kb)
    }
}

/// One fanout throughput run.
pub struct Throughput {
    /// `FANOUT_CONCURRENCY=16`, `FANOUT_CONCURRENCY=1`, `Python seed`.
    pub label: String,
    /// The run.
    pub run: Single,
    /// Most StartExecution calls the stand-in saw in flight at once.
    pub max_in_flight: u64,
    /// StartExecution calls the stand-in answered during the big invocation.
    pub calls: u64,
}

/// save against moto: real conditional writes.
pub struct SaveMoto {
    /// moto's own cost for one UpdateItem from a keep-alive client.
    pub moto_put: Summary,
    /// Warm loop of newer events: every write stored.
    pub stored: Warm,
    /// The same event again and again: every write refused by the condition ("duplicate").
    pub duplicate: Warm,
}

/// Everything one run measured.
pub struct Results {
    /// The settings it ran with.
    pub settings: Settings,
    /// Project functions, then `bench-bare`, then the Python seeds.
    pub functions: Vec<FnResult>,
    /// Each stand-in's own cost per call, and the emulator round trip.
    pub standins: Vec<(String, Summary)>,
    /// fanout throughput runs.
    pub fanout: Vec<Throughput>,
    /// Token requests the Genesys stand-in saw during process's warm process, and its invocations.
    pub tokens: (u64, usize),
    /// save against moto.
    pub save_moto: SaveMoto,
    /// The baseline directory, when it ran.
    pub baseline: Option<PathBuf>,
    /// Why the baseline did not run, when it did not.
    pub baseline_note: Option<String>,
    /// Tool that built the zips.
    pub zip_tool: &'static str,
}

impl Results {
    /// The figures of function `name`.
    pub fn function(&self, name: &str) -> Option<&FnResult> {
        self.functions.iter().find(|f| f.name == name)
    }
}

/// Reads `events/<path>` (or any workspace file) as JSON.
pub fn load_json(root: &Path, path: &str) -> Result<Value, String> {
    let full = root.join(path);
    let text = std::fs::read_to_string(&full).map_err(|e| format!("{}: {e}", full.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", full.display()))
}

/// The path of binary `name` in the release directory, checked.
pub fn binary(bin_dir: &Path, name: &str) -> Result<PathBuf, String> {
    let path = bin_dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build first (`cargo build --release --workspace --bins`, or scripts/bench.sh)",
            path.display()
        ))
    }
}

/// `Ok` when `value[key] == want`.
fn expect_field(value: &Value, pointer: &str, want: &Value) -> Result<(), String> {
    match value.pointer(pointer) {
        Some(got) if got == want => Ok(()),
        _ => Err(format!(
            "expected {pointer} = {want} in the answer, got {value}"
        )),
    }
}

/// Size of `value` as the emulator sends it (compact JSON).
fn compact_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

/// One conversation event with a distinct EventBridge id and conversation id.
fn conversation_event(template: &Value, tag: &str, i: usize) -> Value {
    let mut event = template.clone();
    let conversation = format!("1bc96a39-6725-40c4-9345-{i:012x}");
    event["id"] = json!(format!("bench-{tag}-{i:06}"));
    event["detail"]["eventBody"]["conversationId"] = json!(conversation);
    event["detail"]["topicName"] = json!(format!(
        "v2.detail.events.conversation.{conversation}.customer.end"
    ));
    event
}

/// save's input with a record `i` steps newer than the fixture's (so every write is newer).
fn save_event(template: &Value, i: usize) -> Value {
    let mut event = template.clone();
    let base = template["record"]["lastEventTime"].as_u64().unwrap_or(0);
    event["record"]["lastEventTime"] = json!(base + i as u64);
    event["record"]["lastEventId"] = json!(format!("bench-{i:06}"));
    event
}

/// Runs everything; `Err` only when something broke (a function failed, a stand-in did not start).
pub fn run(
    settings: Settings,
    baseline: Result<Option<Baseline>, String>,
) -> Result<Results, String> {
    let root = settings.root.clone();
    let (cold_runs, warm_runs) = (settings.cold_runs, settings.warm_runs);

    // --- artifacts --------------------------------------------------------------------------------
    let scratch = tempfile::Builder::new()
        .prefix("bench-zips-")
        .tempdir()
        .map_err(|e| format!("a temporary directory for the zips: {e}"))?;
    let mut sizes = BTreeMap::new();
    let mut arm64 = BTreeMap::new();
    for name in FUNCTIONS.iter().chain([&BARE]) {
        let path = binary(&settings.bin_dir, name)?;
        sizes.insert(*name, artifacts::measure(name, &path, scratch.path())?);
        if settings.arm64 && *name != BARE {
            let target_dir = settings.bin_dir.parent().unwrap_or(&settings.bin_dir);
            arm64.insert(*name, artifacts::arm64(target_dir, name)?);
        }
    }
    say(&format!("sizes measured ({})", artifacts::zip_tool()));

    // --- stand-ins and their own cost -------------------------------------------------------------
    let details = std::fs::read(
        root.join("crates/core/tests/fixtures/analytics_conversation_details_1.json"),
    )
    .map_err(|e| format!("the analytics fixture: {e}"))?;
    let upstream = StandIn::upstream();
    let genesys = StandIn::genesys(details);
    let sfn = StandIn::step_functions();
    let dynamo = StandIn::dynamodb();
    let n = warm_runs.max(1);
    let mut standins = vec![
        (
            "upstream GET /v1/user-info".to_owned(),
            client::time_requests(
                &upstream.addr,
                "GET",
                "/v1/user-info?id=12345&locale=en-US",
                &[],
                b"",
                n,
            )?,
        ),
        (
            "genesys GET analytics details (7 KB)".to_owned(),
            client::time_requests(
                &genesys.addr,
                "GET",
                "/api/v2/analytics/conversations/1bc96a39-6725-40c4-9345-db72aa67b8c6/details",
                &[],
                b"",
                n,
            )?,
        ),
        (
            "step functions StartExecution (no delay)".to_owned(),
            client::time_requests(
                &sfn.addr,
                "POST",
                "/",
                &[
                    ("X-Amz-Target", "AWSStepFunctions.StartExecution"),
                    ("Content-Type", AMZ_JSON),
                ],
                br#"{"stateMachineArn":"arn","name":"overhead","input":"{}"}"#,
                n,
            )?,
        ),
        (
            "dynamodb UpdateItem".to_owned(),
            client::time_requests(
                &dynamo.addr,
                "POST",
                "/",
                &[
                    ("X-Amz-Target", "DynamoDB_20120810.UpdateItem"),
                    ("Content-Type", AMZ_JSON),
                ],
                br#"{"TableName":"conversations","Key":{"conversationId":{"S":"overhead"}},"UpdateExpression":"SET n = :n","ExpressionAttributeValues":{":n":{"N":"1"}}}"#,
                n,
            )?,
        ),
    ];
    say("stand-ins timed on their own");

    // --- what runs: the project's functions, the bare binary, the Python seeds ----------------------
    let wrapped = load_json(&root, "events/data-action/wrapped.json")?;
    let flat = load_json(&root, "events/data-action/flat.json")?;
    let customer_end = load_json(&root, "events/eventbridge/customer-end.json")?;
    let validate_input = load_json(&root, "events/pipeline/validate-input.json")?;
    let process_input = load_json(&root, "events/pipeline/process-input.json")?;
    let save_input = load_json(&root, "events/pipeline/save-input.json")?;
    let bin = |name: &str| binary(&settings.bin_dir, name);
    let fanout = |concurrency: usize| -> Result<Target, String> {
        Ok(Target::new("fanout", bin("fanout")?)
            .with("STATE_MACHINE_ARN", STATE_MACHINE_ARN)
            .with("FANOUT_CONCURRENCY", &concurrency.to_string())
            .with("AWS_ENDPOINT_URL", &sfn.base))
    };
    let save = |endpoint: &str| -> Result<Target, String> {
        Ok(Target::new("save", bin("save")?)
            .with("DYNAMODB_TABLE_NAME", TABLE)
            .with("AWS_ENDPOINT_URL", endpoint))
    };
    let upstream_url = format!("{}/v1/user-info", upstream.base);
    let echo_of = |event: &Value| {
        let event = event.clone();
        move |v: &Value| {
            if *v == event {
                Ok(())
            } else {
                Err(format!("bench-bare did not echo the event: {v}"))
            }
        }
    };
    let seed_processed = |n: usize| {
        move |v: &Value| {
            let body: Value = v["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or(Value::Null);
            expect_field(&body, "/processed", &json!(n))?;
            expect_field(&body, "/errors", &json!([]))
        }
    };

    let mut entries = vec![
        Entry {
            name: "data-action",
            target: Target::new("data-action", bin("data-action")?)
                .with("EXTERNAL_API_URL", &upstream_url),
            against: "upstream stand-in",
            event_for: Box::new(|_| wrapped.clone()),
            check: Box::new(|v| {
                expect_field(v, "/success", &json!(true))?;
                expect_field(v, "/customer_name", &json!("John Doe"))
            }),
        },
        Entry {
            name: "fanout",
            target: fanout(16)?,
            against: "Step Functions stand-in (no delay), one event per invocation",
            event_for: Box::new(|i| conversation_event(&customer_end, "warm", i)),
            check: Box::new(|v| expect_field(v, "/started", &json!(1))),
        },
        Entry {
            name: "validate",
            target: Target::new("validate", bin("validate")?),
            against: "nothing (pure)",
            event_for: Box::new(|_| validate_input.clone()),
            check: Box::new(|v| expect_field(v, "/isValid", &json!(true))),
        },
        Entry {
            name: "process",
            target: Target::new("process", bin("process")?)
                .with("GENESYS_ENV", "mypurecloud.com")
                .with("GENESYS_LOGIN_URL", &genesys.base)
                .with("GENESYS_API_URL", &genesys.base)
                .with("GENESYS_CLIENT_ID", "bench-client")
                .with("GENESYS_CLIENT_SECRET", "bench-secret"),
            against: "Genesys stand-in (token + analytics details)",
            event_for: Box::new(|_| process_input.clone()),
            check: Box::new(|v| expect_field(v, "/enriched", &json!(true))),
        },
        Entry {
            name: "save",
            target: save(&dynamo.base)?,
            against: "DynamoDB stand-in (UpdateItem answers {} at once)",
            event_for: Box::new(|i| save_event(&save_input, i)),
            check: Box::new(|v| expect_field(v, "/saved", &json!(true))),
        },
        Entry {
            name: BARE,
            target: Target::new(BARE, bin(BARE)?),
            against: "nothing (echo)",
            event_for: Box::new(|_| flat.clone()),
            check: Box::new(echo_of(&flat)),
        },
    ];
    let (baseline, mut baseline_note) = match baseline {
        Ok(Some(b)) => (Some(b), None),
        Ok(None) => (
            None,
            Some("no baseline directory: the project's figures alone".to_owned()),
        ),
        Err(e) => (None, Some(e)),
    };
    let mut seed_fanout = None;
    if let Some(baseline) = &baseline {
        say(&format!("baseline: {}", baseline.dir.display()));
        entries.push(Entry {
            name: SEED_DATA_ACTION,
            target: Target::new(
                SEED_DATA_ACTION,
                baseline.wrapper("seed_data_action.lambda_handler")?,
            )
            .with("EXTERNAL_API_URL", &upstream_url),
            against: "upstream stand-in",
            event_for: Box::new(|_| wrapped.clone()),
            check: Box::new(|v| expect_field(v, "/result/success", &json!(true))),
        });
        if baseline.has("seed_fanout_fixed.py") {
            let target = Target::new(
                SEED_FANOUT_FN,
                baseline.wrapper("seed_fanout_fixed.lambda_handler")?,
            )
            .with("STATE_MACHINE_ARN", STATE_MACHINE_ARN)
            .with("AWS_ENDPOINT_URL", &sfn.base);
            seed_fanout = Some(target.clone());
            entries.push(Entry {
                name: SEED_FANOUT_FN,
                target,
                against: "Step Functions stand-in (no delay), one event per invocation",
                event_for: Box::new(|i| conversation_event(&customer_end, "seed-warm", i)),
                check: Box::new(seed_processed(1)),
            });
        } else {
            baseline_note = Some("the baseline has no seed_fanout_fixed.py".to_owned());
        }
    }

    // --- cold starts, interleaved: round r starts every function once, so load changes on the machine
    // hit them alike and the ratios (vs bench-bare, vs the seeds) compare like with like -------------
    sfn.set_delay(Duration::ZERO);
    let mut colds: Vec<Cold> = entries.iter().map(|_| Cold::default()).collect();
    say(&format!(
        "cold starts: {cold_runs} rounds of {} functions, interleaved",
        entries.len()
    ));
    for round in 1..=cold_runs {
        for (entry, cold) in entries.iter_mut().zip(&mut colds) {
            let event = (entry.event_for)(0);
            cold.absorb(measure::cold_starts(
                &entry.target,
                1,
                &event,
                &*entry.check,
            )?);
        }
        if round % 5 == 0 || round == cold_runs {
            say(&format!(
                "cold starts: {round} of {cold_runs} rounds (load average {})",
                crate::machine::load_average()
            ));
        }
    }

    // --- warm loops, one function after the other ---------------------------------------------------
    let mut functions = Vec::new();
    let mut tokens = (0, warm_runs + 1);
    for (mut entry, cold) in entries.into_iter().zip(colds) {
        say(&format!("{}: {warm_runs} warm invocations", entry.name));
        let tokens_before = genesys.counters.token_requests.load(Ordering::SeqCst);
        let warm = measure::warm_loop(
            &entry.target,
            warm_runs,
            &mut *entry.event_for,
            &*entry.check,
        )?;
        if entry.name == "process" {
            // Only the warm process's requests: each cold process fetched its own token.
            tokens.0 = genesys.counters.token_requests.load(Ordering::SeqCst) - tokens_before;
        }
        let result = FnResult {
            name: entry.name.to_owned(),
            python: entry.name.ends_with("(py)"),
            artifact: sizes.get(entry.name).cloned(),
            arm64: arm64.get(entry.name).cloned(),
            cold,
            warm,
            other_peak_rss_kb: 0,
            against: entry.against.to_owned(),
        };
        say(&format!(
            "{}: init median {:.2} ms, warm p50 {:.3} ms, peak RSS {:.1} MB (load average {})",
            result.name,
            result.init().p50,
            result.warm().p50,
            result.peak_rss_kb() as f64 * 1024.0 / 1e6,
            crate::machine::load_average()
        ));
        functions.push(result);
    }
    if let Some(bare) = functions.iter().find(|f| f.name == BARE) {
        standins.push((
            format!(
                "runtime API round trip, {} B event (bench-bare)",
                compact_len(&flat)
            ),
            bare.warm(),
        ));
    }
    // The same echo with validate's input, the size of every pipeline event: the emulator's cost for it.
    let big = measure::warm_loop(
        &Target::new(BARE, bin(BARE)?),
        (warm_runs / 5).max(1),
        &mut |_| validate_input.clone(),
        &echo_of(&validate_input),
    )?;
    standins.push((
        format!(
            "{BIG_EVENT_ROUND_TRIP}, {} B (bench-bare)",
            compact_len(&validate_input)
        ),
        Summary::of(&big.samples_ms),
    ));

    // --- fanout throughput: one invocation with many events, 5 ms per StartExecution ----------------
    let events = settings.fanout_events;
    let batch: Vec<Value> = (0..events)
        .map(|i| conversation_event(&customer_end, "throughput", i))
        .collect();
    let payload = serde_json::to_vec(&batch).expect("events serialize");
    let all_started = move |v: &Value| expect_field(v, "/started", &json!(events));
    let mut runs = vec![
        (
            format!("FANOUT_CONCURRENCY={}", 16),
            fanout(16)?,
            Box::new(all_started) as BoxedCheck,
        ),
        (
            format!("FANOUT_CONCURRENCY={}", 1),
            fanout(1)?,
            Box::new(all_started),
        ),
    ];
    if let Some(target) = seed_fanout {
        runs.push((
            SEED_FANOUT.to_owned(),
            target,
            Box::new(seed_processed(events)),
        ));
    }
    let mut fanout_runs = Vec::new();
    sfn.set_delay(SFN_DELAY);
    for (label, target, check) in runs {
        say(&format!(
            "fanout throughput: {events} events in one invocation, {label}"
        ));
        sfn.reset_peak();
        let calls_before = sfn.counters.start_executions.load(Ordering::SeqCst);
        let prime = conversation_event(&customer_end, "prime", fanout_runs.len());
        let run = measure::primed_invocation(&target, &prime, &payload, LONG_DEADLINE, &*check)?;
        // The priming event made one call.
        let calls = sfn.counters.start_executions.load(Ordering::SeqCst) - calls_before - 1;
        say(&format!(
            "fanout throughput, {label}: {:.0} ms",
            run.elapsed_ms
        ));
        fanout_runs.push(Throughput {
            label,
            max_in_flight: sfn.counters.max_in_flight.load(Ordering::SeqCst),
            calls,
            run,
        });
    }
    sfn.set_delay(Duration::ZERO);
    for (name, python) in [("fanout", false), (SEED_FANOUT_FN, true)] {
        let peak = fanout_runs
            .iter()
            .filter(|t| (t.label == SEED_FANOUT) == python)
            .map(|t| t.run.peak_rss_kb)
            .max()
            .unwrap_or(0);
        if let Some(f) = functions.iter_mut().find(|f| f.name == name) {
            f.other_peak_rss_kb = peak;
        }
    }

    // --- save against moto ------------------------------------------------------------------------
    say("save: starting moto (DynamoDB with real condition expressions)");
    let moto = MotoServer::start();
    let moto_addr = moto.endpoint.trim_start_matches("http://").to_owned();
    create_table(&moto_addr)?;
    let moto_put = client::time_requests(
        &moto_addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "DynamoDB_20120810.UpdateItem"),
            ("Content-Type", AMZ_JSON),
            ("Authorization", MOTO_AUTH),
        ],
        br#"{"TableName":"conversations","Key":{"conversationId":{"S":"overhead"}},"UpdateExpression":"SET n = :n","ExpressionAttributeValues":{":n":{"N":"1"}}}"#,
        (warm_runs / 5).max(1),
    )?;
    say(&format!(
        "save: {warm_runs} warm invocations against moto, every write newer"
    ));
    let save_on_moto = save(&moto.endpoint)?;
    let stored_run = measure::warm_loop(
        &save_on_moto,
        warm_runs,
        &mut |i| save_event(&save_input, i),
        &|v| expect_field(v, "/saved", &json!(true)),
    )?;
    let duplicates = (warm_runs / 5).max(1);
    say(&format!(
        "save: {duplicates} warm invocations against moto, every write a duplicate"
    ));
    let last = save_event(&save_input, warm_runs);
    let duplicate = |v: &Value| {
        expect_field(v, "/saved", &json!(false))?;
        match v["reason"].as_str() {
            Some(r) if r.starts_with("duplicate") => Ok(()),
            _ => Err(format!("expected a duplicate, got {v}")),
        }
    };
    let duplicate_run =
        measure::warm_loop(&save_on_moto, duplicates, &mut |_| last.clone(), &duplicate)?;
    drop(moto);

    Ok(Results {
        settings,
        functions,
        standins,
        fanout: fanout_runs,
        tokens,
        save_moto: SaveMoto {
            moto_put,
            stored: stored_run,
            duplicate: duplicate_run,
        },
        baseline: baseline.map(|b| b.dir.clone()),
        baseline_note,
        zip_tool: artifacts::zip_tool(),
    })
}

/// One thing to measure: a target, what it runs against, its events and how its answers are checked.
struct Entry<'a> {
    name: &'static str,
    target: Target,
    against: &'static str,
    /// The event of invocation `i` (0 = cold starts and the untimed priming one).
    event_for: Box<dyn FnMut(usize) -> Value + 'a>,
    check: BoxedCheck<'a>,
}

/// Creates save's table in moto (`conversationId` S hash key, on demand).
fn create_table(addr: &str) -> Result<(), String> {
    let body = json!({
        "TableName": TABLE,
        "KeySchema": [{"AttributeName": "conversationId", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "conversationId", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    let reply = Conn::new(addr)
        .request(
            "POST",
            "/",
            &[
                ("X-Amz-Target", "DynamoDB_20120810.CreateTable"),
                ("Content-Type", AMZ_JSON),
                ("Authorization", MOTO_AUTH),
            ],
            body.to_string().as_bytes(),
        )
        .map_err(|e| format!("create the table in moto: {e}"))?;
    if reply.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "create the table in moto: {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ))
    }
}

/// `bench variants`: sizes, cold starts and a warm loop of data-action builds side by side (cold starts
/// interleaved, so load changes hit every build alike). Returns one JSON object per build.
pub fn variants(settings: &Settings, builds: &[(String, PathBuf)]) -> Result<Vec<Value>, String> {
    let scratch = tempfile::Builder::new()
        .prefix("bench-variants-")
        .tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))?;
    let upstream = StandIn::upstream();
    let wrapped = load_json(&settings.root, "events/data-action/wrapped.json")?;
    let check = |v: &Value| expect_field(v, "/success", &json!(true));
    let targets: Vec<Target> = builds
        .iter()
        .map(|(label, path)| {
            Target::new(label, path.clone()).with(
                "EXTERNAL_API_URL",
                &format!("{}/v1/user-info", upstream.base),
            )
        })
        .collect();
    let mut init: Vec<Vec<f64>> = vec![Vec::new(); builds.len()];
    for round in 0..settings.cold_runs {
        for (i, target) in targets.iter().enumerate() {
            let cold = measure::cold_starts(target, 1, &wrapped, &check)?;
            init[i].extend(cold.init_ms);
        }
        if round % 5 == 4 {
            say(&format!(
                "variants: {} of {} cold rounds",
                round + 1,
                settings.cold_runs
            ));
        }
    }
    let mut out = Vec::new();
    for (i, (target, (label, path))) in targets.iter().zip(builds).enumerate() {
        let artifact = artifacts::measure(&format!("variant-{i}"), path, scratch.path())?;
        let warm =
            measure::warm_loop(target, settings.warm_runs, &mut |_| wrapped.clone(), &check)?;
        let init = Summary::of(&init[i]);
        let warm_summary = Summary::of(&warm.samples_ms);
        println!(
            "{label:<12} binary {:>6.2} MB  zip {:>5.2} MB  init min/med/max {:>5.2}/{:>5.2}/{:>5.2} ms  warm p50/p99 {:.3}/{:.3} ms  RSS {:.1} MB",
            artifact.binary_bytes as f64 / 1e6,
            artifact.zip_bytes as f64 / 1e6,
            init.min,
            init.p50,
            init.max,
            warm_summary.p50,
            warm_summary.p99,
            warm.peak_rss_kb as f64 * 1024.0 / 1e6
        );
        out.push(json!({
            "label": label, "binary": path, "binary_bytes": artifact.binary_bytes, "zip_bytes": artifact.zip_bytes,
            "init_ms": init.to_json(), "warm_ms": warm_summary.to_json(), "peak_rss_kb": warm.peak_rss_kb,
        }));
    }
    Ok(out)
}
