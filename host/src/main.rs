//! The `baton` binary: parses the command line and hands over to `baton_host::cli`. The only
//! place that uses `anyhow`.

use std::io::IsTerminal;
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
    /// Run a host: the HTTP API over the store, the sandbox and the device catalog.
    Serve(cli::serve::ServeArgs),
    /// A scripted tour: a conduct holds at a faulty motor and is reconducted to completion.
    Demo(cli::demo::DemoArgs),
    /// Conduct a component once, locally (in-memory store, simulated beamline).
    Conduct(cli::conduct::ConductArgs),
    /// Manage API tokens.
    Token(cli::token::TokenArgs),
    /// Write a procedure's event-model documents as JSON lines (from a data dir or a host).
    Export(cli::export::ExportArgs),
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
        Command::Serve(args) => {
            let mut out = std::io::stdout();
            cli::serve::run(&args, &mut out).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let mut out = std::io::stdout();
            let tty = out.is_terminal();
            let completed = cli::demo::run(&args, tty, &mut out).await?;
            Ok(if completed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Conduct(args) => {
            let mut out = std::io::stdout();
            let tty = out.is_terminal();
            match cli::conduct::run(&args, tty, &mut out).await {
                Ok(outcome) if outcome.succeeded => Ok(ExitCode::SUCCESS),
                Ok(_) => Ok(ExitCode::from(1)),
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(e.code()))
                }
            }
        }
        Command::Export(args) => {
            let mut out = std::io::stdout().lock();
            cli::export::run(&args, &mut out).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(args) => {
            let mut out = std::io::stdout().lock();
            cli::token::run(&args, &mut out)
                .await
                .context("cannot create the token")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
