//! The `procedure_summary` projection behind `GET /procedures`: one row per procedure, derived
//! from the folded Procedure state. Every append to a procedure stream refolds that stream
//! inside the append's transaction and upserts the row, so the row never lags or leads its
//! stream; a rebuild runs the same fold over every stream and so gives the same rows.
//!
//! Refolding costs a read of the stream per append. Procedure streams are short (the step list
//! and the journal are kept out of them, DESIGN §9), so this buys a projection that is correct
//! by construction for raw appends as well as for the command handler.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use uuid::Uuid;

use super::error::StoreError;
use super::event::{RecordedEvent, normalize_time, procedure_id_of};
use crate::domain::procedure::{ProcedureEvent, ProcedureState, ProcedureStatus, fold};
use crate::domain::{ActuationKind, HoldCause};

/// One row of the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcedureSummary {
    pub id: Uuid,
    pub name: String,
    pub component_digest: String,
    pub status: ProcedureStatus,
    /// The reason of the last hold, abort or truncate; cleared on resume.
    pub status_reason: Option<String>,
    /// The causes holding the procedure (empty unless Held).
    pub hold_causes: Vec<HoldCause>,
    pub parent_run: Option<Uuid>,
    /// Iterations begun.
    pub iteration_count: u32,
    pub actuation_kind: ActuationKind,
    /// The stream version the row reflects.
    pub version: u64,
    /// Global position of the defining event: the paging key (newest first).
    pub defined_position: u64,
    pub defined_at: OffsetDateTime,
    pub last_changed_at: OffsetDateTime,
}

impl ProcedureSummary {
    /// The row for a folded state. Times are truncated to microseconds, the precision both
    /// databases keep.
    pub fn from_state(state: &ProcedureState, defined_position: u64) -> Self {
        ProcedureSummary {
            id: state.id,
            name: state.name.clone(),
            component_digest: state.component_digest.clone(),
            status: state.status,
            status_reason: state.status_reason.clone(),
            hold_causes: state.hold_claims.iter().collect(),
            parent_run: state.parent_run,
            iteration_count: state.iterations.count,
            actuation_kind: state.actuation_kind,
            version: state.version,
            defined_position,
            defined_at: normalize_time(state.defined_at),
            last_changed_at: normalize_time(state.last_changed_at),
        }
    }
}

/// Folds a whole procedure stream (in version order) into its summary row.
pub fn summarize(events: Vec<RecordedEvent>) -> Result<Option<ProcedureSummary>, StoreError> {
    let Some(first) = events.first() else {
        return Ok(None);
    };
    let stream = first.stream.clone();
    let defined_position = first.position;
    let decoded = events
        .into_iter()
        .map(RecordedEvent::into_decoded::<ProcedureEvent>)
        .collect::<Result<Vec<_>, _>>()?;
    let state = fold(&decoded).map_err(|e| StoreError::CorruptStream {
        stream: stream.clone(),
        reason: e.to_string(),
    })?;
    let Some(state) = state else {
        return Ok(None);
    };
    if procedure_id_of(&stream) != Some(state.id) {
        return Err(StoreError::CorruptStream {
            reason: format!("it defines procedure {}", state.id),
            stream,
        });
    }
    Ok(Some(ProcedureSummary::from_state(&state, defined_position)))
}

/// An opaque keyset cursor: the page continues with procedures defined before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SummaryCursor(u64);

impl SummaryCursor {
    pub fn after(summary: &ProcedureSummary) -> Self {
        SummaryCursor(summary.defined_position)
    }

    pub(crate) fn position(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SummaryCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl FromStr for SummaryCursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('p')
            .and_then(|n| n.parse().ok())
            .map(SummaryCursor)
            .ok_or_else(|| StoreError::InvalidQuery(format!("malformed cursor {s:?}")))
    }
}

/// A listing request: optional filters, a page size and where to continue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryQuery {
    pub status: Option<ProcedureStatus>,
    pub parent_run: Option<Uuid>,
    pub after: Option<SummaryCursor>,
    pub limit: u32,
}

impl SummaryQuery {
    pub const MAX_LIMIT: u32 = 1_000;

    /// The first page of everything, newest first.
    pub fn first(limit: u32) -> Self {
        SummaryQuery {
            status: None,
            parent_run: None,
            after: None,
            limit,
        }
    }

    pub fn with_status(self, status: ProcedureStatus) -> Self {
        SummaryQuery {
            status: Some(status),
            ..self
        }
    }

    pub fn with_parent_run(self, run: Uuid) -> Self {
        SummaryQuery {
            parent_run: Some(run),
            ..self
        }
    }

    pub fn after(self, cursor: Option<SummaryCursor>) -> Self {
        SummaryQuery {
            after: cursor,
            ..self
        }
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.limit == 0 || self.limit > Self::MAX_LIMIT {
            return Err(StoreError::InvalidQuery(format!(
                "page limit must be 1..={}, got {}",
                Self::MAX_LIMIT,
                self.limit
            )));
        }
        Ok(())
    }
}

/// One page of summaries, newest first; `next` is set when more may follow.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryPage {
    pub items: Vec<ProcedureSummary>,
    pub next: Option<SummaryCursor>,
}

impl SummaryPage {
    pub(crate) fn from_rows(items: Vec<ProcedureSummary>, limit: u32) -> Self {
        let next = if items.len() == limit as usize {
            items.last().map(SummaryCursor::after)
        } else {
            None
        };
        SummaryPage { items, next }
    }
}

pub(crate) fn status_str(status: ProcedureStatus) -> &'static str {
    match status {
        ProcedureStatus::Defined => "defined",
        ProcedureStatus::Running => "running",
        ProcedureStatus::Held => "held",
        ProcedureStatus::Completed => "completed",
        ProcedureStatus::Aborted => "aborted",
        ProcedureStatus::Truncated => "truncated",
    }
}

pub(crate) fn parse_status(s: &str) -> Result<ProcedureStatus, StoreError> {
    <ProcedureStatus as strum::VariantArray>::VARIANTS
        .iter()
        .copied()
        .find(|st| status_str(*st) == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown procedure status {s:?}")))
}

pub(crate) fn parse_actuation(s: &str) -> Result<ActuationKind, StoreError> {
    [
        ActuationKind::None,
        ActuationKind::Simulated,
        ActuationKind::Physical,
        ActuationKind::Hybrid,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
    .ok_or_else(|| StoreError::Corrupt(format!("unknown actuation kind {s:?}")))
}

pub(crate) fn causes_json(causes: &[HoldCause]) -> serde_json::Value {
    serde_json::Value::Array(
        causes
            .iter()
            .map(|c| serde_json::Value::String(c.as_str().to_owned()))
            .collect(),
    )
}

pub(crate) fn parse_causes(value: serde_json::Value) -> Result<Vec<HoldCause>, StoreError> {
    serde_json::from_value(value)
        .map_err(|e| StoreError::Corrupt(format!("hold causes do not decode: {e}")))
}

/// Groups events ordered by (stream, version) into streams.
pub(crate) fn by_stream(events: Vec<RecordedEvent>) -> Vec<Vec<RecordedEvent>> {
    let mut streams: Vec<Vec<RecordedEvent>> = Vec::new();
    for event in events {
        match streams.last_mut() {
            Some(current) if current[0].stream == event.stream => current.push(event),
            _ => streams.push(vec![event]),
        }
    }
    streams
}

pub(crate) mod sqlite {
    //! The projection's SQL on SQLite.

    use sqlx::sqlite::SqliteRow;
    use sqlx::{Row, Sqlite, SqliteConnection, Transaction};
    use uuid::Uuid;

    use super::*;
    use crate::store::error::{non_negative, to_db};
    use crate::store::sqlite::event_from_row;

    const COLUMNS: &str = "id, name, component_digest, status, status_reason, hold_causes, \
        parent_run, iteration_count, actuation_kind, version, defined_position, defined_at, \
        last_changed_at";

    async fn stream_events(
        conn: &mut SqliteConnection,
        stream: &str,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, stream, version, position, type, payload, recorded_at FROM events \
             WHERE stream = ? ORDER BY version",
        )
        .bind(stream)
        .fetch_all(conn)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Refolds the procedure stream `recorded` was appended to, if it is one.
    pub(crate) async fn apply(
        tx: &mut Transaction<'static, Sqlite>,
        recorded: &[RecordedEvent],
    ) -> Result<(), StoreError> {
        let Some(first) = recorded.first() else {
            return Ok(());
        };
        if procedure_id_of(&first.stream).is_none() {
            return Ok(());
        }
        let events = stream_events(tx, &first.stream).await?;
        if let Some(summary) = summarize(events)? {
            upsert(tx, &summary).await?;
        }
        Ok(())
    }

    async fn upsert(conn: &mut SqliteConnection, s: &ProcedureSummary) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO procedure_summary (id, name, component_digest, status, status_reason, \
             hold_causes, parent_run, iteration_count, actuation_kind, version, \
             defined_position, defined_at, last_changed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             component_digest = excluded.component_digest, status = excluded.status, \
             status_reason = excluded.status_reason, hold_causes = excluded.hold_causes, \
             parent_run = excluded.parent_run, iteration_count = excluded.iteration_count, \
             actuation_kind = excluded.actuation_kind, version = excluded.version, \
             defined_position = excluded.defined_position, defined_at = excluded.defined_at, \
             last_changed_at = excluded.last_changed_at",
        )
        .bind(s.id.hyphenated().to_string())
        .bind(&s.name)
        .bind(&s.component_digest)
        .bind(status_str(s.status))
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
        .await?;
        Ok(())
    }

    fn from_row(row: &SqliteRow) -> Result<ProcedureSummary, StoreError> {
        let id: String = row.try_get("id")?;
        let parent: Option<String> = row.try_get("parent_run")?;
        let causes: String = row.try_get("hold_causes")?;
        let status: String = row.try_get("status")?;
        let kind: String = row.try_get("actuation_kind")?;
        let count: i64 = row.try_get("iteration_count")?;
        let uuid = |s: &str| {
            Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("summary id {s:?}: {e}")))
        };
        Ok(ProcedureSummary {
            id: uuid(&id)?,
            name: row.try_get("name")?,
            component_digest: row.try_get("component_digest")?,
            status: parse_status(&status)?,
            status_reason: row.try_get("status_reason")?,
            hold_causes: parse_causes(
                serde_json::from_str(&causes)
                    .map_err(|e| StoreError::Corrupt(format!("hold causes: {e}")))?,
            )?,
            parent_run: parent.as_deref().map(uuid).transpose()?,
            iteration_count: u32::try_from(count)
                .map_err(|_| StoreError::Corrupt(format!("iteration count {count}")))?,
            actuation_kind: parse_actuation(&kind)?,
            version: non_negative(row.try_get("version")?, "version")?,
            defined_position: non_negative(row.try_get("defined_position")?, "position")?,
            defined_at: row.try_get("defined_at")?,
            last_changed_at: row.try_get("last_changed_at")?,
        })
    }

    pub(crate) async fn get(
        pool: &sqlx::SqlitePool,
        id: Uuid,
    ) -> Result<Option<ProcedureSummary>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM procedure_summary WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.hyphenated().to_string())
            .fetch_optional(pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn list(
        pool: &sqlx::SqlitePool,
        query: &SummaryQuery,
    ) -> Result<SummaryPage, StoreError> {
        query.validate()?;
        let sql = format!(
            "SELECT {COLUMNS} FROM procedure_summary \
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR parent_run = ?2) \
             AND (?3 IS NULL OR defined_position < ?3) \
             ORDER BY defined_position DESC LIMIT ?4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(query.status.map(status_str))
            .bind(query.parent_run.map(|r| r.hyphenated().to_string()))
            .bind(
                query
                    .after
                    .map(|c| to_db(c.position(), "cursor"))
                    .transpose()?,
            )
            .bind(i64::from(query.limit))
            .fetch_all(pool)
            .await?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(SummaryPage::from_rows(items, query.limit))
    }

    /// Replaces every row with a fresh fold of every procedure stream, in one transaction.
    pub(crate) async fn rebuild(tx: &mut Transaction<'static, Sqlite>) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM procedure_summary")
            .execute(&mut **tx)
            .await?;
        let rows = sqlx::query(
            "SELECT id, stream, version, position, type, payload, recorded_at FROM events \
             WHERE substr(stream, 1, 10) = 'procedure-' ORDER BY stream, version",
        )
        .fetch_all(&mut **tx)
        .await?;
        let events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let mut count: u64 = 0;
        for stream in by_stream(events) {
            if procedure_id_of(&stream[0].stream).is_none() {
                continue;
            }
            if let Some(summary) = summarize(stream)? {
                upsert(tx, &summary).await?;
                count += 1;
            }
        }
        Ok(count)
    }
}

pub(crate) mod postgres {
    //! The projection's SQL on PostgreSQL.

    use serde_json::Value as Json;
    use sqlx::postgres::PgRow;
    use sqlx::types::Json as SqlJson;
    use sqlx::{PgConnection, Postgres, Row, Transaction};
    use uuid::Uuid;

    use super::*;
    use crate::store::error::{non_negative, to_db};
    use crate::store::postgres::event_from_row;

    const COLUMNS: &str = "id, name, component_digest, status, status_reason, hold_causes, \
        parent_run, iteration_count, actuation_kind, version, defined_position, defined_at, \
        last_changed_at";

    async fn stream_events(
        conn: &mut PgConnection,
        stream: &str,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, stream, version, position, type, payload, recorded_at FROM events \
             WHERE stream = $1 ORDER BY version",
        )
        .bind(stream)
        .fetch_all(conn)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Refolds the procedure stream `recorded` was appended to, if it is one.
    pub(crate) async fn apply(
        tx: &mut Transaction<'static, Postgres>,
        recorded: &[RecordedEvent],
    ) -> Result<(), StoreError> {
        let Some(first) = recorded.first() else {
            return Ok(());
        };
        if procedure_id_of(&first.stream).is_none() {
            return Ok(());
        }
        let events = stream_events(tx, &first.stream).await?;
        if let Some(summary) = summarize(events)? {
            upsert(tx, &summary).await?;
        }
        Ok(())
    }

    async fn upsert(conn: &mut PgConnection, s: &ProcedureSummary) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO procedure_summary (id, name, component_digest, status, status_reason, \
             hold_causes, parent_run, iteration_count, actuation_kind, version, \
             defined_position, defined_at, last_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             component_digest = excluded.component_digest, status = excluded.status, \
             status_reason = excluded.status_reason, hold_causes = excluded.hold_causes, \
             parent_run = excluded.parent_run, iteration_count = excluded.iteration_count, \
             actuation_kind = excluded.actuation_kind, version = excluded.version, \
             defined_position = excluded.defined_position, defined_at = excluded.defined_at, \
             last_changed_at = excluded.last_changed_at",
        )
        .bind(s.id)
        .bind(&s.name)
        .bind(&s.component_digest)
        .bind(status_str(s.status))
        .bind(s.status_reason.as_deref())
        .bind(SqlJson(causes_json(&s.hold_causes)))
        .bind(s.parent_run)
        .bind(i32::try_from(s.iteration_count).map_err(|_| {
            StoreError::Corrupt(format!("iteration count {} too large", s.iteration_count))
        })?)
        .bind(s.actuation_kind.as_str())
        .bind(to_db(s.version, "version")?)
        .bind(to_db(s.defined_position, "position")?)
        .bind(s.defined_at)
        .bind(s.last_changed_at)
        .execute(conn)
        .await?;
        Ok(())
    }

    fn from_row(row: &PgRow) -> Result<ProcedureSummary, StoreError> {
        let status: String = row.try_get("status")?;
        let kind: String = row.try_get("actuation_kind")?;
        let count: i32 = row.try_get("iteration_count")?;
        Ok(ProcedureSummary {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            component_digest: row.try_get("component_digest")?,
            status: parse_status(&status)?,
            status_reason: row.try_get("status_reason")?,
            hold_causes: parse_causes(row.try_get::<SqlJson<Json>, _>("hold_causes")?.0)?,
            parent_run: row.try_get("parent_run")?,
            iteration_count: u32::try_from(count)
                .map_err(|_| StoreError::Corrupt(format!("iteration count {count}")))?,
            actuation_kind: parse_actuation(&kind)?,
            version: non_negative(row.try_get("version")?, "version")?,
            defined_position: non_negative(row.try_get("defined_position")?, "position")?,
            defined_at: row.try_get("defined_at")?,
            last_changed_at: row.try_get("last_changed_at")?,
        })
    }

    pub(crate) async fn get(
        pool: &sqlx::PgPool,
        id: Uuid,
    ) -> Result<Option<ProcedureSummary>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM procedure_summary WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn list(
        pool: &sqlx::PgPool,
        query: &SummaryQuery,
    ) -> Result<SummaryPage, StoreError> {
        query.validate()?;
        let sql = format!(
            "SELECT {COLUMNS} FROM procedure_summary \
             WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR parent_run = $2) \
             AND ($3::bigint IS NULL OR defined_position < $3) \
             ORDER BY defined_position DESC LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(query.status.map(status_str))
            .bind(query.parent_run)
            .bind(
                query
                    .after
                    .map(|c| to_db(c.position(), "cursor"))
                    .transpose()?,
            )
            .bind(i64::from(query.limit))
            .fetch_all(pool)
            .await?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(SummaryPage::from_rows(items, query.limit))
    }

    /// Replaces every row with a fresh fold of every procedure stream, in one transaction.
    pub(crate) async fn rebuild(
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM procedure_summary")
            .execute(&mut **tx)
            .await?;
        let rows = sqlx::query(
            "SELECT id, stream, version, position, type, payload, recorded_at FROM events \
             WHERE left(stream, 10) = 'procedure-' ORDER BY stream, version",
        )
        .fetch_all(&mut **tx)
        .await?;
        let events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let mut count: u64 = 0;
        for stream in by_stream(events) {
            if procedure_id_of(&stream[0].stream).is_none() {
                continue;
            }
            if let Some(summary) = summarize(stream)? {
                upsert(tx, &summary).await?;
                count += 1;
            }
        }
        Ok(count)
    }
}
