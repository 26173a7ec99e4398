//! The PostgreSQL store: several hosts share one database. Appends serialize on a
//! transaction-level advisory lock, so global positions become visible in commit order (a
//! reader of `position > n` never misses an event that commits later with a smaller position);
//! journal appends serialize per procedure only. PostgreSQL's own durability applies: an
//! acknowledged commit is in the WAL and fsynced (with the server's default `fsync` and
//! `synchronous_commit`).

use std::str::FromStr;

use serde_json::Value as Json;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json as SqlJson;
use sqlx::{AssertSqlSafe, Connection, Postgres, Row, Transaction};
use uuid::Uuid;

use super::component::{Component, ComponentMeta, NewComponent};
use super::error::{StoreError, non_negative, to_db};
use super::event::{AppendRequest, PinnedSteps, RecordedEvent, normalize_time, now};
use super::journal::{
    JournalAppended, JournalEntry, JournalPage, JournalRecord, StepResult, step_kind_from_str,
};
use super::projection::{ProcedureSummary, SummaryPage, SummaryQuery};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Advisory-lock keys (class, object): appends to the event log, and journal appends of one
/// procedure (object = hash of its id).
const EVENTS_LOCK: (i32, i32) = (0x6261_746f, 1);
const JOURNAL_LOCK_CLASS: i32 = 0x6261_746f + 1;

/// Options of a PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Schema holding the tables (created if missing); `None` uses the server's search_path.
    pub schema: Option<String>,
    pub max_connections: u32,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            schema: None,
            max_connections: 10,
        }
    }
}

/// The PostgreSQL event store. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

/// A schema name we are willing to splice into SQL: lowercase letters, digits, underscores.
fn check_schema(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidUrl {
            url: schema.to_owned(),
            reason: "a schema name is [a-z_][a-z0-9_]{0,62}".into(),
        })
    }
}

impl PgStore {
    /// Connects, creates the schema if one is named, and runs the migrations.
    pub async fn connect(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let mut connect = PgConnectOptions::from_str(url)?;
        if let Some(schema) = &options.schema {
            check_schema(schema)?;
            let mut admin = PgConnection::connect_with(&connect).await?;
            sqlx::query(AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&mut admin)
            .await?;
            admin.close().await?;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// The pool, for raw SQL in tests and tools. Writes through it bypass every rule the store
    /// keeps.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    pub(crate) fn reader(&self) -> &PgPool {
        &self.pool
    }

    // ---- events ----------------------------------------------------------------------------

    pub(crate) async fn append_in(
        tx: &mut Transaction<'static, Postgres>,
        request: &AppendRequest<'_>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        request.validate()?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(EVENTS_LOCK.0)
            .bind(EVENTS_LOCK.1)
            .execute(&mut **tx)
            .await?;
        let actual: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = $1")
                .bind(request.stream)
                .fetch_one(&mut **tx)
                .await?;
        let actual = non_negative(actual, "stream version")?;
        if actual != request.expected_version {
            return Err(StoreError::Conflict {
                stream: request.stream.to_owned(),
                expected: request.expected_version,
                actual,
            });
        }
        let recorded_at = now();
        for pin in request.pins {
            sqlx::query(
                "INSERT INTO pinned_steps (hash, step_count, steps, pinned_at) \
                 VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (hash) DO NOTHING",
            )
            .bind(pin.hash())
            .bind(i32::try_from(pin.len()).map_err(|_| {
                StoreError::InvalidQuery(format!("{} steps is too many to pin", pin.len()))
            })?)
            .bind(pin.json())
            .bind(recorded_at)
            .execute(&mut **tx)
            .await?;
        }
        let mut recorded = Vec::with_capacity(request.events.len());
        for (offset, event) in request.events.iter().enumerate() {
            let version = actual + 1 + offset as u64;
            let position: i64 = sqlx::query_scalar(
                "INSERT INTO events (id, stream, version, type, payload, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING position",
            )
            .bind(event.id)
            .bind(request.stream)
            .bind(to_db(version, "version")?)
            .bind(&event.event_type)
            .bind(SqlJson(&event.payload))
            .bind(recorded_at)
            .fetch_one(&mut **tx)
            .await?;
            recorded.push(RecordedEvent {
                id: event.id,
                stream: request.stream.to_owned(),
                version,
                position: non_negative(position, "position")?,
                event_type: event.event_type.clone(),
                payload: event.payload.clone(),
                recorded_at,
            });
        }
        Ok(recorded)
    }

    pub(crate) async fn append(
        &self,
        request: AppendRequest<'_>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        request.validate()?;
        let mut tx = self.begin_write().await?;
        let recorded = Self::append_in(&mut tx, &request).await?;
        super::projection::postgres::apply(&mut tx, &recorded).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    pub(crate) async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, stream, version, position, type, payload, recorded_at FROM events \
             WHERE stream = $1 ORDER BY version",
        )
        .bind(stream)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    pub(crate) async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        let version: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = $1")
                .bind(stream)
                .fetch_one(&self.pool)
                .await?;
        non_negative(version, "stream version")
    }

    pub(crate) async fn read_all(
        &self,
        after_position: u64,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, stream, version, position, type, payload, recorded_at FROM events \
             WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind(to_db(after_position, "position")?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    pub(crate) async fn pinned_steps(&self, hash: &str) -> Result<Option<PinnedSteps>, StoreError> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT steps::text FROM pinned_steps WHERE hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
        json.map(|json| PinnedSteps::from_stored(hash, json))
            .transpose()
    }

    // ---- summary projection ----------------------------------------------------------------

    pub(crate) async fn procedure_summary(
        &self,
        id: Uuid,
    ) -> Result<Option<ProcedureSummary>, StoreError> {
        super::projection::postgres::get(self.reader(), id).await
    }

    pub(crate) async fn list_procedures(
        &self,
        query: &SummaryQuery,
    ) -> Result<SummaryPage, StoreError> {
        super::projection::postgres::list(self.reader(), query).await
    }

    pub(crate) async fn rebuild_summaries(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        // Appends wait, so no append's projection update interleaves with the rebuild.
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(EVENTS_LOCK.0)
            .bind(EVENTS_LOCK.1)
            .execute(&mut *tx)
            .await?;
        let count = super::projection::postgres::rebuild(&mut tx).await?;
        tx.commit().await?;
        Ok(count)
    }

    // ---- journal ---------------------------------------------------------------------------

    pub(crate) async fn append_journal(
        &self,
        entries: &[JournalEntry],
    ) -> Result<Vec<JournalAppended>, StoreError> {
        for entry in entries {
            entry.validate()?;
        }
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
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
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO step_journal (id, procedure_id, sequence, step_index, step_kind, \
                 result, failure_class, message, detail, at) VALUES ($1, $2, \
                 (SELECT COALESCE(MAX(sequence), 0) + 1 FROM step_journal WHERE procedure_id = $2), \
                 $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING RETURNING sequence",
            )
            .bind(entry.id)
            .bind(entry.procedure_id)
            .bind(i32::try_from(entry.step_index).map_err(|_| StoreError::InvalidJournalEntry {
                id: entry.id,
                reason: format!("step index {} out of range", entry.step_index),
            })?)
            .bind(entry.step_kind.as_str())
            .bind(entry.result.as_str())
            .bind(entry.result.failure_class().map(|c| c.as_str()))
            .bind(entry.message.as_deref())
            .bind(SqlJson(&entry.detail))
            .bind(normalize_time(entry.at))
            .fetch_optional(&mut *tx)
            .await?;
            let appended = match inserted {
                Some(sequence) => JournalAppended {
                    id: entry.id,
                    sequence: non_negative(sequence, "sequence")?,
                    inserted: true,
                },
                None => {
                    let row = sqlx::query(
                        "SELECT procedure_id, sequence FROM step_journal WHERE id = $1",
                    )
                    .bind(entry.id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let owner: Uuid = row.try_get("procedure_id")?;
                    if owner != entry.procedure_id {
                        return Err(StoreError::InvalidJournalEntry {
                            id: entry.id,
                            reason: format!("the id is already used by procedure {owner}"),
                        });
                    }
                    JournalAppended {
                        id: entry.id,
                        sequence: non_negative(row.try_get("sequence")?, "sequence")?,
                        inserted: false,
                    }
                }
            };
            out.push(appended);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub(crate) async fn journal(
        &self,
        procedure: Uuid,
        page: JournalPage,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        page.validate()?;
        let rows = sqlx::query(
            "SELECT id, procedure_id, sequence, step_index, step_kind, result, failure_class, \
             message, detail, at FROM step_journal WHERE procedure_id = $1 AND sequence > $2 \
             ORDER BY sequence LIMIT $3",
        )
        .bind(procedure)
        .bind(to_db(page.after, "sequence")?)
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(journal_from_row).collect()
    }

    pub(crate) async fn interrupted_step(
        &self,
        procedure: Uuid,
    ) -> Result<Option<JournalRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, procedure_id, sequence, step_index, step_kind, result, failure_class, \
             message, detail, at FROM (SELECT * FROM step_journal WHERE procedure_id = $1 \
             AND result = 'in_flight' ORDER BY sequence DESC LIMIT 1) j \
             WHERE NOT EXISTS (SELECT 1 FROM step_journal o WHERE o.procedure_id = j.procedure_id \
             AND o.sequence > j.sequence AND o.step_index = j.step_index \
             AND o.result <> 'in_flight')",
        )
        .bind(procedure)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(journal_from_row).transpose()
    }

    pub(crate) async fn completed_steps(&self, procedure: Uuid) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT step_index) FROM step_journal \
             WHERE procedure_id = $1 AND result = 'ok'",
        )
        .bind(procedure)
        .fetch_one(&self.pool)
        .await?;
        non_negative(count, "count")
    }

    // ---- components ------------------------------------------------------------------------

    pub(crate) async fn put_component(&self, component: &NewComponent) -> Result<bool, StoreError> {
        component.validate()?;
        let done = sqlx::query(
            "INSERT INTO components (digest, wasm, name, version, info, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(&component.digest)
        .bind(&component.wasm)
        .bind(&component.name)
        .bind(&component.version)
        .bind(SqlJson(&component.info))
        .bind(normalize_time(component.uploaded_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn component(&self, digest: &str) -> Result<Option<Component>, StoreError> {
        let row = sqlx::query(
            "SELECT digest, name, version, info, octet_length(wasm)::bigint AS size, uploaded_at, \
             wasm FROM components WHERE digest = $1",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Component {
                meta: component_meta_from_row(&row)?,
                wasm: row.try_get("wasm")?,
            })
        })
        .transpose()
    }

    pub(crate) async fn list_components(&self) -> Result<Vec<ComponentMeta>, StoreError> {
        let rows = sqlx::query(
            "SELECT digest, name, version, info, octet_length(wasm)::bigint AS size, uploaded_at \
             FROM components ORDER BY name, version, digest",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(component_meta_from_row).collect()
    }

    pub(crate) async fn delete_component(&self, digest: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Lock the component row first, so a concurrent delete of the same digest waits.
        sqlx::query("SELECT 1 FROM components WHERE digest = $1 FOR UPDATE")
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await?;
        let users: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM procedure_summary WHERE component_digest = $1",
        )
        .bind(digest)
        .fetch_one(&mut *tx)
        .await?;
        if users > 0 {
            return Err(StoreError::ComponentInUse {
                digest: digest.to_owned(),
                procedures: non_negative(users, "count")?,
            });
        }
        let done = sqlx::query("DELETE FROM components WHERE digest = $1")
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}

pub(crate) fn event_from_row(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    Ok(RecordedEvent {
        id: row.try_get("id")?,
        stream: row.try_get("stream")?,
        version: non_negative(row.try_get("version")?, "version")?,
        position: non_negative(row.try_get("position")?, "position")?,
        event_type: row.try_get("type")?,
        payload: row.try_get::<SqlJson<Json>, _>("payload")?.0,
        recorded_at: row.try_get("recorded_at")?,
    })
}

fn journal_from_row(row: &PgRow) -> Result<JournalRecord, StoreError> {
    let step_index: i32 = row.try_get("step_index")?;
    let kind: String = row.try_get("step_kind")?;
    let result: String = row.try_get("result")?;
    let class: Option<String> = row.try_get("failure_class")?;
    Ok(JournalRecord {
        sequence: non_negative(row.try_get("sequence")?, "sequence")?,
        entry: JournalEntry {
            id: row.try_get("id")?,
            procedure_id: row.try_get("procedure_id")?,
            step_index: u32::try_from(step_index)
                .map_err(|_| StoreError::Corrupt(format!("step index {step_index}")))?,
            step_kind: step_kind_from_str(&kind)?,
            result: StepResult::from_columns(&result, class.as_deref())?,
            message: row.try_get("message")?,
            detail: row.try_get::<SqlJson<Json>, _>("detail")?.0,
            at: row.try_get("at")?,
        },
    })
}

fn component_meta_from_row(row: &PgRow) -> Result<ComponentMeta, StoreError> {
    Ok(ComponentMeta {
        digest: row.try_get("digest")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        info: row.try_get::<SqlJson<Json>, _>("info")?.0,
        size: non_negative(row.try_get("size")?, "size")?,
        uploaded_at: row.try_get("uploaded_at")?,
    })
}
