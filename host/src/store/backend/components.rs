//! Uploaded components, for any [`Backend`](super::Backend).

/// Expands to a module `components` implementing
/// [`ComponentStore`](crate::store::ComponentStore) for the store type `$store` (a
/// [`Backend`](super::Backend) in the invoking module).
macro_rules! components {
    ($store:ident) => {
        mod components {
            use super::$store as Store;
            use $crate::store::backend::Backend;
            use $crate::store::component::{Component, ComponentMeta, NewComponent};
            use $crate::store::error::{StoreError, non_negative};
            use $crate::store::event::normalize_time;
            use $crate::store::rows::{self, Columns};
            use $crate::store::{ComponentStore, sql};

            impl ComponentStore for Store {
                async fn put_component(
                    &self,
                    component: &NewComponent,
                ) -> Result<bool, StoreError> {
                    component.validate()?;
                    let done = sqlx::query(sql::INSERT_COMPONENT)
                        .bind(&component.digest)
                        .bind(&component.wasm)
                        .bind(&component.name)
                        .bind(&component.version)
                        .bind(Store::json(&component.info, "info")?)
                        .bind(normalize_time(component.uploaded_at))
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn component(&self, digest: &str) -> Result<Option<Component>, StoreError> {
                    let row = sqlx::query(sql::COMPONENT)
                        .bind(digest)
                        .fetch_optional(self.reader())
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
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(rows::component_meta).collect()
                }

                async fn delete_component(&self, digest: &str) -> Result<bool, StoreError> {
                    // No procedure can be defined on the component between the count and the
                    // delete (see `begin_component_delete`).
                    let mut tx = self.begin_component_delete(digest).await?;
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
        }
    };
}

pub(crate) use components;
