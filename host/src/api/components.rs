//! `/components`: upload (raw wasm, validated and compiled by the sandbox, stored by sha256),
//! list, show, delete (refused while a procedure references the component).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::error::{ApiError, Problem, ProblemBody, load_error};
use super::extract::PathParams;
use super::state::ApiState;
use crate::sandbox::Info;
use crate::store::{ComponentMeta, ComponentStore, NewComponent};

/// A stored component (without its bytes).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ComponentView {
    /// sha256 of the wasm, lowercase hex: the component's identity.
    pub digest: String,
    pub name: String,
    pub version: String,
    /// What `describe` declares: documentation and typed parameters with defaults.
    pub info: Info,
    pub size_bytes: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub uploaded_at: OffsetDateTime,
}

impl ComponentView {
    fn from_meta(meta: ComponentMeta) -> Result<Self, ApiError> {
        let info: Info = serde_json::from_value(meta.info).map_err(|e| {
            ApiError::internal(format!(
                "stored info of {} does not decode: {e}",
                meta.digest
            ))
        })?;
        Ok(ComponentView {
            digest: meta.digest,
            name: meta.name,
            version: meta.version,
            info,
            size_bytes: meta.size,
            uploaded_at: meta.uploaded_at,
        })
    }
}

/// The raw bytes of an upload; over the route's limit is 413.
pub struct Wasm(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Wasm {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Wasm)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        Problem::PayloadTooLarge,
                        "the component exceeds the upload limit",
                    )
                } else {
                    ApiError::new(Problem::MalformedRequest, e.body_text())
                }
            })
    }
}

/// Uploads a component: validated against the WIT world and the import allow-list, compiled,
/// described, and stored content-addressed. 201 when new, 200 when the digest was there.
#[utoipa::path(
    post, path = "/components", tag = "components",
    request_body(content = Vec<u8>, content_type = "application/wasm",
        description = "the .wasm built for wasm32-wasip2"),
    responses(
        (status = 201, description = "stored", body = ComponentView,
            headers(("Location" = String, description = "/components/{digest}"))),
        (status = 200, description = "already stored (same bytes)", body = ComponentView),
        (status = 413, description = "over the size limit", body = ProblemBody,
            content_type = "application/problem+json"),
        (status = 422, description = "not a component baton can run; `reason` names the check",
            body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["author"]))
)]
pub async fn upload(
    State(state): State<ApiState>,
    Wasm(bytes): Wasm,
) -> Result<Response, ApiError> {
    let loaded = state
        .conductor
        .sandbox()
        .load(&bytes)
        .await
        .map_err(|e| load_error(&e))?;
    let info = loaded.info().clone();
    let info_json = serde_json::to_value(&info)
        .map_err(|e| ApiError::internal(format!("info does not serialize: {e}")))?;
    let component = NewComponent::new(
        bytes.to_vec(),
        &info.name,
        &info.version,
        info_json,
        OffsetDateTime::now_utc(),
    );
    let inserted = state.store().put_component(&component).await?;
    let stored = state
        .store()
        .component(&component.digest)
        .await?
        .ok_or_else(|| ApiError::internal("the component vanished after it was stored"))?;
    let view = ComponentView::from_meta(stored.meta)?;
    let status = if inserted {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    tracing::info!(digest = %view.digest, name = %view.name, inserted, "component uploaded");
    Ok((
        status,
        [(header::LOCATION, format!("/components/{}", view.digest))],
        axum::Json(view),
    )
        .into_response())
}

/// Every stored component, by name, version, digest.
#[utoipa::path(
    get, path = "/components", tag = "components",
    responses((status = 200, body = Vec<ComponentView>)),
    security(("bearer" = ["read"]))
)]
pub async fn list(
    State(state): State<ApiState>,
) -> Result<axum::Json<Vec<ComponentView>>, ApiError> {
    let metas = state.store().list_components().await?;
    metas
        .into_iter()
        .map(ComponentView::from_meta)
        .collect::<Result<Vec<_>, _>>()
        .map(axum::Json)
}

/// One component.
#[utoipa::path(
    get, path = "/components/{digest}", tag = "components",
    params(("digest" = String, Path, description = "sha256 of the wasm")),
    responses(
        (status = 200, body = ComponentView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn show(
    State(state): State<ApiState>,
    PathParams(digest): PathParams<String>,
) -> Result<axum::Json<ComponentView>, ApiError> {
    let component = state
        .store()
        .component(&digest)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("component {digest} is not registered")))?;
    ComponentView::from_meta(component.meta).map(axum::Json)
}

/// Deletes a component no procedure references.
#[utoipa::path(
    delete, path = "/components/{digest}", tag = "components",
    params(("digest" = String, Path, description = "sha256 of the wasm")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "a procedure references it", body = ProblemBody,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = ["author"]))
)]
pub async fn remove(
    State(state): State<ApiState>,
    PathParams(digest): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    if state.store().delete_component(&digest).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "component {digest} is not registered"
        )))
    }
}
