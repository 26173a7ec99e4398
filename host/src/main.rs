//! The `baton` binary: parses the command line and hands over to `baton_host::cli`. The only
//! place that uses `anyhow`.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use baton_host::cli;

#[derive(Debug, Parser)]
#[command(name = "baton", version, about = "Conducts experimental procedures")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a procedure component: world, description, resolution, golden steps.
    Validate(cli::validate::ValidateArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate(args) => {
            let mut out = std::io::stdout().lock();
            let outcome = cli::validate::run(&args, &mut out)
                .await
                .context("cannot write the report")?;
            Ok(ExitCode::from(outcome.code()))
        }
    }
}
