//! How PostgreSQL differs from SQLite for the bodies written once in
//! [`crate::store::backend`]: ids and JSON are bound as `uuid` and `jsonb`, `integer` columns
//! are 32-bit, optional filters are cast to a type, and writers serialize on advisory and row
//! locks (several hosts share the database).

use serde::Serialize;
use sqlx::types::Json as SqlJson;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{EVENTS_LOCK, PgStore};
use crate::store::backend::Backend;
use crate::store::error::StoreError;
use crate::store::journal::{JournalAppended, JournalEntry};
use crate::store::sql;

impl Backend for PgStore {
    type Db = Postgres;
    type Uuid = Uuid;
    type Json<'a, T: ?Sized + 'a> = SqlJson<&'a T>;
    type Int4 = i32;

    const LIST_PROCEDURES: &'static str = concat!(
        "SELECT ",
        sql::procedure_summary_columns!(),
        " FROM procedure_summary \
         WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR parent_run = $2) \
         AND ($3::bigint IS NULL OR defined_position < $3) \
         ORDER BY defined_position DESC LIMIT $4"
    );
    const LIST_RUNS: &'static str = concat!(
        "SELECT ",
        sql::run_summary_columns!(),
        " FROM run_summary WHERE ($1::text IS NULL OR status = $1) AND started_position > $2 \
         ORDER BY started_position LIMIT $3"
    );
    /// `jsonb`, from the canonical text; read back as text and re-hashed on the way out.
    const INSERT_PIN: &'static str = "INSERT INTO pinned_steps (hash, step_count, steps, \
         pinned_at) VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (hash) DO NOTHING";
    const READ_PIN: &'static str = "SELECT steps::text FROM pinned_steps WHERE hash = $1";

    fn uuid(id: Uuid) -> Uuid {
        id
    }

    fn json<'a, T: Serialize + ?Sized + 'a>(
        value: &'a T,
        _what: &str,
    ) -> Result<SqlJson<&'a T>, StoreError> {
        Ok(SqlJson(value))
    }

    fn int4(value: u64) -> Option<i32> {
        i32::try_from(value).ok()
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// A transaction holding the event log's advisory lock: appends and rebuilds serialize on
    /// it, so no append's projection update interleaves with a rebuild.
    async fn begin_events(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(EVENTS_LOCK.0)
            .bind(EVENTS_LOCK.1)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Locks the component row first, so a concurrent delete of the same digest waits.
    async fn begin_component_delete(
        &self,
        digest: &str,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT 1 FROM components WHERE digest = $1 FOR UPDATE")
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await?;
        Ok(tx)
    }

    async fn append_journal_entries(
        &self,
        entries: &[JournalEntry],
    ) -> Result<Vec<JournalAppended>, StoreError> {
        super::journal::append(self, entries).await
    }
}
