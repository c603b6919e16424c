//! `gcx-generate`: writes what the repository derives from the code (see the library's docs);
//! `--check` only compares, and fails naming every stale file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Writes the template's derived parameters and the docs' generated sections from the code.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Compare instead of writing: fail when a file differs from what would be written.
    #[arg(long)]
    check: bool,
    /// The repository's root.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))]
    root: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outputs = match generate::outputs(&args.root) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("gcx-generate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stale = Vec::new();
    for (path, content) in outputs {
        let full = args.root.join(&path);
        let current = std::fs::read_to_string(&full).unwrap_or_default();
        if current == content {
            continue;
        }
        if args.check {
            stale.push(path.display().to_string());
        } else if let Err(e) = std::fs::write(&full, content) {
            eprintln!("gcx-generate: {}: {e}", path.display());
            return ExitCode::FAILURE;
        } else {
            println!("gcx-generate: wrote {}", path.display());
        }
    }
    if stale.is_empty() {
        if args.check {
            println!("gcx-generate: every generated part is current");
        }
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "gcx-generate: stale (a hand edit to a generated part, or a declaration changed without `make generate`): {}",
            stale.join(", ")
        );
        ExitCode::FAILURE
    }
}
