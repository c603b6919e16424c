//! The Python baseline (`bench/baseline`, vendored, or `BASELINE_DIR`): the seed tutorials' handlers run
//! with `python -m awslambdaric` from the venv `scripts/bench.sh` prepares, through the same emulator as
//! the Rust functions. The emulator spawns a program without arguments, so each handler gets a two-line
//! wrapper script that `exec`s Python (same pid: the peak RSS read is Python's own).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A baseline directory and the Python that can run it.
pub struct Baseline {
    /// The directory holding `seed_data_action.py` and `seed_fanout_fixed.py`.
    pub dir: PathBuf,
    /// `<venv>/bin/python` with `requirements.txt` installed.
    pub python: PathBuf,
    scratch: tempfile::TempDir,
}

/// Where to look: `BASELINE_DIR`, else `<repo>/bench/baseline`.
pub fn default_dir(root: &Path) -> PathBuf {
    std::env::var_os("BASELINE_DIR").map_or_else(|| root.join("bench/baseline"), PathBuf::from)
}

impl Baseline {
    /// The baseline in `dir` with the venv `venv`: `Ok(None)` when there is no baseline there, `Err` when
    /// there is one but its venv is not ready.
    pub fn find(dir: &Path, venv: &Path) -> Result<Option<Baseline>, String> {
        if !dir.join("seed_data_action.py").is_file() {
            return Ok(None);
        }
        let python = venv.join("bin/python");
        if !python.is_file() {
            return Err(format!(
                "baseline found at {} but no venv at {} (scripts/bench.sh sets it up)",
                dir.display(),
                venv.display()
            ));
        }
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let scratch = tempfile::Builder::new()
            .prefix("bench-baseline-")
            .tempdir()
            .map_err(|e| format!("a temporary directory for the wrappers: {e}"))?;
        Ok(Some(Baseline {
            dir,
            python,
            scratch,
        }))
    }

    /// Whether `file` (e.g. `seed_fanout_fixed.py`) is in the baseline.
    pub fn has(&self, file: &str) -> bool {
        self.dir.join(file).is_file()
    }

    /// A wrapper that runs `handler` (`module.function`) under awslambdaric from the baseline directory.
    pub fn wrapper(&self, handler: &str) -> Result<PathBuf, String> {
        let path = self.scratch.path().join(handler.replace('.', "_"));
        let script = format!(
            "#!/bin/sh\ncd {} || exit 1\nexec {} -m awslambdaric {handler}\n",
            quote(&self.dir),
            quote(&self.python)
        );
        std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

/// Single-quotes a path for `sh`.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
