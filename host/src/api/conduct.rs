//! The conduct verbs. Whatever the steps did, a verb that ran answers 200 with the
//! [`ConductOutcome`] (docs/procedures.md#outcome); only a refusal before anything ran is an error. With
//! `?wait=false` the verb is checked (the procedure exists, is in the right status, is not
//! being conducted here, the boundary fits; a waited verb is checked the same way), then runs
//! in the background: 202 with the
//! procedure's location, where progress and, at the end, the outcome show.
//!
//! Before either answer the verb claims the procedure on this host (the claim that refuses a
//! second local conduct, taken before the answer instead of in the task); it lasts until the
//! verb's task ends. Of concurrent verbs on one procedure exactly one is accepted, the others are
//! refused (409 `already-conducting`), also while the accepted one is still resolving its guest.
//! A verb accepted but refused when it starts records the refusal as `last_conduct`.
//!
//! Either way the verb runs in a task of its own: a client that hangs up on a waited conduct
//! does not cancel it (a conduct must never be abandoned between a marker and an outcome); its
//! outcome stays readable as `last_conduct` of the procedure.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, Problem, ProblemBody};
use super::extract::{OptionalBody, Params, PathParams};
use super::procedures::{Empty, load};
use super::state::{ApiState, ConductVerb};
use crate::conductor::{ConductError, ConductOutcome, Verb};
use crate::domain::procedure::{ProcedureCommandKind, ProcedureError, ProcedureStatus};

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// `false`: run in the background and answer 202 at once (default `true`).
    pub wait: Option<bool>,
}

/// The body of a reconduct.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconductRequest {
    /// The step to replay from (>= 0, at most the pinned count); default the interrupted step.
    pub boundary: Option<u64>,
}

/// A verb started in the background.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConductAccepted {
    pub procedure_id: Uuid,
    pub verb: Verb,
    /// Poll this for status, progress and, at the end, `last_conduct.outcome`.
    pub location: String,
    /// Follow this (Server-Sent Events) for live progress.
    pub stream: String,
}

async fn precheck(state: &ApiState, id: Uuid, verb: ConductVerb) -> Result<(), ApiError> {
    if state.shutting_down() {
        return Err(ApiError::new(
            Problem::ShuttingDown,
            "the host is shutting down and starts no new conduct",
        ));
    }
    if state.conductor.conducts().get(id).is_some() {
        return Err(ConductError::AlreadyConducting(id).into());
    }
    let (command, wanted) = match verb {
        ConductVerb::Conduct | ConductVerb::TryConduct => {
            (ProcedureCommandKind::Start, ProcedureStatus::Defined)
        }
        ConductVerb::Reconduct { .. } => (ProcedureCommandKind::Resume, ProcedureStatus::Held),
    };
    let procedure = load(state, id, command).await?;
    if procedure.status != wanted {
        return Err(ProcedureError::WrongStatus {
            command,
            status: procedure.status,
        }
        .into());
    }
    if let (
        ConductVerb::Reconduct {
            boundary: Some(boundary),
        },
        Some(pin),
    ) = (verb, &procedure.pin)
        && boundary > pin.step_count
    {
        return Err(ConductError::BoundaryPastEnd {
            boundary,
            step_count: pin.step_count,
        }
        .into());
    }
    Ok(())
}

async fn run(
    state: ApiState,
    id: Uuid,
    verb: ConductVerb,
    wait: bool,
) -> Result<Response, ApiError> {
    precheck(&state, id, verb).await?;
    // Of the verbs that passed the check concurrently, one claims the procedure; the others are
    // refused here, before anything is answered. The claim is taken after the check so that a
    // verb the check refuses never looks like a running conduct to a hold or an abort; the
    // conduct checks the status again under its claim (a refusal then is its `last_conduct`).
    let claim = state.conductor.claim(id)?;
    let task = state.start_conduct(claim, verb);
    if !wait {
        let location = format!("/procedures/{id}");
        let body = ConductAccepted {
            procedure_id: id,
            verb: verb.verb(),
            stream: format!("{location}/stream"),
            location: location.clone(),
        };
        return Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(body),
        )
            .into_response());
    }
    let outcome = task
        .await
        .map_err(|e| ApiError::internal(format!("the conduct task failed: {e}")))??;
    Ok(Json(outcome).into_response())
}

/// conduct: resolve (the guest, once) → safety check → start + pin → every step → complete;
/// a failure aborts.
#[utoipa::path(
    post, path = "/procedures/{id}/conduct", tag = "conduct",
    params(("id" = Uuid, Path), WaitQuery),
    responses(
        (status = 200, description = "ran: the outcome, whatever the steps did", body = ConductOutcome),
        (status = 202, description = "started in the background", body = ConductAccepted),
        (status = 404, description = "no such procedure", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not Defined, or already being conducted", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "the guest refused, or a step breaks the catalog (`step_index`, `rule`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "shutting down", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn conduct(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Params(query): Params<WaitQuery>,
    OptionalBody(_): OptionalBody<Empty>,
) -> Result<Response, ApiError> {
    run(state, id, ConductVerb::Conduct, query.wait.unwrap_or(true)).await
}

/// try-conduct: as conduct, but a recoverable step failure holds the procedure (cause
/// `step-fault`) with its pin, ready to reconduct.
#[utoipa::path(
    post, path = "/procedures/{id}/try-conduct", tag = "conduct",
    params(("id" = Uuid, Path), WaitQuery),
    responses(
        (status = 200, description = "ran: the outcome (`held` true if the hold landed)", body = ConductOutcome),
        (status = 202, description = "started in the background", body = ConductAccepted),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn try_conduct(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Params(query): Params<WaitQuery>,
    OptionalBody(_): OptionalBody<Empty>,
) -> Result<Response, ApiError> {
    run(
        state,
        id,
        ConductVerb::TryConduct,
        query.wait.unwrap_or(true),
    )
    .await
}

/// reconduct: resume a Held procedure and replay its pinned steps from the boundary (default
/// the interrupted step); never calls the guest, never re-fires an action that fired.
#[utoipa::path(
    post, path = "/procedures/{id}/reconduct", tag = "conduct",
    params(("id" = Uuid, Path), WaitQuery),
    request_body(content = ReconductRequest, description = "optional"),
    responses(
        (status = 200, description = "ran: the outcome (`halted` if it stopped before a fired action)", body = ConductOutcome),
        (status = 202, description = "started in the background", body = ConductAccepted),
        (status = 400, description = "boundary past the pinned steps", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not Held, parent run Held, claims remain, or already conducting", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "a negative or non-integer boundary", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["operate"]))
)]
pub async fn reconduct(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Params(query): Params<WaitQuery>,
    OptionalBody(request): OptionalBody<ReconductRequest>,
) -> Result<Response, ApiError> {
    run(
        state,
        id,
        ConductVerb::Reconduct {
            boundary: request.boundary,
        },
        query.wait.unwrap_or(true),
    )
    .await
}
