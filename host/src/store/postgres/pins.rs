//! Pinned step lists on PostgreSQL: `jsonb`, read back as text and re-hashed on the way out.

use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;

use crate::store::error::StoreError;
use crate::store::event::PinnedSteps;

/// Writes a pin unless its hash is already there (pins are append-only and content-addressed).
pub(super) async fn write(
    tx: &mut Transaction<'static, Postgres>,
    pin: &PinnedSteps,
    pinned_at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pinned_steps (hash, step_count, steps, pinned_at) \
         VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (hash) DO NOTHING",
    )
    .bind(pin.hash())
    .bind(
        i32::try_from(pin.len()).map_err(|_| {
            StoreError::InvalidQuery(format!("{} steps is too many to pin", pin.len()))
        })?,
    )
    .bind(pin.json())
    .bind(pinned_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn read(pool: &PgPool, hash: &str) -> Result<Option<PinnedSteps>, StoreError> {
    let json: Option<String> =
        sqlx::query_scalar("SELECT steps::text FROM pinned_steps WHERE hash = $1")
            .bind(hash)
            .fetch_optional(pool)
            .await?;
    json.map(|json| PinnedSteps::from_stored(hash, json))
        .transpose()
}
