//! How SQLite differs from PostgreSQL for the bodies written once in [`crate::store::backend`]:
//! ids and JSON are bound as text, `integer` columns are 64-bit, and every writer takes SQLite's
//! one write lock up front.

use serde::Serialize;
use sqlx::{Sqlite, SqlitePool, Transaction};
use uuid::Uuid;

use super::SqliteStore;
use crate::store::backend::Backend;
use crate::store::error::StoreError;
use crate::store::journal::{JournalAppended, JournalEntry};
use crate::store::sql;

impl Backend for SqliteStore {
    type Db = Sqlite;
    type Uuid = String;
    type Json<'a, T: ?Sized + 'a> = String;
    type Int4 = i64;

    const LIST_PROCEDURES: &'static str = concat!(
        "SELECT ",
        sql::procedure_summary_columns!(),
        " FROM procedure_summary \
         WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR parent_run = $2) \
         AND ($3 IS NULL OR defined_position < $3) \
         ORDER BY defined_position DESC LIMIT $4"
    );
    const LIST_RUNS: &'static str = concat!(
        "SELECT ",
        sql::run_summary_columns!(),
        " FROM run_summary WHERE ($1 IS NULL OR status = $1) AND started_position > $2 \
         ORDER BY started_position LIMIT $3"
    );
    /// The canonical JSON text, stored as written.
    const INSERT_PIN: &'static str = "INSERT INTO pinned_steps (hash, step_count, steps, \
         pinned_at) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING";
    const READ_PIN: &'static str = "SELECT steps FROM pinned_steps WHERE hash = $1";

    fn uuid(id: Uuid) -> String {
        id.hyphenated().to_string()
    }

    fn json<'a, T: Serialize + ?Sized + 'a>(
        value: &'a T,
        what: &str,
    ) -> Result<String, StoreError> {
        serde_json::to_string(value)
            .map_err(|e| StoreError::Corrupt(format!("{what} does not serialize: {e}")))
    }

    fn int4(value: u64) -> Option<i64> {
        i64::try_from(value).ok()
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// A write transaction on the one writer connection, so commit order is position order.
    async fn begin_events(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.begin_write().await
    }

    /// The write transaction holds SQLite's one write lock: no procedure can be defined on the
    /// component between the count and the delete.
    async fn begin_component_delete(
        &self,
        _digest: &str,
    ) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.begin_write().await
    }

    async fn append_journal_entries(
        &self,
        entries: &[JournalEntry],
    ) -> Result<Vec<JournalAppended>, StoreError> {
        super::journal::append(self, entries).await
    }
}
