//! API tokens, for any [`Backend`](super::Backend).

/// Expands to a module `tokens` implementing [`TokenStore`](crate::store::TokenStore) for the
/// store type `$store` (a [`Backend`](super::Backend) in the invoking module).
macro_rules! tokens {
    ($store:ident) => {
        mod tokens {
            use uuid::Uuid;

            use super::$store as Store;
            use $crate::store::backend::Backend;
            use $crate::store::error::StoreError;
            use $crate::store::event::normalize_time;
            use $crate::store::token::{NewToken, TokenRecord};
            use $crate::store::{TokenStore, rows, sql};

            impl TokenStore for Store {
                async fn put_token(&self, token: &NewToken) -> Result<(), StoreError> {
                    token.validate()?;
                    let scopes = token.scopes_json();
                    sqlx::query(sql::INSERT_TOKEN)
                        .bind(Store::uuid(token.id))
                        .bind(&token.hash)
                        .bind(Store::json(&scopes, "scopes")?)
                        .bind(&token.label)
                        .bind(normalize_time(token.created_at))
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn token_by_hash(
                    &self,
                    hash: &str,
                ) -> Result<Option<TokenRecord>, StoreError> {
                    let row = sqlx::query(sql::TOKEN_BY_HASH)
                        .bind(hash)
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(rows::token).transpose()
                }

                async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
                    let rows = sqlx::query(sql::LIST_TOKENS)
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(rows::token).collect()
                }

                async fn delete_token(&self, id: Uuid) -> Result<bool, StoreError> {
                    let done = sqlx::query(sql::DELETE_TOKEN)
                        .bind(Store::uuid(id))
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        }
    };
}

pub(crate) use tokens;
