//! Uploaded components on PostgreSQL.

use sqlx::types::Json as SqlJson;

use super::PgStore;
use crate::store::component::{Component, ComponentMeta, NewComponent};
use crate::store::error::{StoreError, non_negative};
use crate::store::event::normalize_time;
use crate::store::rows::{self, Columns};
use crate::store::{ComponentStore, sql};

impl ComponentStore for PgStore {
    async fn put_component(&self, component: &NewComponent) -> Result<bool, StoreError> {
        component.validate()?;
        let done = sqlx::query(sql::INSERT_COMPONENT)
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

    async fn component(&self, digest: &str) -> Result<Option<Component>, StoreError> {
        let row = sqlx::query(sql::COMPONENT)
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Component {
                meta: rows::component_meta(&row)?,
                wasm: row.bytes("wasm")?,
            })
        })
        .transpose()
    }

    async fn list_components(&self) -> Result<Vec<ComponentMeta>, StoreError> {
        let rows = sqlx::query(sql::LIST_COMPONENTS)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::component_meta).collect()
    }

    async fn delete_component(&self, digest: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Lock the component row first, so a concurrent delete of the same digest waits.
        sqlx::query("SELECT 1 FROM components WHERE digest = $1 FOR UPDATE")
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await?;
        let users: i64 = sqlx::query_scalar(sql::COMPONENT_USERS)
            .bind(digest)
            .fetch_one(&mut *tx)
            .await?;
        if users > 0 {
            return Err(StoreError::ComponentInUse {
                digest: digest.to_owned(),
                procedures: non_negative(users, "count")?,
            });
        }
        let done = sqlx::query(sql::DELETE_COMPONENT)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
