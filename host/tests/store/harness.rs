//! Test stores: a file SQLite in a temporary directory (the real WAL setup), a private
//! in-memory SQLite, and PostgreSQL in a schema of its own that is dropped afterwards. Plus the
//! raw SQL each conformance test needs to look into the database behind the store's back.

use std::str::FromStr;

use baton_host::store::{PgOptions, PgStore, SqliteOptions, SqliteStore, Store};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

/// What a conformance test may ask of a backend beyond the store traits: raw SQL, to prove
/// what is really in the tables.
pub trait Backend: Store {
    /// `field` of the payload of `stream`'s first event, extracted by the database's own JSON
    /// operator (`json_extract` / `->>`), as text.
    fn payload_field(
        &self,
        stream: &str,
        field: &str,
    ) -> impl std::future::Future<Output = Option<String>> + Send;

    /// Writes an event row directly, bypassing every check of `append`.
    fn insert_raw_event(
        &self,
        stream: &str,
        version: i64,
        event_type: &str,
        payload: &str,
    ) -> impl std::future::Future<Output = ()> + Send;

    /// Tries to modify stored history in place; the append-only triggers must refuse.
    fn try_update_event(
        &self,
        stream: &str,
    ) -> impl std::future::Future<Output = Result<u64, sqlx::Error>> + Send;
}

impl Backend for SqliteStore {
    async fn payload_field(&self, stream: &str, field: &str) -> Option<String> {
        sqlx::query_scalar(
            "SELECT CAST(json_extract(payload, '$.' || ?) AS TEXT) FROM events \
             WHERE stream = ? ORDER BY version LIMIT 1",
        )
        .bind(field)
        .bind(stream)
        .fetch_one(self.pool())
        .await
        .unwrap()
    }

    async fn insert_raw_event(&self, stream: &str, version: i64, event_type: &str, payload: &str) {
        sqlx::query(
            "INSERT INTO events (id, stream, version, type, payload, recorded_at) \
             VALUES (?, ?, ?, ?, ?, '2026-01-01T00:00:00Z')",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(stream)
        .bind(version)
        .bind(event_type)
        .bind(payload)
        .execute(self.pool())
        .await
        .unwrap();
    }

    async fn try_update_event(&self, stream: &str) -> Result<u64, sqlx::Error> {
        sqlx::query("UPDATE events SET type = 'Tampered' WHERE stream = ?")
            .bind(stream)
            .execute(self.pool())
            .await
            .map(|r| r.rows_affected())
    }
}

impl Backend for PgStore {
    async fn payload_field(&self, stream: &str, field: &str) -> Option<String> {
        sqlx::query_scalar(
            "SELECT payload->>$1 FROM events WHERE stream = $2 ORDER BY version LIMIT 1",
        )
        .bind(field)
        .bind(stream)
        .fetch_one(self.pool())
        .await
        .unwrap()
    }

    async fn insert_raw_event(&self, stream: &str, version: i64, event_type: &str, payload: &str) {
        sqlx::query(
            "INSERT INTO events (id, stream, version, type, payload, recorded_at) \
             VALUES ($1, $2, $3, $4, $5::jsonb, '2026-01-01T00:00:00Z')",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(stream)
        .bind(version)
        .bind(event_type)
        .bind(payload)
        .execute(self.pool())
        .await
        .unwrap();
    }

    async fn try_update_event(&self, stream: &str) -> Result<u64, sqlx::Error> {
        sqlx::query("UPDATE events SET type = 'Tampered' WHERE stream = $1")
            .bind(stream)
            .execute(self.pool())
            .await
            .map(|r| r.rows_affected())
    }
}

/// A file-backed SQLite store in a temporary directory removed on drop.
pub struct SqliteFile {
    pub store: SqliteStore,
    _dir: tempfile::TempDir,
}

pub async fn sqlite_file() -> SqliteFile {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("baton.db"), SqliteOptions::default())
        .await
        .unwrap();
    SqliteFile { store, _dir: dir }
}

pub async fn sqlite_memory() -> SqliteStore {
    SqliteStore::memory().await.unwrap()
}

/// A PostgreSQL store in a fresh schema, dropped (with everything in it) on drop.
pub struct Postgres {
    pub store: PgStore,
    url: String,
    schema: String,
}

const PG_ENV: &str = "BATON_TEST_POSTGRES_URL";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The PostgreSQL store for one test, or `None` (after a loud banner) when no server is
/// configured outside CI. Under `CI=true` a missing or unreachable server fails the test.
pub async fn postgres() -> Option<Postgres> {
    let Ok(url) = std::env::var(PG_ENV) else {
        if in_ci() {
            panic!("{PG_ENV} is not set, and CI=true: the PostgreSQL conformance suite must run");
        }
        static BANNER: std::sync::Once = std::sync::Once::new();
        BANNER.call_once(|| {
            // Straight to the stderr handle: libtest captures `eprintln!`, not this.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n==================== POSTGRESQL SUITE SKIPPED ====================\n\
                 {PG_ENV} is not set, so the postgres::* tests did NOT run against\n\
                 PostgreSQL (they pass vacuously). To run them:\n\
                 export {PG_ENV}=postgres://postgres@127.0.0.1:5432/test\n\
                 =================================================================\n"
            );
        });
        return None;
    };
    let schema = format!("baton_test_{}", uuid::Uuid::new_v4().simple());
    let store = PgStore::connect(
        &url,
        PgOptions {
            schema: Some(schema.clone()),
            max_connections: 8,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("PostgreSQL at {PG_ENV}={url} is unreachable or broken: {e}"));
    Some(Postgres { store, url, schema })
}

impl Postgres {
    /// A second store on the same schema, as another host (or a restarted one) opens it.
    pub async fn reopen(&self) -> PgStore {
        PgStore::connect(
            &self.url,
            PgOptions {
                schema: Some(self.schema.clone()),
                max_connections: 8,
            },
        )
        .await
        .unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.schema.clone();
        // Drop runs outside async; a short-lived runtime on its own thread does the cleanup.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let options = sqlx::postgres::PgConnectOptions::from_str(&url)?;
                let mut conn = PgConnection::connect_with(&options).await?;
                conn.execute(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test schema {}", self.schema);
        }
    }
}
