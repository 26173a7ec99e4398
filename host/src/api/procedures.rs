//! `/procedures`: define (parameters typed against the component's declared parameters), list
//! (status and parent-run filters, keyset cursor), show (status, pinned steps, hold claims,
//! actuation kind, progress), events, the journal (paged), and the lifecycle commands an
//! operator issues by hand. Every command goes through the application layer ([`crate::app`]); a
//! hold or abort of a conduct running here is handed to it, to land at its next step boundary.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, Extension, Problem, ProblemBody};
use super::extract::{Body, OptionalBody, Params, PathParams};
use super::progress::{Progress, progress};
use super::state::{ApiState, LastConduct};
use crate::app;
use crate::conductor::StopRequest;
use crate::domain::input;
use crate::domain::procedure::{
    DefineProcedure, Procedure, ProcedureCommand, ProcedureCommandKind, ProcedureError,
    ProcedureState, ProcedureStatus,
};
use crate::domain::{ActuationKind, FailureClass, HoldCause, Step, StepKind, Value};
use crate::sandbox::Info;
use crate::store::{
    ComponentStore, EventStore, JournalPage, JournalRecord, ProcedureSummary, StepJournal,
    SummaryCursor, SummaryQuery, SummaryStore, procedure_stream,
};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn params_object(params: &[(String, Value)]) -> BTreeMap<String, Value> {
    params.iter().cloned().collect()
}

/// The pin a start recorded.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PinView {
    /// sha256 of the canonical JSON of the pinned steps.
    pub content_hash: String,
    pub step_count: u64,
    pub component_digest: String,
    /// The parameters the steps were resolved from (defaults filled in).
    pub params: BTreeMap<String, Value>,
    /// Reads the guest made while resolving, in order.
    #[schema(value_type = Vec<Object>)]
    pub observed_reads: Vec<(String, Value)>,
    /// Revision of the device catalog the steps were checked against.
    pub limits_revision: String,
}

/// Iteration bookkeeping.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct IterationsView {
    pub count: u32,
    pub open: Option<u32>,
    pub unconverged_streak: u32,
    pub patience_cap: Option<u32>,
}

/// A procedure.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProcedureView {
    pub id: Uuid,
    pub name: String,
    /// Digest of the component it was defined with.
    pub component: String,
    pub params: BTreeMap<String, Value>,
    pub parent_run: Option<Uuid>,
    pub status: ProcedureStatus,
    /// The reason of the last hold, abort or truncate.
    pub status_reason: Option<String>,
    /// The causes holding it (empty unless Held).
    pub hold_claims: Vec<HoldCause>,
    pub actuation_kind: ActuationKind,
    pub iterations: IterationsView,
    pub pin: Option<PinView>,
    /// The pinned steps (left out with `?steps=false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Step>>,
    pub progress: Progress,
    /// The last conduct verb this host ran on it (waited on or in the background), if any:
    /// running, or its outcome, or why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_conduct: Option<LastConduct>,
    #[schema(format = DateTime)]
    pub defined_at: String,
    #[schema(format = DateTime)]
    pub last_changed_at: String,
    /// Events folded: the stream version.
    pub version: u64,
}

pub(crate) async fn load(
    state: &ApiState,
    id: Uuid,
    command: ProcedureCommandKind,
) -> Result<ProcedureState, ApiError> {
    app::load::<Procedure, _>(state.store(), id)
        .await?
        .state
        .ok_or_else(|| ProcedureError::NotFound { command }.into())
}

/// The view of `procedure`. `last_conduct` must be read before `procedure` was loaded: a
/// conduct records its outcome only after its last event landed, so an outcome read first is
/// never newer than the status shown beside it (read after, a GET could pair a `Held`
/// outcome with a `Running` status).
pub(crate) async fn view(
    state: &ApiState,
    procedure: ProcedureState,
    last_conduct: Option<LastConduct>,
    with_steps: bool,
) -> Result<ProcedureView, ApiError> {
    let total = procedure.pin.as_ref().map_or(0, |p| p.step_count);
    let steps = match (&procedure.pin, with_steps) {
        (Some(pin), true) => Some(
            state
                .store()
                .pinned_steps(&pin.content_hash)
                .await?
                .ok_or_else(|| {
                    ApiError::internal(format!("pinned steps {} are missing", pin.content_hash))
                })?
                .steps()
                .to_vec(),
        ),
        _ => None,
    };
    let progress = progress(state, procedure.id, total, procedure.status, None).await?;
    Ok(ProcedureView {
        id: procedure.id,
        name: procedure.name,
        component: procedure.component_digest,
        params: params_object(&procedure.params),
        parent_run: procedure.parent_run,
        status: procedure.status,
        status_reason: procedure.status_reason,
        hold_claims: procedure.hold_claims.iter().collect(),
        actuation_kind: procedure.actuation_kind,
        iterations: IterationsView {
            count: procedure.iterations.count,
            open: procedure.iterations.open,
            unconverged_streak: procedure.iterations.unconverged_streak,
            patience_cap: procedure.iterations.patience_cap,
        },
        pin: procedure.pin.map(|pin| PinView {
            content_hash: pin.content_hash,
            step_count: pin.step_count,
            component_digest: pin.component_digest,
            params: params_object(&pin.params),
            observed_reads: pin.observed_reads,
            limits_revision: pin.limits_revision,
        }),
        steps,
        progress,
        last_conduct,
        defined_at: rfc3339(procedure.defined_at),
        last_changed_at: rfc3339(procedure.last_changed_at),
        version: procedure.version,
    })
}

async fn command(
    state: &ApiState,
    id: Uuid,
    command: ProcedureCommand,
) -> Result<Response, ApiError> {
    let last_conduct = state.last_conduct(id);
    let committed =
        app::execute::<Procedure, _>(state.store(), id, &command, OffsetDateTime::now_utc(), &[])
            .await?;
    let view = view(state, committed.state, last_conduct, false).await?;
    Ok(Json(view).into_response())
}

/// The body of a define.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefineRequest {
    /// Chosen by the caller so a retried define names the same procedure; a fresh id if absent.
    pub id: Option<Uuid>,
    /// Defaults to the component's name.
    pub name: Option<String>,
    /// Digest of a registered component.
    pub component: String,
    /// Parameters by name. Plain JSON is read as the declared kind (a number for float or int,
    /// a string for text, an array of numbers for floats, a bool for flag); the tagged form
    /// `{"type": "int", "value": 3}` is accepted too. A name the component does not declare is
    /// refused. Left-out parameters take their declared defaults at conduct time.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Map<String, JsonValue>,
    /// The run this procedure is a phase of (must exist).
    pub parent_run: Option<Uuid>,
    /// Patience cap for iterations (at least 1).
    pub max_unconverged_iterations: Option<u32>,
}

/// The declared parameters of a component: from the sandbox if it has it, else the store.
async fn component_info(state: &ApiState, digest: &str) -> Result<Info, ApiError> {
    if let Some(loaded) = state.conductor.sandbox().get(digest) {
        return Ok(loaded.info().clone());
    }
    let component = state.store().component(digest).await?.ok_or_else(|| {
        ApiError::new(
            Problem::ComponentUnavailable,
            format!("component {digest} is not registered; upload it first (POST /components)"),
        )
        .with(Extension::Digest, digest)
    })?;
    serde_json::from_value(component.meta.info)
        .map_err(|e| ApiError::internal(format!("stored info of {digest} does not decode: {e}")))
}

/// Defines a procedure: a component digest and typed parameters. 201 with its location.
#[utoipa::path(
    post, path = "/procedures", tag = "procedures",
    request_body = DefineRequest,
    responses(
        (status = 201, body = ProcedureView,
            headers(("Location" = String, description = "/procedures/{id}"))),
        (status = 400, description = "malformed JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the id exists", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "unknown or mistyped parameter, unknown component or parent run, bad name",
            body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["author"]))
)]
pub async fn define(
    State(state): State<ApiState>,
    Body(request): Body<DefineRequest>,
) -> Result<Response, ApiError> {
    let info = component_info(&state, &request.component).await?;
    let params = info.typed_params(&request.params)?;
    let id = request.id.unwrap_or_else(Uuid::now_v7);
    let define = DefineProcedure {
        id,
        name: request.name.unwrap_or_else(|| info.name.clone()),
        component_digest: request.component,
        params,
        parent_run: request.parent_run,
        max_unconverged_iterations: request.max_unconverged_iterations,
    };
    let last_conduct = state.last_conduct(id);
    let committed = app::execute::<Procedure, _>(
        state.store(),
        id,
        &ProcedureCommand::Define(define),
        OffsetDateTime::now_utc(),
        &[],
    )
    .await?;
    let view = view(&state, committed.state, last_conduct, false).await?;
    tracing::info!(procedure = %id, component = %view.component, "procedure defined");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/procedures/{id}"))],
        Json(view),
    )
        .into_response())
}

/// Listing filters and paging.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only procedures in this status (Defined, Running, Held, Completed, Aborted, Truncated).
    pub status: Option<String>,
    /// Only phases of this run.
    pub parent_run: Option<Uuid>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<u32>,
}

/// One row of the listing.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SummaryView {
    pub id: Uuid,
    pub name: String,
    pub component: String,
    pub status: ProcedureStatus,
    pub status_reason: Option<String>,
    pub hold_causes: Vec<HoldCause>,
    pub parent_run: Option<Uuid>,
    pub iteration_count: u32,
    pub actuation_kind: ActuationKind,
    pub version: u64,
    #[schema(format = DateTime)]
    pub defined_at: String,
    #[schema(format = DateTime)]
    pub last_changed_at: String,
}

impl From<ProcedureSummary> for SummaryView {
    fn from(s: ProcedureSummary) -> Self {
        SummaryView {
            id: s.id,
            name: s.name,
            component: s.component_digest,
            status: s.status,
            status_reason: s.status_reason,
            hold_causes: s.hold_causes,
            parent_run: s.parent_run,
            iteration_count: s.iteration_count,
            actuation_kind: s.actuation_kind,
            version: s.version,
            defined_at: rfc3339(s.defined_at),
            last_changed_at: rfc3339(s.last_changed_at),
        }
    }
}

/// A page of procedures, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProcedurePage {
    pub items: Vec<SummaryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists procedures, newest first, filtered by status and parent run, a page at a time.
#[utoipa::path(
    get, path = "/procedures", tag = "procedures",
    params(ListQuery),
    responses(
        (status = 200, body = ProcedurePage),
        (status = 400, description = "unknown status, malformed cursor, limit out of range",
            body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn list(
    State(state): State<ApiState>,
    Params(query): Params<ListQuery>,
) -> Result<Json<ProcedurePage>, ApiError> {
    let bad = |detail: String| ApiError::new(Problem::MalformedRequest, detail);
    let status = query
        .status
        .as_deref()
        .map(str::parse::<ProcedureStatus>)
        .transpose()
        .map_err(|e| bad(e.to_string()))?;
    let after = query
        .cursor
        .as_deref()
        .map(str::parse::<SummaryCursor>)
        .transpose()
        .map_err(|e| bad(e.to_string()))?;
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > SummaryQuery::MAX_LIMIT {
        return Err(bad(format!(
            "limit must be 1 to {}, got {limit}",
            SummaryQuery::MAX_LIMIT
        )));
    }
    let summaries = SummaryQuery {
        status,
        parent_run: query.parent_run,
        after,
        limit,
    };
    let page = state.store().list_procedures(&summaries).await?;
    Ok(Json(ProcedurePage {
        items: page.items.into_iter().map(SummaryView::from).collect(),
        next_cursor: page.next.map(|c| c.to_string()),
    }))
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ShowQuery {
    /// Include the pinned steps (default true).
    pub steps: Option<bool>,
}

/// A procedure: status, pinned steps, hold claims, actuation kind, progress with ETA.
#[utoipa::path(
    get, path = "/procedures/{id}", tag = "procedures",
    params(("id" = Uuid, Path), ShowQuery),
    responses(
        (status = 200, body = ProcedureView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn show(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Params(query): Params<ShowQuery>,
) -> Result<Json<ProcedureView>, ApiError> {
    let last_conduct = state.last_conduct(id);
    let procedure = app::load::<Procedure, _>(state.store(), id)
        .await?
        .state
        .ok_or_else(|| ApiError::not_found(format!("procedure {id} not found")))?;
    view(&state, procedure, last_conduct, query.steps.unwrap_or(true))
        .await
        .map(Json)
}

/// One stored event.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EventView {
    pub version: u64,
    /// Global position across all streams.
    pub position: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub payload: JsonValue,
    #[schema(format = DateTime)]
    pub recorded_at: String,
}

/// The procedure's events, in order.
#[utoipa::path(
    get, path = "/procedures/{id}/events", tag = "procedures",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Vec<EventView>),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn events(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let events = state.store().read_stream(&procedure_stream(id)).await?;
    if events.is_empty() {
        return Err(ApiError::not_found(format!("procedure {id} not found")));
    }
    Ok(Json(
        events
            .into_iter()
            .map(|e| EventView {
                version: e.version,
                position: e.position,
                event_type: e.event_type,
                payload: e.payload,
                recorded_at: rfc3339(e.recorded_at),
            })
            .collect(),
    ))
}

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct JournalView {
    /// Dense per procedure: 1, 2, 3, ... (the SSE event id).
    pub sequence: u64,
    /// Absolute index in the pinned steps.
    pub step_index: u32,
    pub step_kind: StepKind,
    /// `in_flight` (before an effect), `ok` or `failed`.
    #[schema(example = "ok")]
    pub result: String,
    pub failure_class: Option<FailureClass>,
    pub message: Option<String>,
    /// The target, the value written, the actuation kind, the device's answer.
    #[schema(value_type = Object)]
    pub detail: JsonValue,
    #[schema(format = DateTime)]
    pub at: String,
}

impl From<JournalRecord> for JournalView {
    fn from(r: JournalRecord) -> Self {
        JournalView {
            sequence: r.sequence,
            step_index: r.entry.step_index,
            step_kind: r.entry.step_kind,
            result: r.entry.result.as_str().to_owned(),
            failure_class: r.entry.result.failure_class(),
            message: r.entry.message,
            detail: r.entry.detail,
            at: rfc3339(r.entry.at),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// Entries after this sequence (default 0: from the start).
    pub after: Option<u64>,
    /// Page size, 1 to 10000 (default 500).
    pub limit: Option<u32>,
}

/// A page of the journal.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JournalPageView {
    pub items: Vec<JournalView>,
    /// Pass as `after` for the next page; absent when this page was not full.
    pub next_after: Option<u64>,
}

/// The step journal, in sequence order, a page at a time.
#[utoipa::path(
    get, path = "/procedures/{id}/journal", tag = "procedures",
    params(("id" = Uuid, Path), JournalQuery),
    responses(
        (status = 200, body = JournalPageView),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn journal(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Params(query): Params<JournalQuery>,
) -> Result<Json<JournalPageView>, ApiError> {
    if state.store().stream_version(&procedure_stream(id)).await? == 0 {
        return Err(ApiError::not_found(format!("procedure {id} not found")));
    }
    let limit = query.limit.unwrap_or(500);
    if limit == 0 || limit > JournalPage::MAX_LIMIT {
        return Err(ApiError::new(
            Problem::MalformedRequest,
            format!("limit must be 1 to {}, got {limit}", JournalPage::MAX_LIMIT),
        ));
    }
    let records = state
        .store()
        .journal(
            id,
            JournalPage {
                after: query.after.unwrap_or(0),
                limit,
            },
        )
        .await?;
    let next_after = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.sequence))
        .flatten();
    Ok(Json(JournalPageView {
        items: records.into_iter().map(JournalView::from).collect(),
        next_after,
    }))
}

/// A reason for a hold or an abort.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// 1 to 500 characters.
    pub reason: String,
}

/// A hold or abort handed to the conduct running here.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StopAccepted {
    pub procedure_id: Uuid,
    /// `hold` or `abort`.
    pub requested: String,
    pub detail: String,
}

fn stop_accepted(id: Uuid, requested: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/procedures/{id}"))],
        Json(StopAccepted {
            procedure_id: id,
            requested: requested.to_owned(),
            detail: format!(
                "a conduct of this procedure is running here; the {requested} lands at its next \
                 step boundary, never in the middle of a write"
            ),
        }),
    )
        .into_response()
}

fn checked_reason(raw: &str, command: ProcedureCommandKind) -> Result<String, ApiError> {
    input::reason(raw).map_err(|input| ProcedureError::Invalid { command, input }.into())
}

/// Holds a procedure (cause `operator`). A conduct running here takes the hold at its next step
/// boundary (202); otherwise the hold lands now (200).
#[utoipa::path(
    post, path = "/procedures/{id}/hold", tag = "lifecycle",
    params(("id" = Uuid, Path)),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "held", body = ProcedureView),
        (status = 202, description = "handed to the running conduct", body = StopAccepted),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not Running or Held, or already held by an operator", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn hold(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Body(request): Body<ReasonRequest>,
) -> Result<Response, ApiError> {
    let reason = checked_reason(&request.reason, ProcedureCommandKind::Hold)?;
    if state.conductor.request_stop(
        id,
        StopRequest::Hold {
            reason: reason.clone(),
        },
    ) {
        return Ok(stop_accepted(id, "hold"));
    }
    command(
        &state,
        id,
        ProcedureCommand::Hold {
            cause: HoldCause::Operator,
            reason,
            actuation_kind: ActuationKind::None,
        },
    )
    .await
}

/// Aborts a procedure. A conduct running here takes the abort at its next step boundary (202).
#[utoipa::path(
    post, path = "/procedures/{id}/abort", tag = "lifecycle",
    params(("id" = Uuid, Path)),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "aborted", body = ProcedureView),
        (status = 202, description = "handed to the running conduct", body = StopAccepted),
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
) -> Result<Response, ApiError> {
    let reason = checked_reason(&request.reason, ProcedureCommandKind::Abort)?;
    if state.conductor.request_stop(
        id,
        StopRequest::Abort {
            reason: reason.clone(),
        },
    ) {
        return Ok(stop_accepted(id, "abort"));
    }
    command(
        &state,
        id,
        ProcedureCommand::Abort {
            reason,
            actuation_kind: ActuationKind::None,
        },
    )
    .await
}

/// A resume's re-establishment boundary.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    /// The step from which the procedure is re-established (>= 0).
    pub boundary: u64,
}

/// Resumes a Held procedure without replaying anything (an operator's claim releases the
/// step-fault and host-restart claims too). To resume and run the rest, use reconduct.
#[utoipa::path(
    post, path = "/procedures/{id}/resume", tag = "lifecycle",
    params(("id" = Uuid, Path)),
    request_body = ResumeRequest,
    responses(
        (status = 200, body = ProcedureView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not Held, parent run Held, or claims remain", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn resume(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Body(request): Body<ResumeRequest>,
) -> Result<Response, ApiError> {
    command(
        &state,
        id,
        ProcedureCommand::Resume {
            cause: HoldCause::Operator,
            boundary: request.boundary,
        },
    )
    .await
}

fn refuse_if_conducting(state: &ApiState, id: Uuid) -> Result<(), ApiError> {
    if state.conductor.conducts().get(id).is_some() {
        return Err(ApiError::new(
            Problem::AlreadyConducting,
            format!("procedure {id} is being conducted by this host: hold or abort it instead"),
        )
        .with(Extension::ProcedureId, id));
    }
    Ok(())
}

/// A truncate: the retroactive end of a conduct that died.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TruncateRequest {
    pub reason: String,
    /// When the conduct really stopped (RFC 3339, not in the future); default now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub interrupted_at: Option<OffsetDateTime>,
}

/// Truncates a Running or Held procedure whose conduct died.
#[utoipa::path(
    post, path = "/procedures/{id}/truncate", tag = "lifecycle",
    params(("id" = Uuid, Path)),
    request_body = TruncateRequest,
    responses(
        (status = 200, body = ProcedureView),
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
) -> Result<Response, ApiError> {
    refuse_if_conducting(&state, id)?;
    command(
        &state,
        id,
        ProcedureCommand::Truncate {
            reason: request.reason,
            interrupted_at: request
                .interrupted_at
                .unwrap_or_else(OffsetDateTime::now_utc),
        },
    )
    .await
}

/// Completes a Running procedure by hand (e.g. after a reconduct halted before an action the
/// operator has checked).
#[utoipa::path(
    post, path = "/procedures/{id}/complete", tag = "lifecycle",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ProcedureView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn complete(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(_): OptionalBody<Empty>,
) -> Result<Response, ApiError> {
    refuse_if_conducting(&state, id)?;
    command(
        &state,
        id,
        ProcedureCommand::Complete {
            actuation_kind: ActuationKind::None,
        },
    )
    .await
}

/// A body that must be empty or `{}`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// Starts an iteration.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartIterationRequest {
    /// 1-based; the successor of the last begun.
    pub index: u32,
}

/// Starts an iteration of a Running procedure.
#[utoipa::path(
    post, path = "/procedures/{id}/iterations/start", tag = "lifecycle",
    params(("id" = Uuid, Path)),
    request_body = StartIterationRequest,
    responses(
        (status = 200, body = ProcedureView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not Running, one open, or the patience cap reached", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "not the successor index", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn start_iteration(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Body(request): Body<StartIterationRequest>,
) -> Result<Response, ApiError> {
    command(
        &state,
        id,
        ProcedureCommand::StartIteration {
            index: request.index,
        },
    )
    .await
}

/// Ends an iteration.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndIterationRequest {
    pub index: u32,
    pub converged: Option<bool>,
    pub reason: Option<String>,
}

/// Ends the open iteration of a Running or Held procedure.
#[utoipa::path(
    post, path = "/procedures/{id}/iterations/end", tag = "lifecycle",
    params(("id" = Uuid, Path)),
    request_body = EndIterationRequest,
    responses(
        (status = 200, body = ProcedureView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn end_iteration(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Body(request): Body<EndIterationRequest>,
) -> Result<Response, ApiError> {
    command(
        &state,
        id,
        ProcedureCommand::EndIteration {
            index: request.index,
            converged: request.converged,
            reason: request.reason,
        },
    )
    .await
}
