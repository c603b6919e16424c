//! What gets deployed: the release binary and its Lambda zip (the binary renamed `bootstrap`, deflated),
//! the same archive `cargo lambda build --release --output-format zip` produces and SAM uploads.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Sizes of one function's deployment artifacts.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The release binary, bytes.
    pub binary_bytes: u64,
    /// The zip holding `bootstrap`, bytes.
    pub zip_bytes: u64,
}

/// Which tool built the zips (`zip` when installed, else Python's `zipfile`), for the report.
pub fn zip_tool() -> &'static str {
    if has_zip_command() {
        "zip (deflate, level 6)"
    } else {
        "python3 zipfile (deflate, level 6)"
    }
}

fn has_zip_command() -> bool {
    Command::new("zip")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Measures `binary` and zips it as `bootstrap` under `scratch/<name>/`.
pub fn measure(name: &str, binary: &Path, scratch: &Path) -> Result<Artifact, String> {
    let binary_bytes = std::fs::metadata(binary)
        .map_err(|e| format!("{}: {e}", binary.display()))?
        .len();
    let dir = scratch.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let bootstrap = dir.join("bootstrap");
    std::fs::copy(binary, &bootstrap)
        .map_err(|e| format!("copy {} to {}: {e}", binary.display(), bootstrap.display()))?;
    let zip = dir.join("bootstrap.zip");
    let _ = std::fs::remove_file(&zip);
    let status = if has_zip_command() {
        // -X: no extra attributes; -j: store the bare name `bootstrap`.
        Command::new("zip")
            .args(["-q", "-X", "-j", "-6"])
            .arg(&zip)
            .arg(&bootstrap)
            .status()
    } else {
        Command::new("python3")
            .args([
                "-c",
                "import sys, zipfile\n\
                 with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED, compresslevel=6) as z:\n\
                 \x20   z.write(sys.argv[2], 'bootstrap')",
            ])
            .arg(&zip)
            .arg(&bootstrap)
            .status()
    };
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => return Err(format!("zipping {}: {s}", bootstrap.display())),
        Err(e) => {
            return Err(format!(
                "zipping {}: {e} (install `zip` or python3)",
                bootstrap.display()
            ))
        }
    }
    let zip_bytes = std::fs::metadata(&zip)
        .map_err(|e| format!("{}: {e}", zip.display()))?
        .len();
    Ok(Artifact {
        binary_bytes,
        zip_bytes,
    })
}

/// The arm64 artifacts `cargo lambda build --release --arm64 --output-format zip` left under
/// `target/lambda/<name>/bootstrap.zip` (binary under `target/aarch64-unknown-linux-gnu/release/`).
pub fn arm64(target_dir: &Path, name: &str) -> Result<Artifact, String> {
    let binary: PathBuf = target_dir
        .join("aarch64-unknown-linux-gnu/release")
        .join(name);
    let zip = target_dir.join("lambda").join(name).join("bootstrap.zip");
    let size = |p: &Path| {
        std::fs::metadata(p).map(|m| m.len()).map_err(|e| {
            format!(
                "{}: {e} (did `scripts/bench.sh --arm64` build it?)",
                p.display()
            )
        })
    };
    Ok(Artifact {
        binary_bytes: size(&binary)?,
        zip_bytes: size(&zip)?,
    })
}
