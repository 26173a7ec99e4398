//! `decide`: the events a command yields from a state, or why it is refused. Pure: the time and
//! the parent Run's status come in through the context. Checks run in a fixed order —
//! existence, status, input, the parent Run, then the aggregate's own guards — so a refusal
//! always names the first rule broken.

use super::command::{DefineProcedure, ProcedureCommand, ProcedureCommandKind, ProcedureContext};
use super::error::ProcedureError;
use super::events::{
    IterationEnded, IterationStarted, ProcedureAborted, ProcedureCompleted, ProcedureDefined,
    ProcedureEvent, ProcedureHeld, ProcedureResumed, ProcedureStarted, ProcedureTruncated,
    ResolvedStepsRecorded,
};
use super::state::{ProcedureState, ProcedureStatus};
use crate::domain::input::{self, InvalidInput};
use crate::domain::iteration::IterationRefusal;
use crate::domain::run::RunStatus;

use ProcedureCommandKind as K;
use ProcedureStatus as S;

/// The statuses a command may start from.
pub fn allowed_from(command: ProcedureCommandKind) -> &'static [ProcedureStatus] {
    match command {
        K::Define => &[],
        K::Start => &[S::Defined],
        K::StartIteration | K::Complete => &[S::Running],
        K::EndIteration | K::Hold | K::Abort | K::Truncate => &[S::Running, S::Held],
        K::Resume => &[S::Held],
    }
}

/// Decides `command` against `state` (`None`: the stream is empty).
pub fn decide(
    state: Option<&ProcedureState>,
    command: &ProcedureCommand,
    ctx: &ProcedureContext,
) -> Result<Vec<ProcedureEvent>, ProcedureError> {
    let kind = command.kind();
    let state = match (state, command) {
        (None, ProcedureCommand::Define(d)) => return define(d, ctx),
        (Some(s), ProcedureCommand::Define(_)) => {
            return Err(ProcedureError::AlreadyExists { status: s.status });
        }
        (None, _) => return Err(ProcedureError::NotFound { command: kind }),
        (Some(s), _) => s,
    };
    if !allowed_from(kind).contains(&state.status) {
        return Err(ProcedureError::WrongStatus {
            command: kind,
            status: state.status,
        });
    }
    let invalid = |input: InvalidInput| ProcedureError::Invalid {
        command: kind,
        input,
    };
    let iteration = |refusal: IterationRefusal| match refusal {
        IterationRefusal::Conflict(conflict) => ProcedureError::Iteration {
            command: kind,
            status: state.status,
            conflict,
        },
        IterationRefusal::Index(e) => invalid(e.into()),
    };
    let now = ctx.now;

    let event: ProcedureEvent = match command {
        ProcedureCommand::Define(_) => {
            return Err(ProcedureError::AlreadyExists {
                status: state.status,
            });
        }
        ProcedureCommand::Start { pin } => {
            input::sha256_hex("pin content hash", &pin.content_hash).map_err(invalid)?;
            if pin.component_digest != state.component_digest {
                return Err(invalid(InvalidInput::PinDigestMismatch {
                    pin: pin.component_digest.clone(),
                    procedure: state.component_digest.clone(),
                }));
            }
            input::named_values("parameter", &pin.params).map_err(invalid)?;
            input::named_values("observed read", &pin.observed_reads).map_err(invalid)?;
            parent_must_be_running(state, kind, ctx)?;
            return Ok(vec![
                ProcedureStarted { at: now }.into(),
                ResolvedStepsRecorded { pin: pin.clone() }.into(),
            ]);
        }
        ProcedureCommand::StartIteration { index } => {
            state.iterations.check_start(*index).map_err(iteration)?;
            IterationStarted {
                index: *index,
                at: now,
            }
            .into()
        }
        ProcedureCommand::EndIteration {
            index,
            converged,
            reason,
        } => {
            let reason = reason
                .as_deref()
                .map(input::reason)
                .transpose()
                .map_err(invalid)?;
            state.iterations.check_end(*index).map_err(iteration)?;
            IterationEnded {
                index: *index,
                converged: *converged,
                reason,
                at: now,
            }
            .into()
        }
        ProcedureCommand::Hold {
            cause,
            reason,
            actuation_kind,
        } => {
            let reason = input::reason(reason).map_err(invalid)?;
            if state.hold_claims.contains(*cause) {
                return Err(ProcedureError::ClaimAlreadyHeld {
                    cause: *cause,
                    status: state.status,
                });
            }
            ProcedureHeld {
                cause: *cause,
                reason,
                actuation_kind: state.actuation_kind.join(*actuation_kind),
                at: now,
            }
            .into()
        }
        ProcedureCommand::Resume { cause, boundary } => {
            if let Some(pin) = &state.pin
                && *boundary > pin.step_count
            {
                return Err(invalid(InvalidInput::BoundaryPastEnd {
                    boundary: *boundary,
                    step_count: pin.step_count,
                }));
            }
            parent_must_be_running(state, kind, ctx)?;
            let released = state.hold_claims.release_for(*cause).map_err(|remain| {
                ProcedureError::HoldClaimsRemain {
                    cause: *cause,
                    remaining: remain.0,
                }
            })?;
            ProcedureResumed {
                boundary: *boundary,
                cause: *cause,
                released,
                at: now,
            }
            .into()
        }
        ProcedureCommand::Complete { actuation_kind } => ProcedureCompleted {
            actuation_kind: state.actuation_kind.join(*actuation_kind),
            at: now,
        }
        .into(),
        ProcedureCommand::Abort {
            reason,
            actuation_kind,
        } => ProcedureAborted {
            reason: input::reason(reason).map_err(invalid)?,
            actuation_kind: state.actuation_kind.join(*actuation_kind),
            at: now,
        }
        .into(),
        ProcedureCommand::Truncate {
            reason,
            interrupted_at,
        } => {
            let reason = input::reason(reason).map_err(invalid)?;
            if *interrupted_at > now {
                return Err(invalid(InvalidInput::InterruptedInFuture {
                    interrupted_at: *interrupted_at,
                    now,
                }));
            }
            ProcedureTruncated {
                reason,
                interrupted_at: *interrupted_at,
                at: now,
            }
            .into()
        }
    };
    Ok(vec![event])
}

fn define(
    command: &DefineProcedure,
    ctx: &ProcedureContext,
) -> Result<Vec<ProcedureEvent>, ProcedureError> {
    let DefineProcedure {
        id,
        name,
        component_digest,
        params,
        parent_run,
        max_unconverged_iterations,
    } = command;
    let invalid = |input: InvalidInput| ProcedureError::Invalid {
        command: K::Define,
        input,
    };
    let name = input::name(name).map_err(invalid)?;
    input::sha256_hex("component digest", component_digest).map_err(invalid)?;
    input::named_values("parameter", params).map_err(invalid)?;
    if *max_unconverged_iterations == Some(0) {
        return Err(invalid(InvalidInput::ZeroPatienceCap));
    }
    // A procedure may be defined under a Held run (it waits to start), not under a closed one.
    if let Some(run) = *parent_run {
        match ctx.parent_run_status {
            None => {
                return Err(ProcedureError::ParentRunNotFound {
                    command: K::Define,
                    run,
                });
            }
            Some(run_status) if run_status.is_terminal() => {
                return Err(ProcedureError::ParentRun {
                    command: K::Define,
                    run,
                    run_status,
                });
            }
            Some(_) => {}
        }
    }
    Ok(vec![
        ProcedureDefined {
            id: *id,
            name,
            component_digest: component_digest.clone(),
            params: params.clone(),
            parent_run: *parent_run,
            max_unconverged_iterations: *max_unconverged_iterations,
            defined_at: ctx.now,
        }
        .into(),
    ])
}

/// Start and resume drive devices, so the parent Run must be Running: not Held (no cascade —
/// a held Run does not hold its procedures, it only keeps them from moving) and not closed.
fn parent_must_be_running(
    state: &ProcedureState,
    command: ProcedureCommandKind,
    ctx: &ProcedureContext,
) -> Result<(), ProcedureError> {
    let Some(run) = state.parent_run else {
        return Ok(());
    };
    match ctx.parent_run_status {
        None => Err(ProcedureError::ParentRunNotFound { command, run }),
        Some(RunStatus::Running) => Ok(()),
        Some(run_status) => Err(ProcedureError::ParentRun {
            command,
            run,
            run_status,
        }),
    }
}
