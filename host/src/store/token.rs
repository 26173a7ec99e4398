//! API bearer tokens, stored by the sha256 of the secret (never the secret itself), with their
//! scope names. What a scope allows is the API's business; the store only keeps the names.

use serde_json::Value as Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::StoreError;

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
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
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

    pub(crate) fn scopes_json(&self) -> Json {
        Json::Array(self.scopes.iter().cloned().map(Json::String).collect())
    }
}

pub(crate) fn scopes_from_json(json: Json) -> Result<Vec<String>, StoreError> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::store::{SqliteStore, TokenStore};

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
