//! API bearer tokens, stored by the sha256 of the secret (never the secret itself), with their
//! scope names. What a scope allows is the API's business; the store only keeps the names.

use std::future::Future;

use serde_json::Value as Json;
use sqlx::Row;
use sqlx::types::Json as SqlJson;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::StoreError;
use super::event::normalize_time;
use super::{AnyStore, PgStore, SqliteStore};

/// A token to store: the hash of its secret, never the secret.
#[derive(Clone, Debug, PartialEq)]
pub struct NewToken {
    pub id: Uuid,
    /// sha256 of the token as the client sends it, lowercase hex.
    pub hash: String,
    pub scopes: Vec<String>,
    /// What the token is for (free text, may be empty).
    pub label: String,
    pub created_at: OffsetDateTime,
}

/// A stored token (without any secret).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenRecord {
    pub id: Uuid,
    pub scopes: Vec<String>,
    pub label: String,
    pub created_at: OffsetDateTime,
}

impl NewToken {
    fn validate(&self) -> Result<(), StoreError> {
        let hex = self.hash.len() == 64
            && self
                .hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(StoreError::InvalidQuery(
                "a token hash is 64 lowercase hex digits".into(),
            ));
        }
        Ok(())
    }

    fn scopes_json(&self) -> Json {
        Json::Array(self.scopes.iter().cloned().map(Json::String).collect())
    }
}

fn scopes_from_json(json: Json) -> Result<Vec<String>, StoreError> {
    let Json::Array(items) = json else {
        return Err(StoreError::Corrupt("token scopes are not an array".into()));
    };
    items
        .into_iter()
        .map(|item| match item {
            Json::String(s) => Ok(s),
            other => Err(StoreError::Corrupt(format!(
                "token scope is not a string: {other}"
            ))),
        })
        .collect()
}

/// API tokens by hash.
pub trait TokenStore: Clone + Send + Sync + 'static {
    /// Stores a new token; a duplicate id or hash is refused by the database.
    fn put_token(&self, token: &NewToken) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The token whose secret hashes to `hash`, if any.
    fn token_by_hash(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;

    /// Every token, oldest first.
    fn list_tokens(&self) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    /// Revokes a token; false if there was none.
    fn delete_token(&self, id: Uuid) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl TokenStore for SqliteStore {
    async fn put_token(&self, token: &NewToken) -> Result<(), StoreError> {
        token.validate()?;
        sqlx::query(
            "INSERT INTO api_tokens (id, hash, scopes, label, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(token.id.hyphenated().to_string())
        .bind(&token.hash)
        .bind(token.scopes_json().to_string())
        .bind(&token.label)
        .bind(normalize_time(token.created_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row =
            sqlx::query("SELECT id, scopes, label, created_at FROM api_tokens WHERE hash = ?")
                .bind(hash)
                .fetch_optional(self.reader())
                .await?;
        row.map(|row| sqlite_token(&row)).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, scopes, label, created_at FROM api_tokens ORDER BY created_at, id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(sqlite_token).collect()
    }

    async fn delete_token(&self, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = ?")
            .bind(id.hyphenated().to_string())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn sqlite_token(row: &sqlx::sqlite::SqliteRow) -> Result<TokenRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let scopes: String = row.try_get("scopes")?;
    Ok(TokenRecord {
        id: Uuid::parse_str(&id)
            .map_err(|e| StoreError::Corrupt(format!("token id {id:?}: {e}")))?,
        scopes: scopes_from_json(
            serde_json::from_str(&scopes)
                .map_err(|e| StoreError::Corrupt(format!("token scopes: {e}")))?,
        )?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
    })
}

impl TokenStore for PgStore {
    async fn put_token(&self, token: &NewToken) -> Result<(), StoreError> {
        token.validate()?;
        sqlx::query(
            "INSERT INTO api_tokens (id, hash, scopes, label, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token.id)
        .bind(&token.hash)
        .bind(SqlJson(token.scopes_json()))
        .bind(&token.label)
        .bind(normalize_time(token.created_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row =
            sqlx::query("SELECT id, scopes, label, created_at FROM api_tokens WHERE hash = $1")
                .bind(hash)
                .fetch_optional(self.pool())
                .await?;
        row.map(|row| pg_token(&row)).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, scopes, label, created_at FROM api_tokens ORDER BY created_at, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(pg_token).collect()
    }

    async fn delete_token(&self, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn pg_token(row: &sqlx::postgres::PgRow) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        scopes: scopes_from_json(row.try_get::<SqlJson<Json>, _>("scopes")?.0)?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
    })
}

impl TokenStore for AnyStore {
    async fn put_token(&self, token: &NewToken) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.put_token(token).await,
            AnyStore::Postgres(s) => s.put_token(token).await,
        }
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.token_by_hash(hash).await,
            AnyStore::Postgres(s) => s.token_by_hash(hash).await,
        }
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.list_tokens().await,
            AnyStore::Postgres(s) => s.list_tokens().await,
        }
    }

    async fn delete_token(&self, id: Uuid) -> Result<bool, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.delete_token(id).await,
            AnyStore::Postgres(s) => s.delete_token(id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn token(hash: &str) -> NewToken {
        NewToken {
            id: Uuid::new_v4(),
            hash: hash.to_owned(),
            scopes: vec!["read".into(), "operate".into()],
            label: "ci".into(),
            created_at: OffsetDateTime::now_utc(),
        }
    }

    #[tokio::test]
    async fn tokens_are_found_by_hash_listed_and_revoked() {
        let store = SqliteStore::memory().await.unwrap();
        let hash = "ab".repeat(32);
        let new = token(&hash);
        store.put_token(&new).await.unwrap();
        let found = store.token_by_hash(&hash).await.unwrap().unwrap();
        assert_eq!(found.id, new.id);
        assert_eq!(found.scopes, ["read", "operate"]);
        assert_eq!(found.label, "ci");
        assert!(
            store
                .token_by_hash(&"cd".repeat(32))
                .await
                .unwrap()
                .is_none()
        );
        // The same hash twice is refused: two tokens cannot share a secret.
        assert!(store.put_token(&token(&hash)).await.is_err());
        assert_eq!(store.list_tokens().await.unwrap().len(), 1);
        assert!(store.delete_token(new.id).await.unwrap());
        assert!(!store.delete_token(new.id).await.unwrap());
        assert!(store.token_by_hash(&hash).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_hash_that_is_not_lowercase_hex_is_refused() {
        let store = SqliteStore::memory().await.unwrap();
        for bad in ["", "short", &"AB".repeat(32), &"zz".repeat(32)] {
            assert!(store.put_token(&token(bad)).await.is_err(), "{bad:?}");
        }
        assert!(store.list_tokens().await.unwrap().is_empty());
    }
}
