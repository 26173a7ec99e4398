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

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use super::error::StoreError;

mod dialect;
mod journal;
mod rows;

// The store traits, written once in `crate::store::backend`.
crate::store::backend::store_traits!(SqliteStore);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How hard a commit is pushed to disk before it is acknowledged (see the module doc). Parsed
/// case-insensitively from `normal`, `full`, `extra`; OFF is deliberately not offered (it would
/// lose acknowledged commits on a crash).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum Synchronous {
    #[default]
    Normal,
    Full,
    Extra,
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
        // No ping before each acquire: a local file connection does not go stale, and the ping
        // would be one more round trip to SQLite's worker thread on every journal append.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(options.readers.max(1))
            .connect_with(connect)
            .await?;
        let store = SqliteStore { writer, reader };
        summary::backfill(&store).await?;
        Ok(store)
    }

    /// A private in-memory database, for tests. One connection serves reads and writes (an
    /// in-memory database lives as long as its connection, and is invisible to any other).
    pub async fn memory() -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:")?;
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
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

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        // IMMEDIATE takes the write lock up front, so a read-then-write transaction can never
        // fail to upgrade (another process may share the file).
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}
