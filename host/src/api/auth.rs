//! Bearer tokens and scopes. A token is `baton_` followed by 64 hex digits (32 random bytes from
//! the OS); the store keeps only its sha256, so the token is shown once, when it is made.
//!
//! Scopes: `read` (every GET but the token list), `author` (upload and delete components,
//! define procedures), `operate` (conduct and every lifecycle command on procedures and runs,
//! clearing simulated faults), `admin` (tokens). A token holds a set of scopes; `admin` implies
//! every other scope, the others imply nothing (an `operate` token that should also watch
//! progress carries `read` too). Every route names the one scope it needs in
//! [`super::routes::ROUTES`]; `/openapi.json` and `/health` are public, `/metrics` needs `read`.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use strum::VariantArray;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::store::{NewToken, StoreError, TokenRecord, TokenStore};

/// What a token may do.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Scope {
    /// Read everything but tokens.
    Read,
    /// Upload and delete components, define procedures.
    Author,
    /// Conduct; hold, resume, abort, truncate, complete; iterations; runs; simulated faults.
    Operate,
    /// Manage tokens; implies every other scope.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A scope name that is not one of `read`, `author`, `operate`, `admin`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: expected read, author, operate or admin")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::VARIANTS
            .iter()
            .copied()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// Who a route is open to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// No token needed.
    Public,
    /// A token holding this scope (or `admin`).
    Scope(Scope),
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Scope(scope) => scope.as_str(),
        }
    }
}

/// The caller a token identifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token_id: Uuid,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }
}

/// The prefix of every token, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "baton_";

/// sha256 of a token as the client sends it, lowercase hex: what the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Why a token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a token needs at least one scope")]
    NoScopes,
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token just made: the secret (shown once) and what was stored.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub token: String,
    pub record: TokenRecord,
}

/// Makes a token with `scopes` and stores its hash.
pub async fn issue_token<T: TokenStore>(
    store: &T,
    scopes: &[Scope],
    label: &str,
) -> Result<IssuedToken, TokenError> {
    if scopes.is_empty() {
        return Err(TokenError::NoScopes);
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| TokenError::Random(e.to_string()))?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let mut scopes: Vec<Scope> = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    let new = NewToken {
        id: Uuid::now_v7(),
        hash: token_hash(&token),
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        label: label.to_owned(),
        created_at: OffsetDateTime::now_utc(),
    };
    store.put_token(&new).await?;
    Ok(IssuedToken {
        token,
        record: TokenRecord {
            id: new.id,
            scopes: new.scopes,
            label: new.label,
            created_at: new.created_at,
        },
    })
}

/// The principal of a stored token. Unknown scope names (written by a newer host) are ignored,
/// never widened.
pub fn principal(record: &TokenRecord) -> Principal {
    Principal {
        token_id: record.id,
        scopes: record
            .scopes
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect(),
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn scopes_parse_and_admin_implies_all() {
        for &scope in Scope::VARIANTS {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
        }
        assert!("Admin".parse::<Scope>().is_err());
        let admin = Principal {
            token_id: Uuid::nil(),
            scopes: vec![Scope::Admin],
        };
        assert!(Scope::VARIANTS.iter().copied().all(|s| admin.allows(s)));
        let reader = Principal {
            token_id: Uuid::nil(),
            scopes: vec![Scope::Read],
        };
        assert!(reader.allows(Scope::Read));
        assert!(!reader.allows(Scope::Operate));
        assert!(!reader.allows(Scope::Admin));
    }

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer "), None);
    }

    #[tokio::test]
    async fn issued_tokens_are_stored_by_hash_only() {
        let store = SqliteStore::memory().await.unwrap();
        let issued = issue_token(&store, &[Scope::Read, Scope::Read, Scope::Operate], "ci")
            .await
            .unwrap();
        assert!(issued.token.starts_with(TOKEN_PREFIX));
        assert_eq!(issued.token.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(issued.record.scopes, ["read", "operate"]);
        let found = store
            .token_by_hash(&token_hash(&issued.token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(principal(&found).scopes, [Scope::Read, Scope::Operate]);
        // The secret itself is nowhere in the table.
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT hash, scopes FROM api_tokens")
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert!(
            rows.iter()
                .all(|(h, s)| !h.contains(&issued.token[6..]) && !s.contains(&issued.token[6..]))
        );
        let other = issue_token(&store, &[Scope::Admin], "").await.unwrap();
        assert_ne!(other.token, issued.token);
        assert!(matches!(
            issue_token(&store, &[], "").await,
            Err(TokenError::NoScopes)
        ));
    }
}
