//! The store: event streams with optimistic concurrency, pinned step lists, the step journal,
//! uploaded components and the procedure summary projection, on SQLite (the embedded default)
//! and PostgreSQL. The only layer that touches SQL.
//!
//! The capabilities are four traits ([`EventStore`], [`StepJournal`], [`ComponentStore`],
//! [`SummaryStore`]; [`Store`] is all four) implemented by [`SqliteStore`], [`PgStore`] and
//! [`AnyStore`]. The traits use `async fn` (static dispatch, no boxing on the journal's hot
//! path) and are therefore not dyn-compatible; runtime choice of backend is the closed enum
//! [`AnyStore`], which [`open`] returns from a URL. Generic code (the conformance suite, the
//! command handler) takes `S: Store`.
//!
//! Every append updates the projections in its own transaction, so a read model can never lag
//! or lead the streams it reads.

pub mod component;
pub mod error;
pub mod event;
pub mod journal;
pub mod postgres;
pub mod projection;
pub mod sqlite;
pub mod token;

use std::future::Future;

use uuid::Uuid;

pub use component::{Component, ComponentMeta, NewComponent};
pub use error::StoreError;
pub use event::{
    AppendRequest, NewEvent, PinnedSteps, RecordedEvent, procedure_id_of, procedure_stream,
    run_stream,
};
pub use journal::{JournalAppended, JournalEntry, JournalPage, JournalRecord, StepResult};
pub use postgres::{PgOptions, PgStore};
pub use projection::{ProcedureSummary, SummaryCursor, SummaryPage, SummaryQuery};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
pub use token::{NewToken, TokenRecord, TokenStore};

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

/// The procedure summary projection (see [`projection`]).
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
}

/// All the store's capabilities.
pub trait Store: EventStore + StepJournal + ComponentStore + SummaryStore {}

impl<T: EventStore + StepJournal + ComponentStore + SummaryStore> Store for T {}

/// Implements the traits for a backend by delegating to its inherent methods.
macro_rules! delegate_backend {
    ($ty:ty) => {
        impl EventStore for $ty {
            async fn append(
                &self,
                request: AppendRequest<'_>,
            ) -> Result<Vec<RecordedEvent>, StoreError> {
                <$ty>::append(self, request).await
            }
            async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError> {
                <$ty>::read_stream(self, stream).await
            }
            async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
                <$ty>::stream_version(self, stream).await
            }
            async fn read_all(
                &self,
                after_position: u64,
                limit: u32,
            ) -> Result<Vec<RecordedEvent>, StoreError> {
                check_read_all_limit(limit)?;
                <$ty>::read_all(self, after_position, limit).await
            }
            async fn pinned_steps(&self, hash: &str) -> Result<Option<PinnedSteps>, StoreError> {
                <$ty>::pinned_steps(self, hash).await
            }
        }

        impl StepJournal for $ty {
            async fn append_journal(
                &self,
                entries: &[JournalEntry],
            ) -> Result<Vec<JournalAppended>, StoreError> {
                <$ty>::append_journal(self, entries).await
            }
            async fn journal(
                &self,
                procedure: Uuid,
                page: JournalPage,
            ) -> Result<Vec<JournalRecord>, StoreError> {
                <$ty>::journal(self, procedure, page).await
            }
            async fn interrupted_step(
                &self,
                procedure: Uuid,
            ) -> Result<Option<JournalRecord>, StoreError> {
                <$ty>::interrupted_step(self, procedure).await
            }
            async fn completed_steps(&self, procedure: Uuid) -> Result<u64, StoreError> {
                <$ty>::completed_steps(self, procedure).await
            }
        }

        impl ComponentStore for $ty {
            async fn put_component(&self, component: &NewComponent) -> Result<bool, StoreError> {
                <$ty>::put_component(self, component).await
            }
            async fn component(&self, digest: &str) -> Result<Option<Component>, StoreError> {
                <$ty>::component(self, digest).await
            }
            async fn list_components(&self) -> Result<Vec<ComponentMeta>, StoreError> {
                <$ty>::list_components(self).await
            }
            async fn delete_component(&self, digest: &str) -> Result<bool, StoreError> {
                <$ty>::delete_component(self, digest).await
            }
        }

        impl SummaryStore for $ty {
            async fn procedure_summary(
                &self,
                id: Uuid,
            ) -> Result<Option<ProcedureSummary>, StoreError> {
                <$ty>::procedure_summary(self, id).await
            }
            async fn list_procedures(
                &self,
                query: &SummaryQuery,
            ) -> Result<SummaryPage, StoreError> {
                <$ty>::list_procedures(self, query).await
            }
            async fn rebuild_summaries(&self) -> Result<u64, StoreError> {
                <$ty>::rebuild_summaries(self).await
            }
        }
    };
}

delegate_backend!(SqliteStore);
delegate_backend!(PgStore);

fn check_read_all_limit(limit: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_READ_ALL {
        return Err(StoreError::InvalidQuery(format!(
            "read_all limit must be 1..={MAX_READ_ALL}, got {limit}"
        )));
    }
    Ok(())
}

/// A store chosen at run time: what [`open`] returns and what the server holds.
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
        dispatch!(self, s => EventStore::append(s, request).await)
    }
    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, s => EventStore::read_stream(s, stream).await)
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        dispatch!(self, s => EventStore::stream_version(s, stream).await)
    }
    async fn read_all(
        &self,
        after_position: u64,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, s => EventStore::read_all(s, after_position, limit).await)
    }
    async fn pinned_steps(&self, hash: &str) -> Result<Option<PinnedSteps>, StoreError> {
        dispatch!(self, s => EventStore::pinned_steps(s, hash).await)
    }
}

impl StepJournal for AnyStore {
    async fn append_journal(
        &self,
        entries: &[JournalEntry],
    ) -> Result<Vec<JournalAppended>, StoreError> {
        dispatch!(self, s => StepJournal::append_journal(s, entries).await)
    }
    async fn journal(
        &self,
        procedure: Uuid,
        page: JournalPage,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        dispatch!(self, s => StepJournal::journal(s, procedure, page).await)
    }
    async fn interrupted_step(&self, procedure: Uuid) -> Result<Option<JournalRecord>, StoreError> {
        dispatch!(self, s => StepJournal::interrupted_step(s, procedure).await)
    }
    async fn completed_steps(&self, procedure: Uuid) -> Result<u64, StoreError> {
        dispatch!(self, s => StepJournal::completed_steps(s, procedure).await)
    }
}

impl ComponentStore for AnyStore {
    async fn put_component(&self, component: &NewComponent) -> Result<bool, StoreError> {
        dispatch!(self, s => ComponentStore::put_component(s, component).await)
    }
    async fn component(&self, digest: &str) -> Result<Option<Component>, StoreError> {
        dispatch!(self, s => ComponentStore::component(s, digest).await)
    }
    async fn list_components(&self) -> Result<Vec<ComponentMeta>, StoreError> {
        dispatch!(self, s => ComponentStore::list_components(s).await)
    }
    async fn delete_component(&self, digest: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => ComponentStore::delete_component(s, digest).await)
    }
}

impl SummaryStore for AnyStore {
    async fn procedure_summary(&self, id: Uuid) -> Result<Option<ProcedureSummary>, StoreError> {
        dispatch!(self, s => SummaryStore::procedure_summary(s, id).await)
    }
    async fn list_procedures(&self, query: &SummaryQuery) -> Result<SummaryPage, StoreError> {
        dispatch!(self, s => SummaryStore::list_procedures(s, query).await)
    }
    async fn rebuild_summaries(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => SummaryStore::rebuild_summaries(s).await)
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
                "synchronous" => options.synchronous = value.parse().map_err(bad)?,
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
