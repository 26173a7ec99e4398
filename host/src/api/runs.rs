//! `/runs`: the parent experiments procedures can be phases of. Start, show, list, and the
//! lifecycle commands, through the application layer (`crate::app`).
//!
//! The listing reads the store's run summary (updated in each append's transaction, oldest
//! first, keyset on the global position of the run's start); one run is folded from its stream.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, Problem, ProblemBody};
use super::extract::{Body, OptionalBody, Params, PathParams};
use super::procedures::{Empty, ReasonRequest, TruncateRequest};
use super::state::ApiState;
use crate::app;
use crate::domain::ActuationKind;
use crate::domain::run::Run;
use crate::domain::run::{RunCommand, RunState, RunStatus};
use crate::store::{RunQuery, RunSummary, SummaryStore};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// A run.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RunView {
    pub id: Uuid,
    pub name: String,
    pub status: RunStatus,
    pub status_reason: Option<String>,
    pub actuation_kind: ActuationKind,
    #[schema(format = DateTime)]
    pub started_at: String,
    #[schema(format = DateTime)]
    pub last_changed_at: String,
    pub version: u64,
}

impl From<RunSummary> for RunView {
    fn from(s: RunSummary) -> Self {
        RunView {
            id: s.id,
            name: s.name,
            status: s.status,
            status_reason: s.status_reason,
            actuation_kind: s.actuation_kind,
            started_at: rfc3339(s.started_at),
            last_changed_at: rfc3339(s.last_changed_at),
            version: s.version,
        }
    }
}

impl From<RunState> for RunView {
    fn from(s: RunState) -> Self {
        RunView {
            id: s.id,
            name: s.name,
            status: s.status,
            status_reason: s.status_reason,
            actuation_kind: s.actuation_kind,
            started_at: rfc3339(s.started_at),
            last_changed_at: rfc3339(s.last_changed_at),
            version: s.version,
        }
    }
}

async fn command(
    state: &ApiState,
    id: Uuid,
    command: RunCommand,
) -> Result<Json<RunView>, ApiError> {
    let committed =
        app::execute::<Run, _>(state.store(), id, &command, OffsetDateTime::now_utc(), &[]).await?;
    Ok(Json(committed.state.into()))
}

/// The body of a run start.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRunRequest {
    /// Chosen by the caller for idempotent retries; a fresh id if absent.
    pub id: Option<Uuid>,
    /// 1 to 200 characters.
    pub name: String,
}

/// Starts a run (it begins Running).
#[utoipa::path(
    post, path = "/runs", tag = "runs",
    request_body = CreateRunRequest,
    responses(
        (status = 201, body = RunView, headers(("Location" = String, description = "/runs/{id}"))),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the id exists", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn create(
    State(state): State<ApiState>,
    Body(request): Body<CreateRunRequest>,
) -> Result<Response, ApiError> {
    let id = request.id.unwrap_or_else(Uuid::now_v7);
    let Json(view) = command(
        &state,
        id,
        RunCommand::Start {
            id,
            name: request.name,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/runs/{id}"))],
        Json(view),
    )
        .into_response())
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunListQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<u64>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<u32>,
}

/// A page of runs, oldest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RunPage {
    pub items: Vec<RunView>,
    pub next_cursor: Option<u64>,
}

/// Lists runs, oldest first.
#[utoipa::path(
    get, path = "/runs", tag = "runs",
    params(RunListQuery),
    responses(
        (status = 200, body = RunPage),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn list(
    State(state): State<ApiState>,
    Params(query): Params<RunListQuery>,
) -> Result<Json<RunPage>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::new(
            Problem::MalformedRequest,
            format!("limit must be 1 to 1000, got {limit}"),
        ));
    }
    let query = RunQuery::first(limit).after(query.cursor.unwrap_or(0));
    let page = state.store().list_runs(&query).await?;
    Ok(Json(RunPage {
        items: page.items.into_iter().map(RunView::from).collect(),
        next_cursor: page.next,
    }))
}

/// One run.
#[utoipa::path(
    get, path = "/runs/{id}", tag = "runs",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = RunView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn show(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
) -> Result<Json<RunView>, ApiError> {
    app::load::<Run, _>(state.store(), id)
        .await?
        .state
        .map(|run| Json(run.into()))
        .ok_or_else(|| ApiError::not_found(format!("run {id} not found")))
}

/// Holds a Running run. Its procedures are not held with it (no cascade), but none of them can
/// resume while it is Held.
#[utoipa::path(
    post, path = "/runs/{id}/hold", tag = "runs",
    params(("id" = Uuid, Path)),
    request_body = ReasonRequest,
    responses(
        (status = 200, body = RunView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn hold(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Body(request): Body<ReasonRequest>,
) -> Result<Json<RunView>, ApiError> {
    command(
        &state,
        id,
        RunCommand::Hold {
            reason: request.reason,
        },
    )
    .await
}

/// Resumes a Held run.
#[utoipa::path(
    post, path = "/runs/{id}/resume", tag = "runs",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = RunView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn resume(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(_): OptionalBody<Empty>,
) -> Result<Json<RunView>, ApiError> {
    command(&state, id, RunCommand::Resume).await
}

/// An optional actuation kind to join into the run's.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRunRequest {
    /// Joined into the run's kind (never overwrites it); default `none`.
    pub actuation_kind: Option<ActuationKind>,
}

/// Completes a Running run.
#[utoipa::path(
    post, path = "/runs/{id}/complete", tag = "runs",
    params(("id" = Uuid, Path)),
    request_body(content = CompleteRunRequest, description = "optional"),
    responses(
        (status = 200, body = RunView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn complete(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(request): OptionalBody<CompleteRunRequest>,
) -> Result<Json<RunView>, ApiError> {
    command(
        &state,
        id,
        RunCommand::Complete {
            actuation_kind: request.actuation_kind.unwrap_or_default(),
        },
    )
    .await
}

/// Aborts a Running or Held run (the data are suspect).
#[utoipa::path(
    post, path = "/runs/{id}/abort", tag = "runs",
    params(("id" = Uuid, Path)),
    request_body = ReasonRequest,
    responses(
        (status = 200, body = RunView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn abort(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Body(request): Body<ReasonRequest>,
) -> Result<Json<RunView>, ApiError> {
    command(
        &state,
        id,
        RunCommand::Abort {
            reason: request.reason,
            actuation_kind: ActuationKind::None,
        },
    )
    .await
}

/// Stops a Running or Held run early (the data so far are valid).
#[utoipa::path(
    post, path = "/runs/{id}/stop", tag = "runs",
    params(("id" = Uuid, Path)),
    request_body = ReasonRequest,
    responses(
        (status = 200, body = RunView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn stop(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Body(request): Body<ReasonRequest>,
) -> Result<Json<RunView>, ApiError> {
    command(
        &state,
        id,
        RunCommand::Stop {
            reason: request.reason,
            actuation_kind: ActuationKind::None,
        },
    )
    .await
}

/// Truncates a run that died.
#[utoipa::path(
    post, path = "/runs/{id}/truncate", tag = "runs",
    params(("id" = Uuid, Path)),
    request_body = TruncateRequest,
    responses(
        (status = 200, body = RunView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn truncate(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Body(request): Body<TruncateRequest>,
) -> Result<Json<RunView>, ApiError> {
    command(
        &state,
        id,
        RunCommand::Truncate {
            reason: request.reason,
            interrupted_at: request
                .interrupted_at
                .unwrap_or_else(OffsetDateTime::now_utc),
        },
    )
    .await
}
