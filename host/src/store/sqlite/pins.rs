//! Pinned step lists on SQLite: the canonical JSON text, stored as written.

use sqlx::{Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;

use crate::store::error::{StoreError, to_db};
use crate::store::event::PinnedSteps;

/// Writes a pin unless its hash is already there (pins are append-only and content-addressed).
pub(super) async fn write(
    tx: &mut Transaction<'static, Sqlite>,
    pin: &PinnedSteps,
    pinned_at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pinned_steps (hash, step_count, steps, pinned_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(pin.hash())
    .bind(to_db(pin.len() as u64, "step count")?)
    .bind(pin.json())
    .bind(pinned_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn read(pool: &SqlitePool, hash: &str) -> Result<Option<PinnedSteps>, StoreError> {
    let json: Option<String> = sqlx::query_scalar("SELECT steps FROM pinned_steps WHERE hash = $1")
        .bind(hash)
        .fetch_optional(pool)
        .await?;
    json.map(|json| PinnedSteps::from_stored(hash, json))
        .transpose()
}
