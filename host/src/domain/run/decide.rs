//! `decide` for a Run: existence, status, then input, in that order.

use super::command::{RunCommand, RunCommandKind, RunContext};
use super::error::RunError;
use super::events::{
    RunAborted, RunCompleted, RunEvent, RunHeld, RunResumed, RunStarted, RunStopped, RunTruncated,
};
use super::state::{RunState, RunStatus};
use crate::domain::input::{self, InvalidInput};

use RunCommandKind as K;
use RunStatus as S;

/// The statuses a command may start from.
pub fn allowed_from(command: RunCommandKind) -> &'static [RunStatus] {
    match command {
        K::Start => &[],
        K::Hold | K::Complete => &[S::Running],
        K::Resume => &[S::Held],
        K::Abort | K::Stop | K::Truncate => &[S::Running, S::Held],
    }
}

/// Decides `command` against `state` (`None`: the stream is empty).
pub fn decide(
    state: Option<&RunState>,
    command: &RunCommand,
    ctx: &RunContext,
) -> Result<Vec<RunEvent>, RunError> {
    let kind = command.kind();
    let invalid = |input: InvalidInput| RunError::Invalid {
        command: kind,
        input,
    };
    let now = ctx.now;
    let state = match (state, command) {
        (None, RunCommand::Start { id, name }) => {
            let name = input::name(name).map_err(invalid)?;
            return Ok(vec![
                RunStarted {
                    id: *id,
                    name,
                    started_at: now,
                }
                .into(),
            ]);
        }
        (Some(s), RunCommand::Start { .. }) => {
            return Err(RunError::AlreadyExists { status: s.status });
        }
        (None, _) => return Err(RunError::NotFound { command: kind }),
        (Some(s), _) => s,
    };
    if !allowed_from(kind).contains(&state.status) {
        return Err(RunError::WrongStatus {
            command: kind,
            status: state.status,
        });
    }
    let event: RunEvent = match command {
        RunCommand::Start { .. } => {
            return Err(RunError::AlreadyExists {
                status: state.status,
            });
        }
        RunCommand::Hold { reason } => RunHeld {
            reason: input::reason(reason).map_err(invalid)?,
            at: now,
        }
        .into(),
        RunCommand::Resume => RunResumed { at: now }.into(),
        RunCommand::Complete { actuation_kind } => RunCompleted {
            actuation_kind: state.actuation_kind.join(*actuation_kind),
            at: now,
        }
        .into(),
        RunCommand::Abort {
            reason,
            actuation_kind,
        } => RunAborted {
            reason: input::reason(reason).map_err(invalid)?,
            actuation_kind: state.actuation_kind.join(*actuation_kind),
            at: now,
        }
        .into(),
        RunCommand::Stop {
            reason,
            actuation_kind,
        } => RunStopped {
            reason: input::reason(reason).map_err(invalid)?,
            actuation_kind: state.actuation_kind.join(*actuation_kind),
            at: now,
        }
        .into(),
        RunCommand::Truncate {
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
            RunTruncated {
                reason,
                interrupted_at: *interrupted_at,
                at: now,
            }
            .into()
        }
    };
    Ok(vec![event])
}
