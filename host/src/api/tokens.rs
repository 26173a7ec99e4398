//! `/tokens` (admin): make a token (the secret is in the answer once, never again), list
//! tokens (no secrets), revoke one.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Scope, TokenError, issue_token};
use super::error::{ApiError, Problem, ProblemBody};
use super::extract::{Body, PathParams};
use super::state::ApiState;
use crate::store::{TokenRecord, TokenStore};

/// The body of a token request.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// At least one of read, author, operate, admin.
    pub scopes: Vec<Scope>,
    /// What the token is for.
    #[serde(default)]
    pub label: String,
}

/// A token without its secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub scopes: Vec<String>,
    pub label: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<TokenRecord> for TokenView {
    fn from(r: TokenRecord) -> Self {
        TokenView {
            id: r.id,
            scopes: r.scopes,
            label: r.label,
            created_at: r.created_at,
        }
    }
}

/// A token just made: the only time its secret is shown.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(flatten)]
    pub record: TokenView,
}

/// Makes a token.
#[utoipa::path(
    post, path = "/tokens", tag = "tokens",
    request_body = CreateTokenRequest,
    responses(
        (status = 201, body = CreatedToken),
        (status = 422, description = "no scopes, or an unknown one", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn create(
    State(state): State<ApiState>,
    Body(request): Body<CreateTokenRequest>,
) -> Result<Response, ApiError> {
    let issued = issue_token(state.backend(), &request.scopes, &request.label)
        .await
        .map_err(|e| match e {
            TokenError::NoScopes => ApiError::new(Problem::InvalidBody, e.to_string()),
            TokenError::Random(_) => ApiError::internal(e.to_string()),
            TokenError::Store(e) => e.into(),
        })?;
    let id = issued.record.id;
    tracing::info!(token = %id, scopes = ?issued.record.scopes, "token created");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/tokens/{id}"))],
        Json(CreatedToken {
            token: issued.token,
            record: issued.record.into(),
        }),
    )
        .into_response())
}

/// Every token, without secrets.
#[utoipa::path(
    get, path = "/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenView>)),
    security(("bearer" = ["admin"]))
)]
pub async fn list(State(state): State<ApiState>) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = state.backend().list_tokens().await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Revokes a token; it stops working at once.
#[utoipa::path(
    delete, path = "/tokens/{id}", tag = "tokens",
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "revoked"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn revoke(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state.backend().delete_token(id).await? {
        tracing::info!(token = %id, "token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("token {id} not found")))
    }
}
