//! The store: event streams with optimistic concurrency, pinned step lists, the step journal,
//! uploaded components, API tokens and the procedure and run summary projections, on SQLite
//! (the embedded default) and PostgreSQL. The only layer that touches SQL.
//!
//! The capabilities are traits ([`EventStore`], [`StepJournal`], [`ComponentStore`],
//! [`SummaryStore`]; [`Store`] is all four; [`TokenStore`]). Their bodies are written once, in
//! `backend/` (one file per capability), and expanded for each backend: [`SqliteStore`] in
//! `sqlite/`, [`PgStore`] in `postgres/`. The two backend folders mirror each other and never
//! import one another; each holds only what depends on its dialect: connecting (`mod.rs`), how
//! it binds and locks and the few statements it words differently (`dialect.rs`), the journal
//! append (`journal.rs`, the per-step hot path, made differently on each) and how it reads a
//! column (`rows.rs`). Also written once: the statements both run ([`sql`]), row decoding
//! ([`rows`]), the projections' rows, queries and folding ([`summary`]), and the types of
//! events, journal entries, components and tokens.
//!
//! The traits use `async fn` (static dispatch, no boxing on the journal's hot path) and are
//! therefore not dyn-compatible; runtime choice of backend is the closed enum [`AnyStore`],
//! which [`open`] returns from a URL. Generic code (the conformance suite, the application layer)
//! takes `S: Store`. [`Observed`] wraps any store to report appends to a [`StoreObserver`].
//!
//! Every append updates the projections in its own transaction, so a read model can never lag
//! or lead the streams it reads.

mod backend;
pub mod component;
pub mod error;
pub mod event;
pub mod journal;
pub mod observed;
pub mod postgres;
mod rows;
mod sql;
pub mod sqlite;
pub mod summary;
pub mod token;

use std::future::Future;

use uuid::Uuid;

pub use component::{Component, ComponentMeta, NewComponent};
pub use error::StoreError;
pub use event::{
    AppendRequest, NewEvent, PinnedSteps, RecordedEvent, procedure_id_of, procedure_stream,
    run_id_of, run_stream,
};
pub use journal::{JournalAppended, JournalEntry, JournalPage, JournalRecord, StepResult};
pub use observed::{Observed, StoreObserver};
pub use postgres::{PgOptions, PgStore};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
pub use summary::{
    ProcedureSummary, RunPage, RunQuery, RunSummary, SummaryCursor, SummaryPage, SummaryQuery,
};
pub use token::{NewToken, TokenRecord};

/// The most events [`EventStore::read_all`] returns in one call.
pub const MAX_READ_ALL: u32 = 10_000;

/// Event streams with optimistic concurrency, and the pinned step lists their events name.
pub trait EventStore: Clone + Send + Sync + 'static {
    /// Appends all events of `request` atomically after `expected_version`, with its pins and the
    /// projection updates, or nothing; a stale `expected_version` is [`StoreError::Conflict`].
    fn append(
        &self,
        request: AppendRequest<'_>,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// The whole stream in version order; empty if it does not exist.
    fn read_stream(
        &self,
        stream: &str,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// The stream's current version (0 if it does not exist).
    fn stream_version(&self, stream: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Events of all streams with `position > after_position`, in position order, at most
    /// `limit` (1..=[`MAX_READ_ALL`]).
    fn read_all(
        &self,
        after_position: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// The step list pinned under `hash`.
    fn pinned_steps(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<PinnedSteps>, StoreError>> + Send;
}

/// The step journal (see [`journal`]).
pub trait StepJournal: Clone + Send + Sync + 'static {
    /// Appends entries in one transaction, in order. An entry whose id exists is not written
    /// again (its existing sequence is returned with `inserted: false`).
    fn append_journal(
        &self,
        entries: &[JournalEntry],
    ) -> impl Future<Output = Result<Vec<JournalAppended>, StoreError>> + Send;

    /// A page of a procedure's journal in sequence order.
    fn journal(
        &self,
        procedure: Uuid,
        page: JournalPage,
    ) -> impl Future<Output = Result<Vec<JournalRecord>, StoreError>> + Send;

    /// The procedure's last `in_flight` marker, if no outcome for that step follows it: the step
    /// a dead host was executing.
    fn interrupted_step(
        &self,
        procedure: Uuid,
    ) -> impl Future<Output = Result<Option<JournalRecord>, StoreError>> + Send;

    /// How many distinct steps of the procedure have an `ok` outcome.
    fn completed_steps(
        &self,
        procedure: Uuid,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Uploaded components by digest.
pub trait ComponentStore: Clone + Send + Sync + 'static {
    /// Stores the component unless its digest is already there; true if it was inserted.
    fn put_component(
        &self,
        component: &NewComponent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn component(
        &self,
        digest: &str,
    ) -> impl Future<Output = Result<Option<Component>, StoreError>> + Send;

    /// All components without their bytes, by name, version, digest.
    fn list_components(
        &self,
    ) -> impl Future<Output = Result<Vec<ComponentMeta>, StoreError>> + Send;

    /// Deletes the component; refused with [`StoreError::ComponentInUse`] while a procedure
    /// names it. False if there was none.
    fn delete_component(
        &self,
        digest: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The procedure and run summary projections (see [`summary`]).
pub trait SummaryStore: Clone + Send + Sync + 'static {
    fn procedure_summary(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<ProcedureSummary>, StoreError>> + Send;

    /// A page of summaries, newest first, filtered by status and parent run.
    fn list_procedures(
        &self,
        query: &SummaryQuery,
    ) -> impl Future<Output = Result<SummaryPage, StoreError>> + Send;

    /// Replaces every summary row with a fresh fold of the streams, in one transaction; returns
    /// the number of rows. An undecodable stream fails the rebuild and keeps the old rows.
    fn rebuild_summaries(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    fn run_summary(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<RunSummary>, StoreError>> + Send;

    /// A page of runs, oldest first (by the position of their RunStarted event), optionally
    /// filtered by status.
    fn list_runs(
        &self,
        query: &RunQuery,
    ) -> impl Future<Output = Result<RunPage, StoreError>> + Send;

    /// [`Self::rebuild_summaries`] for the run projection: replaces every run row with a fresh
    /// fold of the run streams, in one transaction; returns the number of rows. A store opened
    /// on a database that has runs but no run rows (one from before the run projection) runs
    /// this once on open.
    fn rebuild_run_summaries(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// API tokens by hash.
pub trait TokenStore: Clone + Send + Sync + 'static {
    /// Stores a new token; a duplicate id or hash is refused by the database.
    fn put_token(&self, token: &NewToken) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The token whose secret hashes to `hash`, if any.
    fn token_by_hash(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;

    /// Every token, oldest first.
    fn list_tokens(&self) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    /// Revokes a token; false if there was none.
    fn delete_token(&self, id: Uuid) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// All the store's capabilities.
pub trait Store: EventStore + StepJournal + ComponentStore + SummaryStore {}

impl<T: EventStore + StepJournal + ComponentStore + SummaryStore> Store for T {}

/// Refuses a [`EventStore::read_all`] limit outside 1..=[`MAX_READ_ALL`]; every backend calls it.
pub(crate) fn check_read_all_limit(limit: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_READ_ALL {
        return Err(StoreError::InvalidQuery(format!(
            "read_all limit must be 1..={MAX_READ_ALL}, got {limit}"
        )));
    }
    Ok(())
}

/// A store chosen at run time: what [`open`] returns and what the server holds. The one place
/// that dispatches to a backend.
#[derive(Clone, Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call,
            AnyStore::Postgres($s) => $call,
        }
    };
}

impl EventStore for AnyStore {
    async fn append(&self, request: AppendRequest<'_>) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, s => s.append(request).await)
    }
    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, s => s.read_stream(stream).await)
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        dispatch!(self, s => s.stream_version(stream).await)
    }
    async fn read_all(
        &self,
        after_position: u64,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, s => s.read_all(after_position, limit).await)
    }
    async fn pinned_steps(&self, hash: &str) -> Result<Option<PinnedSteps>, StoreError> {
        dispatch!(self, s => s.pinned_steps(hash).await)
    }
}

impl StepJournal for AnyStore {
    async fn append_journal(
        &self,
        entries: &[JournalEntry],
    ) -> Result<Vec<JournalAppended>, StoreError> {
        dispatch!(self, s => s.append_journal(entries).await)
    }
    async fn journal(
        &self,
        procedure: Uuid,
        page: JournalPage,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        dispatch!(self, s => s.journal(procedure, page).await)
    }
    async fn interrupted_step(&self, procedure: Uuid) -> Result<Option<JournalRecord>, StoreError> {
        dispatch!(self, s => s.interrupted_step(procedure).await)
    }
    async fn completed_steps(&self, procedure: Uuid) -> Result<u64, StoreError> {
        dispatch!(self, s => s.completed_steps(procedure).await)
    }
}

impl ComponentStore for AnyStore {
    async fn put_component(&self, component: &NewComponent) -> Result<bool, StoreError> {
        dispatch!(self, s => s.put_component(component).await)
    }
    async fn component(&self, digest: &str) -> Result<Option<Component>, StoreError> {
        dispatch!(self, s => s.component(digest).await)
    }
    async fn list_components(&self) -> Result<Vec<ComponentMeta>, StoreError> {
        dispatch!(self, s => s.list_components().await)
    }
    async fn delete_component(&self, digest: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_component(digest).await)
    }
}

impl SummaryStore for AnyStore {
    async fn procedure_summary(&self, id: Uuid) -> Result<Option<ProcedureSummary>, StoreError> {
        dispatch!(self, s => s.procedure_summary(id).await)
    }
    async fn list_procedures(&self, query: &SummaryQuery) -> Result<SummaryPage, StoreError> {
        dispatch!(self, s => s.list_procedures(query).await)
    }
    async fn rebuild_summaries(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => s.rebuild_summaries().await)
    }
    async fn run_summary(&self, id: Uuid) -> Result<Option<RunSummary>, StoreError> {
        dispatch!(self, s => s.run_summary(id).await)
    }
    async fn list_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError> {
        dispatch!(self, s => s.list_runs(query).await)
    }
    async fn rebuild_run_summaries(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => s.rebuild_run_summaries().await)
    }
}

impl TokenStore for AnyStore {
    async fn put_token(&self, token: &NewToken) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_token(token).await)
    }
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        dispatch!(self, s => s.token_by_hash(hash).await)
    }
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        dispatch!(self, s => s.list_tokens().await)
    }
    async fn delete_token(&self, id: Uuid) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_token(id).await)
    }
}

impl AnyStore {
    /// Closes the backend's connections.
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }
}

/// Opens a store from a URL and runs its migrations:
/// - `sqlite://PATH?mode=rwc` (a file; `mode=rwc` creates it), optionally
///   `&synchronous=normal|full|extra` (default `normal`, see [`sqlite`]);
/// - `sqlite::memory:`: a private in-memory database (tests);
/// - `postgres://user@host:port/db`, optionally `?schema=NAME` (created if missing).
pub async fn open(url: &str) -> Result<AnyStore, StoreError> {
    let bad = |reason: String| StoreError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let (base, params) = split_params(url);
    if url.starts_with("sqlite:") {
        let mut options = SqliteOptions::default();
        let mut passthrough = Vec::new();
        let mut memory = base == "sqlite::memory:" || base == "sqlite://:memory:";
        for (key, value) in params {
            match key {
                "synchronous" => {
                    options.synchronous = value.parse().map_err(|_| {
                        bad(format!(
                            "unknown synchronous level {value:?} (normal, full, extra)"
                        ))
                    })?
                }
                "mode" if value == "memory" => memory = true,
                _ => passthrough.push((key, value)),
            }
        }
        if memory {
            return Ok(AnyStore::Sqlite(SqliteStore::memory().await?));
        }
        let rebuilt = join_params(base, &passthrough);
        let connect = rebuilt
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .map_err(|e| bad(e.to_string()))?;
        Ok(AnyStore::Sqlite(
            SqliteStore::open_with(connect, options).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut options = PgOptions::default();
        let mut passthrough = Vec::new();
        for (key, value) in params {
            match key {
                "schema" => options.schema = Some(value.to_owned()),
                _ => passthrough.push((key, value)),
            }
        }
        Ok(AnyStore::Postgres(
            PgStore::connect(&join_params(base, &passthrough), options).await?,
        ))
    } else {
        Err(bad(
            "expected sqlite://PATH, sqlite::memory: or postgres://...".into(),
        ))
    }
}

fn split_params(url: &str) -> (&str, Vec<(&str, &str)>) {
    match url.split_once('?') {
        None => (url, Vec::new()),
        Some((base, query)) => (
            base,
            query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap_or((p, "")))
                .collect(),
        ),
    }
}

fn join_params(base: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return base.to_owned();
    }
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{base}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn url_parameters_split_and_rejoin() {
        let (base, params) = split_params("sqlite:///var/baton.db?mode=rwc&synchronous=full");
        assert_eq!(base, "sqlite:///var/baton.db");
        assert_eq!(params, [("mode", "rwc"), ("synchronous", "full")]);
        assert_eq!(
            join_params(base, &[("mode", "rwc")]),
            "sqlite:///var/baton.db?mode=rwc"
        );
        assert_eq!(join_params(base, &[]), base);
        let (base, params) = split_params("postgres://u@h/db");
        assert_eq!((base, params.len()), ("postgres://u@h/db", 0));
        let (_, params) = split_params("x?flag&&k=v");
        assert_eq!(params, [("flag", ""), ("k", "v")]);
    }

    #[test]
    fn synchronous_levels_parse_case_insensitively() {
        assert_eq!("FULL".parse::<Synchronous>().unwrap(), Synchronous::Full);
        assert_eq!(
            "normal".parse::<Synchronous>().unwrap(),
            Synchronous::Normal
        );
        assert_eq!("Extra".parse::<Synchronous>().unwrap(), Synchronous::Extra);
        // OFF is deliberately not offered: it would lose acknowledged commits on a crash.
        assert!("off".parse::<Synchronous>().is_err());
        assert_eq!(Synchronous::default(), Synchronous::Normal);
    }

    #[test]
    fn summary_cursors_round_trip_and_reject_garbage() {
        let c: SummaryCursor = "p42".parse().unwrap();
        assert_eq!(c.to_string(), "p42");
        for bad in ["", "p", "42", "p-1", "px", "p18446744073709551616"] {
            assert!(bad.parse::<SummaryCursor>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pinned_steps_hash_like_the_domain_pin() {
        use crate::domain::procedure::Pin;
        use crate::domain::{Setpoint, Step, Value};
        let steps = vec![Step::Setpoint(Setpoint {
            channel: "x".into(),
            value: Value::Int(1),
            readback: None,
            tolerance: None,
            settle_ms: None,
        })];
        let pinned = PinnedSteps::new(steps.clone()).unwrap();
        let pin = Pin::for_steps(&steps, "d".into(), vec![], vec![], "r".into()).unwrap();
        assert_eq!(pinned.hash(), pin.content_hash);
        assert_eq!(pinned.len() as u64, pin.step_count);
        // A stored pin whose text no longer hashes to its key is caught on read.
        let other = PinnedSteps::new(Vec::new()).unwrap();
        assert!(matches!(
            PinnedSteps::from_stored(other.hash(), pinned.json().to_owned()),
            Err(StoreError::PinHashMismatch { .. })
        ));
        assert_eq!(
            PinnedSteps::from_stored(pinned.hash(), pinned.json().to_owned()).unwrap(),
            pinned
        );
    }
}
