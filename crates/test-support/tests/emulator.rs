//! The emulator against a real `lambda_runtime` function (`examples/echo.rs`) and against processes that
//! never speak the Runtime API.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use test_support::{binary_path, FunctionProcess};

/// `cargo test` builds examples before running tests: `target/<profile>/examples/echo`.
fn echo() -> String {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let path: PathBuf = profile_dir.join("examples").join("echo");
    assert!(path.is_file(), "{} not built", path.display());
    path.to_string_lossy().into_owned()
}

#[test]
fn echoes_events_and_reports_errors_by_type() {
    let f = FunctionProcess::start(&echo(), &[]);
    let init = f.init_duration().expect("the function polls /next");
    assert!(init < Duration::from_secs(10));
    assert_eq!(f.init_error(), None);

    let ok = f.invoke(&json!({"hello": "world"}));
    assert!(ok.ok, "{ok:?}");
    assert_eq!(ok.body, json!({"hello": "world"}));
    assert_eq!(ok.error_type, None);

    let failed = f.invoke(&json!({"fail": "Genesys.RateLimited"}));
    assert!(!failed.ok);
    assert_eq!(failed.error_type.as_deref(), Some("Genesys.RateLimited"));
    assert_eq!(failed.body["errorMessage"], "asked to fail");

    assert!(f.peak_rss_kb().is_some_and(|kb| kb > 0));
    assert_eq!(
        f.logs().matches("\"msg\":\"echo\"").count(),
        2,
        "{}",
        f.logs()
    );
}

#[test]
fn hands_out_the_deadline_and_measures_elapsed_time() {
    let f = FunctionProcess::start(&echo(), &[]);
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let r = f.invoke_with_deadline(
        &json!({"deadline": true, "sleep_ms": 50}),
        Duration::from_millis(3000),
    );
    let deadline = u128::from(r.body["deadline_ms"].as_u64().expect("deadline_ms"));
    assert!(
        deadline >= before + 2900 && deadline <= before + 4000,
        "{deadline} vs {before}"
    );
    assert!(r.elapsed >= Duration::from_millis(50), "{:?}", r.elapsed);
}

#[test]
fn raw_payloads_that_are_not_json_fail_in_the_runtime() {
    let f = FunctionProcess::start(&echo(), &[]);
    let r = f.invoke_raw(b"not json", Duration::from_secs(5));
    assert!(!r.ok);
    assert!(r.error_type.is_some());
    // The runtime keeps polling after a failed invocation.
    assert!(f.invoke(&json!(1)).ok);
}

#[test]
fn a_function_that_outlives_its_deadline_times_out() {
    let f = FunctionProcess::start(&echo(), &[]);
    let r = f.invoke_with_deadline(&json!({"sleep_ms": 2600}), Duration::from_millis(100));
    assert_eq!(r.error_type.as_deref(), Some("Sandbox.Timedout"), "{r:?}");
}

#[test]
fn a_process_that_exits_mid_invocation_is_an_exit_error() {
    let f = FunctionProcess::start(&echo(), &[]);
    let r = f.invoke(&json!({"exit": 3}));
    assert_eq!(r.error_type.as_deref(), Some("Runtime.ExitError"), "{r:?}");
}

#[test]
fn a_process_that_never_polls_reports_its_exit_as_init_error() {
    let f = FunctionProcess::start("/bin/false", &[]);
    let err = f.init_error().expect("an init error");
    assert!(err.contains("exit status: 1"), "{err}");
    assert_eq!(f.init_duration(), None);
    let r = f.invoke(&json!({}));
    assert_eq!(r.error_type.as_deref(), Some("Runtime.ExitError"));
}

#[test]
fn the_environment_is_the_lambda_one_plus_overrides() {
    let f = FunctionProcess::start(
        "/usr/bin/env",
        &[("SCRIPT_VAR", "x y"), ("AWS_REGION", "eu-west-1")],
    );
    assert!(f.init_error().is_some());
    let logs = f.logs();
    assert!(logs.contains("SCRIPT_VAR=x y"), "{logs}");
    assert!(logs.contains("AWS_REGION=eu-west-1"), "{logs}");
    assert!(logs.contains("AWS_LAMBDA_RUNTIME_API=127.0.0.1:"), "{logs}");
    assert!(
        logs.contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128"),
        "{logs}"
    );
    assert!(!logs.contains("HOME="), "{logs}");
}

#[test]
fn binary_path_points_into_the_target_profile_dir() {
    let p = binary_path("data-action");
    let s = p.to_string_lossy();
    assert!(s.ends_with("data-action"), "{s}");
    assert!(s.contains("/debug/") || s.contains("/release/"), "{s}");
}

#[test]
fn a_function_process_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FunctionProcess>();
    assert_send_sync::<test_support::Invocation>();

    let f = std::sync::Arc::new(FunctionProcess::start(&echo(), &[]));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let f = std::sync::Arc::clone(&f);
            std::thread::spawn(move || f.invoke(&json!({ "n": i })))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap().body, json!({ "n": i }));
    }
}
