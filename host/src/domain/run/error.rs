//! Why a Run command is refused; each variant names the command and, where it is the reason,
//! the status.

use super::command::RunCommandKind;
use super::state::RunStatus;
use crate::domain::RefusalKind;
use crate::domain::input::InvalidInput;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("cannot {command} run: not found")]
    NotFound { command: RunCommandKind },
    #[error("cannot start run: it already exists, status is {status}")]
    AlreadyExists { status: RunStatus },
    #[error("cannot {command} run: status is {status}")]
    WrongStatus {
        command: RunCommandKind,
        status: RunStatus,
    },
    #[error("cannot {command} run: {input}")]
    Invalid {
        command: RunCommandKind,
        input: InvalidInput,
    },
}

impl RunError {
    pub fn command(&self) -> RunCommandKind {
        match self {
            RunError::NotFound { command }
            | RunError::WrongStatus { command, .. }
            | RunError::Invalid { command, .. } => *command,
            RunError::AlreadyExists { .. } => RunCommandKind::Start,
        }
    }

    pub fn kind(&self) -> RefusalKind {
        match self {
            RunError::NotFound { .. } => RefusalKind::NotFound,
            RunError::AlreadyExists { .. } | RunError::WrongStatus { .. } => RefusalKind::Conflict,
            RunError::Invalid { .. } => RefusalKind::Invalid,
        }
    }
}
