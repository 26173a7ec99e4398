//! The procedure and run projections' SQL on SQLite: the upserts an append runs in its own
//! transaction, the reads, the listings and the rebuilds. Folding is backend-neutral
//! ([`crate::store::summary`]).

use sqlx::{Sqlite, SqliteConnection, Transaction};
use uuid::Uuid;

use super::SqliteStore;
use crate::store::error::{StoreError, to_db};
use crate::store::event::RecordedEvent;
use crate::store::rows::{self, causes_json, db_name, format_time};
use crate::store::summary::{
    ProcedureSummary, Projection, Row, RunPage, RunQuery, RunSummary, SummaryPage, SummaryQuery,
};
use crate::store::{SummaryStore, sql};

impl SummaryStore for SqliteStore {
    async fn procedure_summary(&self, id: Uuid) -> Result<Option<ProcedureSummary>, StoreError> {
        let row = sqlx::query(sql::PROCEDURE_SUMMARY)
            .bind(id.hyphenated().to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::procedure_summary).transpose()
    }

    async fn list_procedures(&self, query: &SummaryQuery) -> Result<SummaryPage, StoreError> {
        query.validate()?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            sql::procedure_summary_columns!(),
            " FROM procedure_summary \
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR parent_run = $2) \
             AND ($3 IS NULL OR defined_position < $3) \
             ORDER BY defined_position DESC LIMIT $4"
        ))
        .bind(query.status.map(|s| db_name(s.as_str())))
        .bind(query.parent_run.map(|r| r.hyphenated().to_string()))
        .bind(
            query
                .after
                .map(|c| to_db(c.position(), "cursor"))
                .transpose()?,
        )
        .bind(i64::from(query.limit))
        .fetch_all(&self.reader)
        .await?;
        let items = rows
            .iter()
            .map(rows::procedure_summary)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SummaryPage::from_rows(items, query.limit))
    }

    async fn rebuild_summaries(&self) -> Result<u64, StoreError> {
        rebuild(self, Projection::Procedures).await
    }

    async fn run_summary(&self, id: Uuid) -> Result<Option<RunSummary>, StoreError> {
        let row = sqlx::query(sql::RUN_SUMMARY)
            .bind(id.hyphenated().to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::run_summary).transpose()
    }

    async fn list_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError> {
        query.validate()?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            sql::run_summary_columns!(),
            " FROM run_summary WHERE ($1 IS NULL OR status = $1) AND started_position > $2 \
             ORDER BY started_position LIMIT $3"
        ))
        .bind(query.status.map(|s| db_name(s.as_str())))
        .bind(to_db(query.after, "cursor")?)
        .bind(i64::from(query.limit))
        .fetch_all(&self.reader)
        .await?;
        let items = rows
            .iter()
            .map(rows::run_summary)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RunPage::from_rows(items, query.limit))
    }

    async fn rebuild_run_summaries(&self) -> Result<u64, StoreError> {
        rebuild_runs(self).await
    }
}

pub(super) async fn rebuild_runs(store: &SqliteStore) -> Result<u64, StoreError> {
    rebuild(store, Projection::Runs).await
}

/// Refolds the stream `recorded` was appended to, if a projection reads it.
pub(super) async fn project(
    tx: &mut Transaction<'static, Sqlite>,
    recorded: &[RecordedEvent],
) -> Result<(), StoreError> {
    let Some(first) = recorded.first() else {
        return Ok(());
    };
    let Some(projection) = Projection::of(&first.stream) else {
        return Ok(());
    };
    let events = super::events::stream_in(tx, &first.stream).await?;
    if let Some(row) = projection.summarize(events)? {
        upsert(tx, &row).await?;
    }
    Ok(())
}

/// Replaces every row of `projection` with a fresh fold of its streams, in one transaction
/// (which holds the write lock, so no append interleaves).
async fn rebuild(store: &SqliteStore, projection: Projection) -> Result<u64, StoreError> {
    let mut tx = store.begin_write().await?;
    sqlx::query(projection.clear()).execute(&mut *tx).await?;
    let prefix = projection.stream_prefix();
    let prefix_len = prefix.len();
    let events = sqlx::query(sql::READ_CATEGORY)
        .bind(prefix)
        .bind(prefix_len as i64)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(rows::event)
        .collect::<Result<Vec<_>, _>>()?;
    let rows = projection.rebuild_rows(events)?;
    for row in &rows {
        upsert(&mut tx, row).await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

async fn upsert(conn: &mut SqliteConnection, row: &Row) -> Result<(), StoreError> {
    match row {
        Row::Procedure(s) => {
            sqlx::query(sql::UPSERT_PROCEDURE_SUMMARY)
                .bind(s.id.hyphenated().to_string())
                .bind(&s.name)
                .bind(&s.component_digest)
                .bind(db_name(s.status.as_str()))
                .bind(s.status_reason.as_deref())
                .bind(causes_json(&s.hold_causes).to_string())
                .bind(s.parent_run.map(|r| r.hyphenated().to_string()))
                .bind(i64::from(s.iteration_count))
                .bind(s.actuation_kind.as_str())
                .bind(to_db(s.version, "version")?)
                .bind(to_db(s.defined_position, "position")?)
                .bind(s.defined_at)
                .bind(s.last_changed_at)
                .execute(conn)
                .await?
        }
        Row::Run(r) => {
            sqlx::query(sql::UPSERT_RUN_SUMMARY)
                .bind(r.id.hyphenated().to_string())
                .bind(&r.name)
                .bind(db_name(r.status.as_str()))
                .bind(r.status_reason.as_deref())
                .bind(r.actuation_kind.as_str())
                .bind(to_db(r.version, "version")?)
                .bind(to_db(r.started_position, "position")?)
                .bind(format_time(r.started_at)?)
                .bind(format_time(r.last_changed_at)?)
                .execute(conn)
                .await?
        }
    };
    Ok(())
}
