//! `/health`, `/openapi.json` (both public: neither says anything about procedures) and
//! `/metrics` (scope `read`: the counts describe what the facility runs).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::state::ApiState;

/// Liveness.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `shutting_down`.
    pub status: String,
    pub version: String,
    /// Conducts running in this host.
    pub conducting: usize,
}

/// Liveness and version.
#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<ApiState>) -> Json<Health> {
    Json(Health {
        status: if state.shutting_down() {
            "shutting_down"
        } else {
            "ok"
        }
        .to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        conducting: state.conductor.conducts().running().len(),
    })
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json")))]
pub async fn openapi() -> Response {
    match super::openapi::spec().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => ApiError::internal(format!("the spec does not serialize: {e}")).into_response(),
    }
}

/// Prometheus metrics, text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")),
    security(("bearer" = ["read"])))]
pub async fn metrics(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let m = &state.metrics;
    m.running
        .set(state.conductor.conducts().running().len() as i64);
    let stats = state.conductor.sandbox().stats();
    for (source, count) in [
        ("compiled", stats.compiled),
        ("disk", stats.from_disk),
        ("memory", stats.from_memory),
        ("disk_rejected", stats.disk_rejected),
    ] {
        m.sandbox_loads
            .with_label_values(&[source])
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    let text = m
        .render()
        .map_err(|e| ApiError::internal(format!("metrics do not render: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
