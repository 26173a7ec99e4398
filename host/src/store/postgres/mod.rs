//! The PostgreSQL store: several hosts share one database. Appends serialize on a
//! transaction-level advisory lock, so global positions become visible in commit order (a
//! reader of `position > n` never misses an event that commits later with a smaller position);
//! journal appends serialize per procedure only. PostgreSQL's own durability applies: an
//! acknowledged commit is in the WAL and fsynced (with the server's default `fsync` and
//! `synchronous_commit`).

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection};

use super::error::StoreError;

mod dialect;
mod journal;
mod rows;

// The store traits, written once in `crate::store::backend`.
crate::store::backend::store_traits!(PgStore);

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
        let store = PgStore { pool };
        summary::backfill(&store).await?;
        Ok(store)
    }

    /// The pool, for raw SQL in tests and tools. Writes through it bypass every rule the store
    /// keeps.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
