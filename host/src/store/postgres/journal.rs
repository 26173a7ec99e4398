//! The step journal on PostgreSQL. Journal appends serialize per procedure only (an advisory
//! lock on the procedure's id), so sequences stay dense while procedures write side by side.

use sqlx::types::Json as SqlJson;
use uuid::Uuid;

use super::{JOURNAL_LOCK_CLASS, PgStore};
use crate::store::error::{StoreError, non_negative};
use crate::store::event::normalize_time;
use crate::store::journal::{JournalAppended, JournalEntry};
use crate::store::rows::Columns;
use crate::store::sql;

/// Appends validated, non-empty `entries` (see [`crate::store::StepJournal::append_journal`])
/// in one transaction.
pub(super) async fn append(
    store: &PgStore,
    entries: &[JournalEntry],
) -> Result<Vec<JournalAppended>, StoreError> {
    let mut tx = store.pool.begin().await?;
    let mut locked: Vec<Uuid> = Vec::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        if !locked.contains(&entry.procedure_id) {
            // Sequences are dense per procedure: serialize the procedure's writers.
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2::text))")
                .bind(JOURNAL_LOCK_CLASS)
                .bind(entry.procedure_id)
                .execute(&mut *tx)
                .await?;
            locked.push(entry.procedure_id);
        }
        let inserted: Option<i64> = sqlx::query_scalar(sql::INSERT_JOURNAL_ENTRY)
            .bind(entry.id)
            .bind(entry.procedure_id)
            .bind(
                i32::try_from(entry.step_index).map_err(|_| StoreError::InvalidJournalEntry {
                    id: entry.id,
                    reason: format!("step index {} out of range", entry.step_index),
                })?,
            )
            .bind(entry.step_kind.as_str())
            .bind(entry.result.as_str())
            .bind(entry.result.failure_class().map(|c| c.as_str()))
            .bind(entry.message.as_deref())
            .bind(SqlJson(&entry.detail))
            .bind(normalize_time(entry.at))
            .fetch_optional(&mut *tx)
            .await?;
        let appended = match inserted {
            Some(sequence) => entry.appended(non_negative(sequence, "sequence")?),
            None => {
                let row = sqlx::query(sql::JOURNAL_OWNER)
                    .bind(entry.id)
                    .fetch_one(&mut *tx)
                    .await?;
                entry.replayed(row.uuid("procedure_id")?, row.int("sequence")?)?
            }
        };
        out.push(appended);
    }
    tx.commit().await?;
    Ok(out)
}
