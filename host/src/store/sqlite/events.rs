//! Event streams on SQLite: appends on the one writer connection (so commit order is position
//! order), with their pins and the projection updates in the same transaction.

use sqlx::{Sqlite, Transaction};

use super::SqliteStore;
use crate::store::error::{StoreError, non_negative, to_db};
use crate::store::event::{AppendRequest, PinnedSteps, RecordedEvent, now};
use crate::store::{EventStore, check_read_all_limit, rows, sql};

impl EventStore for SqliteStore {
    async fn append(&self, request: AppendRequest<'_>) -> Result<Vec<RecordedEvent>, StoreError> {
        request.validate()?;
        let mut tx = self.begin_write().await?;
        let recorded = append_in(&mut tx, &request).await?;
        super::summary::project(&mut tx, &recorded).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(sql::READ_STREAM)
            .bind(stream)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(rows::event).collect()
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        let version: i64 = sqlx::query_scalar(sql::STREAM_VERSION)
            .bind(stream)
            .fetch_one(&self.reader)
            .await?;
        non_negative(version, "stream version")
    }

    async fn read_all(
        &self,
        after_position: u64,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        check_read_all_limit(limit)?;
        let rows = sqlx::query(sql::READ_ALL)
            .bind(to_db(after_position, "position")?)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(rows::event).collect()
    }

    async fn pinned_steps(&self, hash: &str) -> Result<Option<PinnedSteps>, StoreError> {
        super::pins::read(&self.reader, hash).await
    }
}

/// Appends within `tx`: checks the expected version, writes the pins, then the events.
async fn append_in(
    tx: &mut Transaction<'static, Sqlite>,
    request: &AppendRequest<'_>,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let actual: i64 = sqlx::query_scalar(sql::STREAM_VERSION)
        .bind(request.stream)
        .fetch_one(&mut **tx)
        .await?;
    let actual = request.check_version(non_negative(actual, "stream version")?)?;
    let recorded_at = now();
    for pin in request.pins {
        super::pins::write(tx, pin, recorded_at).await?;
    }
    let mut recorded = Vec::with_capacity(request.events.len());
    for (offset, event) in request.events.iter().enumerate() {
        let version = actual + 1 + offset as u64;
        let payload = serde_json::to_string(&event.payload)
            .map_err(|e| StoreError::Corrupt(format!("payload does not serialize: {e}")))?;
        let position: i64 = sqlx::query_scalar(sql::INSERT_EVENT)
            .bind(event.id.hyphenated().to_string())
            .bind(request.stream)
            .bind(to_db(version, "version")?)
            .bind(&event.event_type)
            .bind(payload)
            .bind(recorded_at)
            .fetch_one(&mut **tx)
            .await?;
        recorded.push(request.recorded(
            event,
            version,
            non_negative(position, "position")?,
            recorded_at,
        ));
    }
    Ok(recorded)
}

/// The events of one stream, read inside a write transaction (a projection refolds it).
pub(super) async fn stream_in(
    tx: &mut Transaction<'static, Sqlite>,
    stream: &str,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = sqlx::query(sql::READ_STREAM)
        .bind(stream)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(rows::event).collect()
}
