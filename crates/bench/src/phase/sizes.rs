//! Phase: the deployment artifacts. Each release binary, and its Lambda zip (the binary renamed
//! `bootstrap`, deflated): the archive `cargo lambda build --release --output-format zip` produces and SAM
//! uploads. With `--arm64`, the zips `cargo lambda build --release --arm64` left in `target/lambda`.

use serde_json::json;

use crate::artifacts::{self, Artifact};
use crate::context::Context;
use crate::entries::{BARE, FUNCTIONS};
use crate::results::{mb, Results};
use crate::say;

fn sizes(a: &Artifact) -> serde_json::Value {
    json!({
        "binary_bytes": a.binary_bytes, "zip_bytes": a.zip_bytes,
        "binary_mb": mb(a.binary_bytes), "zip_mb": mb(a.zip_bytes),
    })
}

/// Measures every function's and bench-bare's binary and zip.
pub fn run(ctx: &Context, results: &mut Results) -> Result<(), String> {
    let scratch = tempfile::Builder::new()
        .prefix("bench-zips-")
        .tempdir()
        .map_err(|e| format!("a temporary directory for the zips: {e}"))?;
    let settings = &ctx.settings;
    for name in FUNCTIONS.iter().chain([&BARE]) {
        let artifact = artifacts::measure(name, &settings.binary(name)?, scratch.path())?;
        let arm64 = if settings.arm64 && *name != BARE {
            let target_dir = settings.bin_dir.parent().unwrap_or(&settings.bin_dir);
            Some(sizes(&artifacts::arm64(target_dir, name)?))
        } else {
            None
        };
        let f = results.function(name);
        if let Some(fields) = sizes(&artifact).as_object() {
            f.extend(fields.clone());
        }
        f.insert("arm64".into(), json!(arm64));
    }
    let tool = artifacts::zip_tool();
    results
        .section("settings")
        .insert("zip_tool".into(), json!(tool));
    say(&format!("sizes measured ({tool})"));
    Ok(())
}
