//! `baton token create --data-dir DIR --scope SCOPE…`: makes an API token in the host's store
//! and prints only the token on stdout, so a script can capture it
//! (`TOKEN=$(baton token create --scope read)`). The store keeps its sha256 only.

use std::io::Write;
use std::path::PathBuf;

use crate::api::auth::{Scope, TokenError, issue_token};
use crate::store::{self, StoreError};

/// Arguments of `baton token`.
#[derive(Clone, Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Clone, Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it (only it) on stdout.
    Create(TokenCreateArgs),
}

#[derive(Clone, Debug, clap::Args)]
pub struct TokenCreateArgs {
    /// The host's data directory (its store is `baton.db` there unless --database says).
    #[arg(long, env = "BATON_DATA_DIR", default_value = "baton-data")]
    pub data_dir: PathBuf,
    /// The host's store URL (sqlite://… or postgres://…).
    #[arg(long, env = "BATON_DATABASE_URL")]
    pub database: Option<String>,
    /// A scope: read, author, operate or admin (admin implies all). Repeatable.
    #[arg(long = "scope", required = true, value_name = "SCOPE")]
    pub scopes: Vec<Scope>,
    /// What the token is for.
    #[arg(long, default_value = "")]
    pub label: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenCliError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the token: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs `baton token`.
pub async fn run(args: &TokenArgs, out: &mut dyn Write) -> Result<(), TokenCliError> {
    match &args.command {
        TokenCommand::Create(create) => {
            let url = match &create.database {
                Some(url) => url.clone(),
                None => {
                    std::fs::create_dir_all(&create.data_dir).map_err(|source| {
                        TokenCliError::DataDir {
                            path: create.data_dir.clone(),
                            source,
                        }
                    })?;
                    format!(
                        "sqlite://{}?mode=rwc",
                        create.data_dir.join("baton.db").display()
                    )
                }
            };
            let store = store::open(&url).await?;
            let issued = issue_token(&store, &create.scopes, &create.label).await;
            store.close().await;
            writeln!(out, "{}", issued?.token)?;
            Ok(())
        }
    }
}
