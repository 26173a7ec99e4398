//! `baton export ID --out FILE.jsonl`: a procedure's event-model documents as JSON lines
//! (`[name, doc]` per line, the suitcase-jsonl format), read from a host's store (the data
//! directory's SQLite, or `--database`) with [`app::export_documents`], or from a running host
//! (`--url URL --token TOKEN`: `GET /procedures/{id}/documents`). Both give the same bytes.

use std::io::Write;
use std::path::PathBuf;

use reqwest::StatusCode;
use uuid::Uuid;

use crate::api::documents::{GAPS_HEADER, STATUS_HEADER};
use crate::app::{self, ExportError};
use crate::store::{self, StoreError};

/// Arguments of `baton export`.
#[derive(Clone, Debug, clap::Args)]
pub struct ExportArgs {
    /// The procedure's id.
    pub id: Uuid,
    /// Where to write the JSON lines (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The host's data directory (its store is `baton.db` there unless --database says).
    #[arg(long, env = "BATON_DATA_DIR", default_value = "baton-data")]
    pub data_dir: PathBuf,
    /// The host's store URL (sqlite://… or postgres://…).
    #[arg(long, env = "BATON_DATABASE_URL")]
    pub database: Option<String>,
    /// A running host to ask instead of a store (e.g. http://127.0.0.1:8080); it wins over
    /// --data-dir and --database (which may come from the environment).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A token with the `read` scope, for --url (ignored without it).
    #[arg(long, env = "BATON_TOKEN")]
    pub token: Option<String>,
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub documents: usize,
    pub gaps: usize,
    /// The procedure's status when read.
    pub status: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportCliError {
    #[error("no store at {0} (give --data-dir or --database)")]
    NoStore(PathBuf),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("a document does not encode: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("--url needs --token (or BATON_TOKEN)")]
    NoToken,
    #[error("the host answered {status}: {body}")]
    Refused { status: StatusCode, body: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `baton export`: writes the file, then a one-line summary to `out`.
pub async fn run(args: &ExportArgs, out: &mut dyn Write) -> Result<Written, ExportCliError> {
    let (lines, written) = match &args.url {
        Some(url) => from_host(args, url).await?,
        None => from_store(args).await?,
    };
    let write_error = |source| ExportCliError::Write {
        path: args.out.clone(),
        source,
    };
    std::fs::write(&args.out, lines).map_err(write_error)?;
    writeln!(
        out,
        "wrote {} documents of procedure {} ({}, {} gaps) to {}",
        written.documents,
        args.id,
        written.status,
        written.gaps,
        args.out.display()
    )
    .map_err(write_error)?;
    Ok(written)
}

async fn from_store(args: &ExportArgs) -> Result<(Vec<u8>, Written), ExportCliError> {
    let url = match &args.database {
        Some(url) => url.clone(),
        None => {
            let file = args.data_dir.join("baton.db");
            if !file.is_file() {
                return Err(ExportCliError::NoStore(file));
            }
            // `rw`, not `rwc`: reading must not create an empty store.
            format!("sqlite://{}?mode=rw", file.display())
        }
    };
    let store = store::open(&url).await?;
    let exported = app::export_documents(&store, args.id).await;
    store.close().await;
    let exported = exported?;
    let mut lines = Vec::new();
    for document in &exported.export.documents {
        serde_json::to_writer(&mut lines, document)?;
        lines.push(b'\n');
    }
    Ok((
        lines,
        Written {
            documents: exported.export.documents.len(),
            gaps: exported.export.gaps.len(),
            status: exported.status.as_str().to_owned(),
        },
    ))
}

async fn from_host(args: &ExportArgs, url: &str) -> Result<(Vec<u8>, Written), ExportCliError> {
    let token = args.token.as_deref().ok_or(ExportCliError::NoToken)?;
    let response = reqwest::Client::new()
        .get(format!(
            "{}/procedures/{}/documents",
            url.trim_end_matches('/'),
            args.id
        ))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status();
    if status != StatusCode::OK {
        let body = response.text().await?;
        return Err(ExportCliError::Refused { status, body });
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let gaps = header(GAPS_HEADER)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let procedure_status = header(STATUS_HEADER).unwrap_or_default();
    let lines = response.bytes().await?.to_vec();
    let documents = lines.iter().filter(|b| **b == b'\n').count();
    Ok((
        lines,
        Written {
            documents,
            gaps,
            status: procedure_status,
        },
    ))
}
