//! `gcx-actions`: writes (`write`, what `make actions` runs) or checks (`check`, what `make test` runs)
//! the Genesys files of every data action, generated from the code (`generate::genesys_actions`), and lints
//! import files (`lint FILE...`). Run from the repository root.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use generate::genesys_actions as contract;
use serde_json::Value;

#[derive(Parser)]
#[command(about = "Generate, check and lint the Genesys data-action files")]
struct Cli {
    /// The repository root (holds template.yaml and genesys/).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write every action's import file, schemas and Terraform; say which contracts changed.
    Write,
    /// Fail when a committed file differs from the generated one, or a contract fails the lint.
    Check,
    /// Lint Genesys import files (any, generated or not).
    Lint {
        /// Import files (`*.custom.json`).
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gcx-actions: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<bool, String> {
    if let Command::Lint { files } = &cli.command {
        return lint_files(files);
    }
    let template_path = cli.root.join("template.yaml");
    let template = std::fs::read_to_string(&template_path).map_err(|e| {
        format!(
            "cannot read {}: {e} (run from the repository root, or pass --root)",
            template_path.display()
        )
    })?;
    let timeout = contract::function_timeout(&template)
        .ok_or("template.yaml: DataActionFunction has no Timeout")?;
    let contracts = data_action::actions::contracts();
    let files = contract::files(&contracts, timeout);
    let mut ok = true;
    for (path, content) in &files {
        let Ok(import) = serde_json::from_str::<Value>(content) else {
            continue;
        };
        if path.ends_with(".custom.json") {
            for problem in contract::lint(&import) {
                eprintln!("{path}: {problem}");
                ok = false;
            }
        }
    }
    let stale = stale_files(&cli.root, &files);
    match cli.command {
        Command::Check => {
            for (path, content) in &files {
                let committed = std::fs::read_to_string(cli.root.join(path)).unwrap_or_default();
                if &committed != content {
                    eprintln!("{path}: differs from the code's contract; run `make actions` and commit the result");
                    ok = false;
                }
            }
            for path in &stale {
                eprintln!(
                    "{}: no action generates it any more; delete it (make actions does)",
                    path.display()
                );
                ok = false;
            }
            if ok {
                println!(
                    "gcx-actions: {} actions, {} files up to date, contracts pass the lint",
                    contracts.len(),
                    files.len()
                );
            }
        }
        Command::Write => {
            for (path, content) in &files {
                let full = cli.root.join(path);
                let committed = std::fs::read_to_string(&full).ok();
                if committed.as_deref() == Some(content.as_str()) {
                    continue;
                }
                if let (Some(old), true) = (&committed, path.ends_with(".custom.json")) {
                    let old: Value = serde_json::from_str(old).unwrap_or(Value::Null);
                    let new: Value = serde_json::from_str(content).unwrap_or(Value::Null);
                    let changes = contract::recreating_changes(&old, &new);
                    if !changes.is_empty() {
                        eprintln!(
                            "warning: {path}: the {} changed. Genesys (and CX-as-Code) recreate an action whose contract changes, with a new id: every flow that uses it must be re-pointed. To keep existing flows, publish the change as a new action instead.",
                            changes.join(" and ")
                        );
                    }
                }
                if let Some(dir) = full.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                std::fs::write(&full, content).map_err(|e| format!("{}: {e}", full.display()))?;
                println!("wrote {path}");
            }
            for path in &stale {
                std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
                println!("removed {} (no action generates it)", path.display());
            }
            println!(
                "gcx-actions: {} actions, {} files",
                contracts.len(),
                files.len()
            );
        }
        Command::Lint { .. } => {}
    }
    Ok(ok)
}

/// Files in `genesys/data-action/` that look generated but that no action generates.
fn stale_files(root: &Path, files: &[(String, String)]) -> Vec<PathBuf> {
    let dir = root.join("genesys/data-action");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut stale: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/");
            !files.iter().any(|(path, _)| *path == rel)
        })
        .collect();
    stale.sort();
    stale
}

fn lint_files(files: &[PathBuf]) -> Result<bool, String> {
    if files.is_empty() {
        return Err("name at least one import file".into());
    }
    let mut ok = true;
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let import: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
        let problems = contract::lint(&import);
        for problem in &problems {
            eprintln!("{}: {problem}", file.display());
        }
        if problems.is_empty() {
            println!("{}: OK", file.display());
        }
        ok &= problems.is_empty();
    }
    Ok(ok)
}
