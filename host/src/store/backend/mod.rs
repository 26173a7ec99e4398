//! The half of both backends that does not depend on the dialect, written once. A backend says
//! how it differs by implementing [`Backend`] (how it binds ids, JSON and `integer` columns, the
//! few statements whose text differs, its pools, and how it serializes writers); the store
//! traits' bodies are written here once, one file per capability, each a macro; a backend's
//! `mod.rs` expands them all for its store type with [`store_traits!`].
//!
//! Why macros rather than generic code: a body generic over `sqlx::Database` needs the
//! executor, argument, encode and decode bounds of every bound type repeated on every function
//! (Rust does not imply a trait's where clauses), which costs more lines than it saves. The
//! macros expand to the concrete backend's types, so the compiler checks each expansion like
//! hand-written code and nothing is dispatched at run time.
//!
//! The journal append, the conductor's per-step hot path, is not written here: the two backends
//! make it differently (one statement on SQLite's writer; per-procedure advisory locks in a
//! transaction on PostgreSQL), so each keeps its own in its `journal.rs`.

use serde::Serialize;
use sqlx::{Pool, Transaction};
use uuid::Uuid;

use super::error::StoreError;
use super::journal::{JournalAppended, JournalEntry};

pub(crate) mod components;
pub(crate) mod events;
pub(crate) mod journal;
pub(crate) mod summary;
pub(crate) mod tokens;

pub(crate) use self::components::components;
pub(crate) use self::events::events;
pub(crate) use self::journal::journal;
pub(crate) use self::summary::summary;
pub(crate) use self::tokens::tokens;

/// Expands, in a backend's module, every store trait for its store type `$store` (which
/// implements [`Backend`]): private modules `components`, `events`, `step_journal`, `summary`
/// (whose `backfill` the backend runs on open) and `tokens`.
macro_rules! store_traits {
    ($store:ident) => {
        $crate::store::backend::components!($store);
        $crate::store::backend::events!($store);
        $crate::store::backend::journal!($store);
        $crate::store::backend::summary!($store);
        $crate::store::backend::tokens!($store);
    };
}

pub(crate) use store_traits;

/// What a backend supplies to the bodies written in this module.
pub(crate) trait Backend {
    type Db: sqlx::Database;
    /// A uuid as bound (text on SQLite, `uuid` on PostgreSQL).
    type Uuid;
    /// A JSON value as bound (text on SQLite, `jsonb` on PostgreSQL).
    type Json<'a, T: ?Sized + 'a>;
    /// A value for a column declared `integer` (64-bit on SQLite, 32-bit on PostgreSQL).
    type Int4;

    /// The procedure summary listing: filters by `$1` status, `$2` parent run, `$3` cursor
    /// position (each NULL for none), at most `$4` rows, newest first.
    const LIST_PROCEDURES: &'static str;
    /// The run summary listing: `$1` status (NULL for any), after `$2`, at most `$3` rows.
    const LIST_RUNS: &'static str;
    /// Stores a pin (`$1` hash, `$2` step count, `$3` JSON text, `$4` time) unless its hash is
    /// there.
    const INSERT_PIN: &'static str;
    /// The pin under `$1`, as JSON text.
    const READ_PIN: &'static str;

    fn uuid(id: Uuid) -> Self::Uuid;
    /// `what` names the value in the error if it does not serialize.
    fn json<'a, T: Serialize + ?Sized + 'a>(
        value: &'a T,
        what: &str,
    ) -> Result<Self::Json<'a, T>, StoreError>;
    /// `None` if `value` does not fit the column; the caller says what that means.
    fn int4(value: u64) -> Option<Self::Int4>;

    /// The pool for reads outside a transaction.
    fn reader(&self) -> &Pool<Self::Db>;
    /// The pool for writes outside a transaction.
    fn writer(&self) -> &Pool<Self::Db>;
    /// A transaction that serializes with every event append and projection rebuild.
    async fn begin_events(&self) -> Result<Transaction<'static, Self::Db>, StoreError>;
    /// A transaction in which no procedure can start to use the component `digest` and no
    /// other delete of it can run, until it ends.
    async fn begin_component_delete(
        &self,
        digest: &str,
    ) -> Result<Transaction<'static, Self::Db>, StoreError>;
    /// Appends validated, non-empty `entries` to the step journal (see
    /// [`crate::store::StepJournal::append_journal`]).
    async fn append_journal_entries(
        &self,
        entries: &[JournalEntry],
    ) -> Result<Vec<JournalAppended>, StoreError>;
}
