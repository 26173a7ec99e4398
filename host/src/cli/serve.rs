//! `baton serve`: runs a host until SIGTERM or Ctrl-C, then shuts down gracefully (every
//! running conduct holds at its next step boundary; exit 0). Prints the admin token on first
//! start, what restart recovery held, and `listening on http://ADDR` once it accepts
//! connections.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::api::server::{Server, ServerConfig, ServerError};
use crate::ports::{Catalog, CatalogError};

/// Arguments of `baton serve`.
#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    /// Holds the SQLite store `baton.db` and the compiled-component cache.
    #[arg(long, env = "BATON_DATA_DIR", default_value = "baton-data")]
    pub data_dir: PathBuf,
    /// A store URL instead of SQLite in the data dir: `postgres://user@host:5432/db` (several
    /// hosts may share it) or `sqlite://PATH?mode=rwc`.
    #[arg(long, env = "BATON_DATABASE_URL")]
    pub database: Option<String>,
    /// The device catalog (TOML); default the built-in simulated beamline.
    #[arg(long, env = "BATON_CATALOG", value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Where to listen (port 0 picks a free port).
    #[arg(long, env = "BATON_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("cannot install the signal handler: {0}")]
    Signal(std::io::Error),
    #[error(
        "interrupted again while shutting down; conducts may be left Running (restart recovery will hold them)"
    )]
    Interrupted,
    #[error("cannot write to stdout: {0}")]
    Io(#[from] std::io::Error),
}

/// Waits for SIGTERM or Ctrl-C.
async fn signal() -> Result<&'static str, ServeError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            result = tokio::signal::ctrl_c() => result.map(|()| "Ctrl-C").map_err(ServeError::Signal),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(ServeError::Signal)?;
        Ok("Ctrl-C")
    }
}

/// Runs `baton serve` until a signal; Ok after a clean shutdown.
pub async fn run(args: &ServeArgs, out: &mut dyn Write) -> Result<(), ServeError> {
    let catalog = match &args.catalog {
        Some(path) => Catalog::load(path)?,
        None => Catalog::builtin()?,
    };
    let mut config = ServerConfig::new(&args.data_dir, catalog, args.listen);
    config.database = args.database.clone();
    let started = Server::start(config).await?;
    if let Some(token) = &started.admin_token {
        writeln!(out, "admin token (shown once; keep it): {token}")?;
    }
    for r in &started.recovered {
        writeln!(
            out,
            "restart recovery held procedure {}: {}",
            r.procedure_id, r.reason
        )?;
    }
    for (name, digest) in &started.registered {
        writeln!(out, "component {name} {digest}")?;
    }
    let server = started.server;
    writeln!(out, "listening on {}", server.url())?;
    out.flush()?;

    let which = signal().await?;
    let running = server.state().conductor.conducts().running().len();
    writeln!(
        out,
        "{which}: shutting down; {running} conduct(s) will hold at their next step boundary"
    )?;
    out.flush()?;
    tokio::select! {
        done = server.shutdown() => done?,
        _ = signal() => return Err(ServeError::Interrupted),
    }
    writeln!(out, "stopped")?;
    Ok(())
}
