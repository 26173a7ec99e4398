//! Why a Procedure command is refused. Each variant names the command, and the status where
//! the status is the reason, so the HTTP layer can map it through [`RefusalKind`].

use uuid::Uuid;

use super::command::ProcedureCommandKind;
use super::state::ProcedureStatus;
use crate::domain::RefusalKind;
use crate::domain::hold::{HoldCause, list_causes};
use crate::domain::input::InvalidInput;
use crate::domain::iteration::IterationConflict;
use crate::domain::run::RunStatus;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProcedureError {
    #[error("cannot {command} procedure: not found")]
    NotFound { command: ProcedureCommandKind },
    #[error("cannot define procedure: it already exists, status is {status}")]
    AlreadyExists { status: ProcedureStatus },
    #[error("cannot {command} procedure: status is {status}")]
    WrongStatus {
        command: ProcedureCommandKind,
        status: ProcedureStatus,
    },
    #[error("cannot hold procedure: status is {status} and the {cause} claim already holds it")]
    ClaimAlreadyHeld {
        cause: HoldCause,
        status: ProcedureStatus,
    },
    #[error(
        "cannot resume procedure as {cause}: status stays Held, hold claims remain: {}",
        list_causes(remaining)
    )]
    HoldClaimsRemain {
        cause: HoldCause,
        remaining: Vec<HoldCause>,
    },
    #[error("cannot {command} procedure: parent run {run} is {run_status}")]
    ParentRun {
        command: ProcedureCommandKind,
        run: Uuid,
        run_status: RunStatus,
    },
    #[error("cannot {command} procedure: parent run {run} not found")]
    ParentRunNotFound {
        command: ProcedureCommandKind,
        run: Uuid,
    },
    #[error("cannot {command} procedure: status is {status} and {conflict}")]
    Iteration {
        command: ProcedureCommandKind,
        status: ProcedureStatus,
        conflict: IterationConflict,
    },
    #[error("cannot {command} procedure: {input}")]
    Invalid {
        command: ProcedureCommandKind,
        input: InvalidInput,
    },
}

impl ProcedureError {
    /// The command that was refused.
    pub fn command(&self) -> ProcedureCommandKind {
        match self {
            ProcedureError::NotFound { command }
            | ProcedureError::WrongStatus { command, .. }
            | ProcedureError::ParentRun { command, .. }
            | ProcedureError::ParentRunNotFound { command, .. }
            | ProcedureError::Iteration { command, .. }
            | ProcedureError::Invalid { command, .. } => *command,
            ProcedureError::AlreadyExists { .. } => ProcedureCommandKind::Define,
            ProcedureError::ClaimAlreadyHeld { .. } => ProcedureCommandKind::Hold,
            ProcedureError::HoldClaimsRemain { .. } => ProcedureCommandKind::Resume,
        }
    }

    pub fn kind(&self) -> RefusalKind {
        match self {
            ProcedureError::NotFound { .. } => RefusalKind::NotFound,
            ProcedureError::AlreadyExists { .. }
            | ProcedureError::WrongStatus { .. }
            | ProcedureError::ClaimAlreadyHeld { .. }
            | ProcedureError::HoldClaimsRemain { .. }
            | ProcedureError::ParentRun { .. }
            | ProcedureError::Iteration { .. } => RefusalKind::Conflict,
            ProcedureError::ParentRunNotFound { .. } | ProcedureError::Invalid { .. } => {
                RefusalKind::Invalid
            }
        }
    }
}
