//! The SQLite store: the embedded default. One file in WAL mode, one writer connection (SQLite
//! admits one writer at a time anyway; a single connection means no `SQLITE_BUSY` between our
//! own writers, and commit order equals position order) and a small pool of readers, which WAL
//! lets run beside the writer.
//!
//! Durability, by `synchronous` level (WAL mode):
//! - `Normal` (default): a commit is in the WAL file (the OS page cache) before it is
//!   acknowledged, so a killed process loses nothing it acknowledged. A power loss or kernel
//!   crash may lose the last transactions before the next checkpoint; the database stays
//!   consistent. This is SQLite's recommended setting for WAL and what makes a journal append
//!   cost microseconds rather than an fsync.
//! - `Full`: every commit also fsyncs the WAL: acknowledged commits survive power loss, at the
//!   price of one fsync per commit.
//! - `Extra`: `Full` plus an fsync of the directory on WAL reset.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde_json::Value as Json;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::component::{Component, ComponentMeta, NewComponent};
use super::error::{StoreError, non_negative, to_db};
use super::event::{AppendRequest, PinnedSteps, RecordedEvent, normalize_time, now};
use super::journal::{
    JournalAppended, JournalEntry, JournalPage, JournalRecord, StepResult, step_kind_from_str,
};
use super::projection::{ProcedureSummary, SummaryPage, SummaryQuery};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How hard a commit is pushed to disk before it is acknowledged (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    #[default]
    Normal,
    Full,
    Extra,
}

impl FromStr for Synchronous {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Ok(Synchronous::Normal),
            "full" => Ok(Synchronous::Full),
            "extra" => Ok(Synchronous::Extra),
            other => Err(format!(
                "unknown synchronous level {other:?} (normal, full, extra)"
            )),
        }
    }
}

impl Synchronous {
    fn to_sqlx(self) -> SqliteSynchronous {
        match self {
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Full => SqliteSynchronous::Full,
            Synchronous::Extra => SqliteSynchronous::Extra,
        }
    }
}

/// Options of a file-backed SQLite store.
#[derive(Clone, Copy, Debug)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
    /// Reader connections beside the one writer.
    pub readers: u32,
    /// How long a writer waits for another process holding the write lock.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Normal,
            readers: 4,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The SQLite event store. Cheap to clone (the pools are shared).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and runs the migrations.
    pub async fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Self::open_with(connect, options).await
    }

    /// Opens a database from sqlx connect options (file databases; see [`Self::memory`]).
    pub(crate) async fn open_with(
        connect: SqliteConnectOptions,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        let connect = connect
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(options.synchronous.to_sqlx())
            .busy_timeout(options.busy_timeout);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.readers.max(1))
            .connect_with(connect)
            .await?;
        Ok(SqliteStore { writer, reader })
    }

    /// A private in-memory database, for tests. One connection serves reads and writes (an
    /// in-memory database lives as long as its connection, and is invisible to any other).
    pub async fn memory() -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:")?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore {
            writer: pool.clone(),
            reader: pool,
        })
    }

    /// The writer pool, for raw SQL in tests and tools. Writes through it bypass every rule the
    /// store keeps.
    pub fn pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// Closes both pools, waiting for connections to finish.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        // IMMEDIATE takes the write lock up front, so a read-then-write transaction can never
        // fail to upgrade (another process may share the file).
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    // ---- events ----------------------------------------------------------------------------

    pub(crate) async fn append_in(
        tx: &mut Transaction<'static, Sqlite>,
        request: &AppendRequest<'_>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        request.validate()?;
        let actual: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?")
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
                "INSERT INTO pinned_steps (hash, step_count, steps, pinned_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (hash) DO NOTHING",
            )
            .bind(pin.hash())
            .bind(to_db(pin.len() as u64, "step count")?)
            .bind(pin.json())
            .bind(recorded_at)
            .execute(&mut **tx)
            .await?;
        }
        let mut recorded = Vec::with_capacity(request.events.len());
        for (offset, event) in request.events.iter().enumerate() {
            let version = actual + 1 + offset as u64;
            let payload = serde_json::to_string(&event.payload)
                .map_err(|e| StoreError::Corrupt(format!("payload does not serialize: {e}")))?;
            let position: i64 = sqlx::query_scalar(
                "INSERT INTO events (id, stream, version, type, payload, recorded_at) \
                 VALUES (?, ?, ?, ?, ?, ?) RETURNING position",
            )
            .bind(event.id.hyphenated().to_string())
            .bind(request.stream)
            .bind(to_db(version, "version")?)
            .bind(&event.event_type)
            .bind(payload)
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
        super::projection::sqlite::apply(&mut tx, &recorded).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    pub(crate) async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, stream, version, position, type, payload, recorded_at FROM events \
             WHERE stream = ? ORDER BY version",
        )
        .bind(stream)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    pub(crate) async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        let version: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?")
                .bind(stream)
                .fetch_one(&self.reader)
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
             WHERE position > ? ORDER BY position LIMIT ?",
        )
        .bind(to_db(after_position, "position")?)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    pub(crate) async fn pinned_steps(&self, hash: &str) -> Result<Option<PinnedSteps>, StoreError> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT steps FROM pinned_steps WHERE hash = ?")
                .bind(hash)
                .fetch_optional(&self.reader)
                .await?;
        json.map(|json| PinnedSteps::from_stored(hash, json))
            .transpose()
    }

    // ---- summary projection ----------------------------------------------------------------

    pub(crate) async fn procedure_summary(
        &self,
        id: Uuid,
    ) -> Result<Option<ProcedureSummary>, StoreError> {
        super::projection::sqlite::get(self.reader(), id).await
    }

    pub(crate) async fn list_procedures(
        &self,
        query: &SummaryQuery,
    ) -> Result<SummaryPage, StoreError> {
        super::projection::sqlite::list(self.reader(), query).await
    }

    pub(crate) async fn rebuild_summaries(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;

        let count = super::projection::sqlite::rebuild(&mut tx).await?;
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
        match entries {
            [] => Ok(Vec::new()),
            // The conductor's hot path: one statement, committed on its own (SQLite makes a
            // single statement atomic), so one round trip to the database thread, not three.
            [entry] => {
                let mut conn = self.writer.acquire().await?;
                Ok(vec![Self::insert_entry(&mut conn, entry).await?])
            }
            _ => {
                let mut tx = self.begin_write().await?;
                let mut out = Vec::with_capacity(entries.len());
                for entry in entries {
                    out.push(Self::insert_entry(&mut tx, entry).await?);
                }
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    async fn insert_entry(
        conn: &mut SqliteConnection,
        entry: &JournalEntry,
    ) -> Result<JournalAppended, StoreError> {
        let procedure = entry.procedure_id.hyphenated().to_string();
        let detail = serde_json::to_string(&entry.detail)
            .map_err(|e| StoreError::Corrupt(format!("detail does not serialize: {e}")))?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO step_journal (id, procedure_id, sequence, step_index, step_kind, \
             result, failure_class, message, detail, at) VALUES (?, ?, \
             (SELECT COALESCE(MAX(sequence), 0) + 1 FROM step_journal WHERE procedure_id = ?), \
             ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING sequence",
        )
        .bind(entry.id.hyphenated().to_string())
        .bind(&procedure)
        .bind(&procedure)
        .bind(i64::from(entry.step_index))
        .bind(entry.step_kind.as_str())
        .bind(entry.result.as_str())
        .bind(entry.result.failure_class().map(|c| c.as_str()))
        .bind(entry.message.as_deref())
        .bind(detail)
        .bind(normalize_time(entry.at))
        .fetch_optional(&mut *conn)
        .await?;
        let appended = match inserted {
            Some(sequence) => JournalAppended {
                id: entry.id,
                sequence: non_negative(sequence, "sequence")?,
                inserted: true,
            },
            None => {
                let row =
                    sqlx::query("SELECT procedure_id, sequence FROM step_journal WHERE id = ?")
                        .bind(entry.id.hyphenated().to_string())
                        .fetch_one(&mut *conn)
                        .await?;
                let owner: String = row.try_get("procedure_id")?;
                if owner != procedure {
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
        Ok(appended)
    }

    pub(crate) async fn journal(
        &self,
        procedure: Uuid,
        page: JournalPage,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        page.validate()?;
        let rows = sqlx::query(
            "SELECT id, procedure_id, sequence, step_index, step_kind, result, failure_class, \
             message, detail, at FROM step_journal WHERE procedure_id = ? AND sequence > ? \
             ORDER BY sequence LIMIT ?",
        )
        .bind(procedure.hyphenated().to_string())
        .bind(to_db(page.after, "sequence")?)
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(journal_from_row).collect()
    }

    pub(crate) async fn interrupted_step(
        &self,
        procedure: Uuid,
    ) -> Result<Option<JournalRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, procedure_id, sequence, step_index, step_kind, result, failure_class, \
             message, detail, at FROM (SELECT * FROM step_journal WHERE procedure_id = ? \
             AND result = 'in_flight' ORDER BY sequence DESC LIMIT 1) j \
             WHERE NOT EXISTS (SELECT 1 FROM step_journal o WHERE o.procedure_id = j.procedure_id \
             AND o.sequence > j.sequence AND o.step_index = j.step_index \
             AND o.result <> 'in_flight')",
        )
        .bind(procedure.hyphenated().to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(journal_from_row).transpose()
    }

    pub(crate) async fn completed_steps(&self, procedure: Uuid) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT step_index) FROM step_journal \
             WHERE procedure_id = ? AND result = 'ok'",
        )
        .bind(procedure.hyphenated().to_string())
        .fetch_one(&self.reader)
        .await?;
        non_negative(count, "count")
    }

    // ---- components ------------------------------------------------------------------------

    pub(crate) async fn put_component(&self, component: &NewComponent) -> Result<bool, StoreError> {
        component.validate()?;
        let info = serde_json::to_string(&component.info)
            .map_err(|e| StoreError::Corrupt(format!("info does not serialize: {e}")))?;
        let done = sqlx::query(
            "INSERT INTO components (digest, wasm, name, version, info, uploaded_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(&component.digest)
        .bind(&component.wasm)
        .bind(&component.name)
        .bind(&component.version)
        .bind(info)
        .bind(normalize_time(component.uploaded_at))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn component(&self, digest: &str) -> Result<Option<Component>, StoreError> {
        let row = sqlx::query(
            "SELECT digest, name, version, info, length(wasm) AS size, uploaded_at, wasm \
             FROM components WHERE digest = ?",
        )
        .bind(digest)
        .fetch_optional(&self.reader)
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
            "SELECT digest, name, version, info, length(wasm) AS size, uploaded_at \
             FROM components ORDER BY name, version, digest",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(component_meta_from_row).collect()
    }

    pub(crate) async fn delete_component(&self, digest: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let users: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM procedure_summary WHERE component_digest = ?")
                .bind(digest)
                .fetch_one(&mut *tx)
                .await?;
        if users > 0 {
            return Err(StoreError::ComponentInUse {
                digest: digest.to_owned(),
                procedures: non_negative(users, "count")?,
            });
        }
        let done = sqlx::query("DELETE FROM components WHERE digest = ?")
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}

fn parse_uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("{what} {text:?}: {e}")))
}

fn parse_json(text: &str, what: &str) -> Result<Json, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn event_from_row(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let id: String = row.try_get("id")?;
    let payload: String = row.try_get("payload")?;
    Ok(RecordedEvent {
        id: parse_uuid(&id, "event id")?,
        stream: row.try_get("stream")?,
        version: non_negative(row.try_get("version")?, "version")?,
        position: non_negative(row.try_get("position")?, "position")?,
        event_type: row.try_get("type")?,
        payload: parse_json(&payload, "event payload")?,
        recorded_at: row.try_get::<OffsetDateTime, _>("recorded_at")?,
    })
}

fn journal_from_row(row: &SqliteRow) -> Result<JournalRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let procedure: String = row.try_get("procedure_id")?;
    let step_index: i64 = row.try_get("step_index")?;
    let kind: String = row.try_get("step_kind")?;
    let result: String = row.try_get("result")?;
    let class: Option<String> = row.try_get("failure_class")?;
    let detail: String = row.try_get("detail")?;
    Ok(JournalRecord {
        sequence: non_negative(row.try_get("sequence")?, "sequence")?,
        entry: JournalEntry {
            id: parse_uuid(&id, "journal entry id")?,
            procedure_id: parse_uuid(&procedure, "procedure id")?,
            step_index: u32::try_from(step_index)
                .map_err(|_| StoreError::Corrupt(format!("step index {step_index}")))?,
            step_kind: step_kind_from_str(&kind)?,
            result: StepResult::from_columns(&result, class.as_deref())?,
            message: row.try_get("message")?,
            detail: parse_json(&detail, "journal detail")?,
            at: row.try_get("at")?,
        },
    })
}

fn component_meta_from_row(row: &SqliteRow) -> Result<ComponentMeta, StoreError> {
    let info: String = row.try_get("info")?;
    Ok(ComponentMeta {
        digest: row.try_get("digest")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        info: parse_json(&info, "component info")?,
        size: non_negative(row.try_get("size")?, "size")?,
        uploaded_at: row.try_get("uploaded_at")?,
    })
}
