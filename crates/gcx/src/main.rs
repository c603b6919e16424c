//! `gcx`: the operator's command line for a deployed Genesys Cloud → AWS pipeline.
//!
//! `gcx redrive` moves the dead-letter queues' messages back into the pipeline, each queue in its own way
//! (`redrive.rs`); `gcx status` shows depths, failures by error name, enrichment lag and running
//! executions (`status.rs`). Names come from the stack's outputs or from flags (`targets.rs`).
//! This file only parses, builds the clients once, runs, and maps the outcome to the exit status.

mod aws;
mod cli;
mod error;
mod filter;
mod letters;
mod queue;
mod recover;
mod redrive;
mod status;
mod targets;

use std::process::ExitCode;

use clap::Parser;

/// Some matched messages are still in their queue (or status could not read everything).
const EXIT_LEFT: u8 = 1;
/// gcx could not run: a stack, queue or permission problem, named on stderr. (2 is clap's, bad usage.)
const EXIT_FAILED: u8 = 3;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_LEFT),
        Err(e) => {
            eprintln!("gcx: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

async fn run(cli: cli::Cli) -> Result<bool, error::Error> {
    let clients = aws::Clients::load(&cli.aws).await?;
    let targets = targets::resolve(&cli.targets, &clients.cfn).await?;
    match &cli.command {
        cli::Command::Redrive(args) if !args.execution.is_empty() => {
            recover::run(&clients, &args.execution, args.dry_run).await
        }
        cli::Command::Redrive(args) => redrive::run(&clients, &targets, args).await,
        cli::Command::Status(args) => status::run(&clients, &targets, args).await,
    }
}
