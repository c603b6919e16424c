//! The payload budget holds for what fanout really builds: realistic enrich-topic batches (the fixtures'
//! `customer.end`, `acw` and `user.end` events, with callers' addresses and wrap-up notes up to 4,000
//! characters, a few invalid ones among them) packed by fanout at the defaults and at the largest settings the
//! template and the code allow, then run through validate and process with a customer key. Every execution
//! input, every Task input (`{"batch", "executionId"}` with the state machine's longest execution id) and every
//! Task answer stays within 200 KiB, far from Step Functions' 256 KiB, where a state would fail uncatchably.

use fanout::batch::{pack, Limits};
use gcx_core::contract::budget::{execution_id_bound, STATE_BUDGET, STATE_QUOTA};
use gcx_core::contract::{PipelineEvent, Processed, Validated};
use gcx_core::events::GenesysEvent;
use serde_json::{json, Value};

/// A state machine ARN as SAM names it (stack name, logical id, random suffix).
const STATE_MACHINE: &str =
    "arn:aws:states:ap-southeast-2:123456789012:stateMachine:PipelineStateMachine-kW3mXq9ZbT2c";

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/eventbridge")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn uuid(n: u64, salt: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n * 2_654_435_761 + salt) & 0xffff_ffff,
        n & 0xffff,
        salt & 0xfff,
        n & 0xfff,
        n * 7 + salt
    )
}

/// `count` events of the three enrich topics, each a fixture with fresh ids, a caller and a wrap-up note of
/// up to `max_note` characters; every 50th has a conversation id that is not a UUID (validate dead-letters it).
fn events(count: u64, max_note: usize) -> Vec<PipelineEvent> {
    let templates = [
        fixture("customer-end.json"),
        fixture("acw.json"),
        fixture("user-end.json"),
    ];
    (0..count)
        .map(|i| {
            let mut e = templates[(i % 3) as usize].clone();
            let conversation = if i % 50 == 49 {
                format!("not-a-uuid-{i}")
            } else {
                uuid(i / 3, 11)
            };
            e["id"] = json!(uuid(i, 1));
            let body = &mut e["detail"]["eventBody"];
            body["conversationId"] = json!(conversation);
            body["ani"] = json!("tel:+3212345678");
            body["dnis"] = json!("tel:+3280012345");
            let note = [0, 200, 1000, max_note][(i % 4) as usize];
            body["wrapupNotes"] =
                json!("Customer asked about a plan upgrade. ".repeat(note / 37 + 1)[..note]);
            e["detail"]["metadata"]["CorrelationId"] = json!(uuid(i, 3));
            e["detail"]["topicName"] =
                json!(format!("v2.detail.events.conversation.{conversation}.x"));
            PipelineEvent::from_event(&GenesysEvent::parse(e).unwrap()).unwrap()
        })
        .collect()
}

fn bytes(v: &impl serde::Serialize) -> usize {
    serde_json::to_vec(v).unwrap().len()
}

/// Packs, validates and processes; returns the largest state seen and the batch sizes.
fn largest_state(
    max_events: usize,
    max_state_bytes: usize,
    events: Vec<PipelineEvent>,
) -> (usize, Vec<usize>) {
    let limits = Limits {
        max_events,
        max_state_bytes,
        execution_id_len: execution_id_bound(STATE_MACHINE),
        enrich_topics: Some(gcx_core::events::default_enrich_topics()),
    };
    let process = process::App::new(
        process::Settings::from_env(&[("ENRICH_TOPICS", "customer.end,acw,user.end")]).unwrap(),
    )
    .with_customer_keyer(Some(
        gcx_core::customer::CustomerKeyer::new(&secrecy::SecretString::from("k".repeat(64)))
            .unwrap(),
    ));
    let mut largest = 0;
    let mut sizes = Vec::new();
    let mut dead_letters = 0;
    for batch in pack(events, &limits) {
        let execution_id = format!(
            "{}:{}",
            STATE_MACHINE.replace(":stateMachine:", ":execution:"),
            batch.name
        );
        let input: Value = serde_json::from_str(&batch.input).unwrap();
        let validate_task = json!({"batch": input, "executionId": execution_id});
        let validated: Validated = validate::App::validate(validate_task.clone());
        assert_eq!(validated.check(Some(&execution_id)), Ok(()));
        let process_task = json!({"batch": validated, "executionId": execution_id});
        let processed: Processed = process
            .process(process_task.clone(), 1_700_000_000_000)
            .unwrap();
        assert_eq!(processed.check(Some(&execution_id)), Ok(()));
        dead_letters += processed.dead_letters.len();
        let save_task = json!({"batch": processed, "executionId": execution_id});
        let states: [usize; 6] = [
            bytes(&input),
            bytes(&validate_task),
            bytes(&validated),
            bytes(&process_task),
            bytes(&processed),
            bytes(&save_task),
        ];
        let most = *states.iter().max().unwrap();
        if std::env::var_os("BUDGET_DEBUG").is_some() {
            eprintln!(
                "{} events: estimate {} states {states:?}",
                batch.events.len(),
                batch.largest_state
            );
        }
        assert!(
            most <= batch.largest_state,
            "fanout's estimate {} is under a real state of {most} ({states:?})",
            batch.largest_state
        );
        assert!(most <= max_state_bytes.min(STATE_BUDGET), "{states:?}");
        largest = largest.max(most);
        sizes.push(batch.events.len());
    }
    assert!(
        dead_letters > 0,
        "the invalid events were not dead-lettered"
    );
    (largest, sizes)
}

/// The most events `BATCH_MAX_EVENTS` allows.
const LARGEST_BATCH: usize = fanout::settings::BATCH_MAX_EVENTS.max_whole() as usize;

#[test]
fn every_state_stays_within_the_budget_at_the_defaults_and_at_the_largest_settings() {
    for (name, max_events, max_bytes, max_note) in [
        (
            "defaults",
            fanout::DEFAULT_BATCH_MAX_EVENTS,
            fanout::DEFAULT_BATCH_MAX_BYTES,
            1000,
        ),
        ("largest settings", LARGEST_BATCH, STATE_BUDGET, 4000),
        (
            "largest settings, short notes",
            LARGEST_BATCH,
            STATE_BUDGET,
            0,
        ),
        (
            "smallest byte budget",
            LARGEST_BATCH,
            fanout::MIN_BATCH_MAX_BYTES,
            1000,
        ),
    ] {
        let (largest, sizes) = largest_state(max_events, max_bytes, events(1200, max_note));
        let total: usize = sizes.iter().sum();
        assert_eq!(total, 1200, "{name}: every event in one execution");
        eprintln!(
            "{name}: {} executions of up to {} events; the largest state {largest} bytes ({:.0} % of the 256 KiB quota)",
            sizes.len(),
            sizes.iter().max().unwrap(),
            100.0 * largest as f64 / STATE_QUOTA as f64
        );
        assert!(largest <= STATE_BUDGET, "{name}: {largest}");
    }
}

#[test]
fn the_estimate_is_close_enough_to_fill_batches() {
    // fanout's estimate of the largest state is an upper bound; it must not be so loose that batches are cut
    // far below what the budget holds: within 6 % of the real largest state of each full batch.
    let limits = Limits {
        max_events: 1000,
        max_state_bytes: STATE_BUDGET,
        execution_id_len: execution_id_bound(STATE_MACHINE),
        enrich_topics: Some(gcx_core::events::default_enrich_topics()),
    };
    // As deployed: the template always gives process the customer key, so records carry customerKey.
    let process = process::App::new(process::Settings::from_env(&[("X", "")]).unwrap())
        .with_customer_keyer(Some(
            gcx_core::customer::CustomerKeyer::new(&secrecy::SecretString::from("k".repeat(64)))
                .unwrap(),
        ));
    for batch in pack(events(600, 200), &limits) {
        let execution_id = format!(
            "{}:{}",
            STATE_MACHINE.replace(":stateMachine:", ":execution:"),
            batch.name
        );
        let input: Value = serde_json::from_str(&batch.input).unwrap();
        let validated =
            validate::App::validate(json!({"batch": input, "executionId": execution_id}));
        let task = json!({"batch": process.process(json!({"batch": validated, "executionId": execution_id}), 1).unwrap(), "executionId": execution_id});
        let real = bytes(&task);
        if batch.largest_state > STATE_BUDGET * 9 / 10 {
            let slack = (batch.largest_state - real) as f64 / real as f64;
            assert!(
                slack < 0.06,
                "estimate {} for a real {real}: {:.1} % over",
                batch.largest_state,
                100.0 * slack
            );
        }
    }
}
