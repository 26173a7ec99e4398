//! The step journal on SQLite. An append is one statement on the writer connection, committed
//! on its own (SQLite makes a single statement atomic): one round trip to the database thread
//! on the conductor's hot path.

use std::collections::HashMap;

use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Sqlite, SqliteConnection};

use super::SqliteStore;
use crate::store::error::{StoreError, non_negative};
use crate::store::event::normalize_time;
use crate::store::journal::{JournalAppended, JournalEntry};
use crate::store::rows::Columns;
use crate::store::sql;

/// Appends validated, non-empty `entries` (see [`crate::store::StepJournal::append_journal`]).
pub(super) async fn append(
    store: &SqliteStore,
    entries: &[JournalEntry],
) -> Result<Vec<JournalAppended>, StoreError> {
    let mut conn = store.writer.acquire().await?;
    match entries {
        // The conductor's hot path: one statement, committed on its own, so one round trip to
        // the database thread, not three.
        [entry] => Ok(vec![insert_entry(&mut conn, entry).await?]),
        // A batch (the conductor writes a step's outcome with the next step's marker): one
        // statement as well, so still one round trip and atomic on its own.
        _ => insert_batch(&mut conn, entries).await,
    }
}

/// Binds an entry's columns, in the order of the insert statements (after `ord` in a batch).
fn bind_entry<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    entry: &'q JournalEntry,
) -> Result<Query<'q, Sqlite, SqliteArguments>, StoreError> {
    let detail = serde_json::to_string(&entry.detail)
        .map_err(|e| StoreError::Corrupt(format!("detail does not serialize: {e}")))?;
    Ok(query
        .bind(entry.id.hyphenated().to_string())
        .bind(entry.procedure_id.hyphenated().to_string())
        .bind(i64::from(entry.step_index))
        .bind(entry.step_kind.as_str())
        .bind(entry.result.as_str())
        .bind(entry.result.failure_class().map(|c| c.as_str()))
        .bind(entry.message.as_deref())
        .bind(detail)
        .bind(normalize_time(entry.at)))
}

/// Inserts several entries with one `INSERT … SELECT`. SQLite materializes a SELECT that
/// reads the table it inserts into before inserting, so every row's `MAX(sequence)` is the
/// value before the statement and `row_number()` keeps each procedure's sequence dense.
/// Entries whose id exists are left out before numbering, then reported as replays.
async fn insert_batch(
    conn: &mut SqliteConnection,
    entries: &[JournalEntry],
) -> Result<Vec<JournalAppended>, StoreError> {
    let mut sql = String::from(
        "INSERT INTO step_journal (id, procedure_id, sequence, step_index, step_kind, \
         result, failure_class, message, detail, at) \
         SELECT v.id, v.procedure_id, \
         (SELECT COALESCE(MAX(j.sequence), 0) FROM step_journal j \
          WHERE j.procedure_id = v.procedure_id) \
         + row_number() OVER (PARTITION BY v.procedure_id ORDER BY v.ord), \
         v.step_index, v.step_kind, v.result, v.failure_class, v.message, v.detail, v.at \
         FROM (",
    );
    for i in 0..entries.len() {
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        sql.push_str(
            "SELECT ? AS ord, ? AS id, ? AS procedure_id, ? AS step_index, ? AS step_kind, \
             ? AS result, ? AS failure_class, ? AS message, ? AS detail, ? AS at",
        );
    }
    sql.push_str(
        ") v WHERE NOT EXISTS (SELECT 1 FROM step_journal e WHERE e.id = v.id) \
         ORDER BY v.ord ON CONFLICT (id) DO NOTHING RETURNING id, sequence",
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (ord, entry) in entries.iter().enumerate() {
        query = bind_entry(query.bind(ord as i64), entry)?;
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut inserted = HashMap::with_capacity(rows.len());
    for row in &rows {
        inserted.insert(
            row.uuid("id")?,
            non_negative(row.int("sequence")?, "sequence")?,
        );
    }
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        match inserted.get(&entry.id) {
            Some(&sequence) => out.push(entry.appended(sequence)),
            // Already there: the single-entry path reports the stored sequence and checks the
            // owner.
            None => out.push(insert_entry(conn, entry).await?),
        }
    }
    Ok(out)
}

async fn insert_entry(
    conn: &mut SqliteConnection,
    entry: &JournalEntry,
) -> Result<JournalAppended, StoreError> {
    let inserted = bind_entry(sqlx::query(sql::INSERT_JOURNAL_ENTRY), entry)?
        .fetch_optional(&mut *conn)
        .await?;
    match inserted {
        Some(row) => Ok(entry.appended(non_negative(row.int("sequence")?, "sequence")?)),
        None => {
            let row = sqlx::query(sql::JOURNAL_OWNER)
                .bind(entry.id.hyphenated().to_string())
                .fetch_one(&mut *conn)
                .await?;
            entry.replayed(row.uuid("procedure_id")?, row.int("sequence")?)
        }
    }
}
