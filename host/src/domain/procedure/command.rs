//! The commands a Procedure accepts, and the context a decision reads besides the state: the
//! time and, where a guard needs it, the parent Run's status (loaded by the caller).

use strum::{Display, IntoStaticStr, VariantArray};
use time::OffsetDateTime;
use uuid::Uuid;

use super::pin::Pin;
use crate::domain::actuation::ActuationKind;
use crate::domain::hold::HoldCause;
use crate::domain::run::RunStatus;
use crate::domain::value::Value;

/// The genesis command: what an operator asks to define.
#[derive(Clone, Debug, PartialEq)]
pub struct DefineProcedure {
    /// Chosen by the caller, so a retried define names the same procedure.
    pub id: Uuid,
    pub name: String,
    /// Lowercase hex sha256 of a registered component.
    pub component_digest: String,
    pub params: Vec<(String, Value)>,
    pub parent_run: Option<Uuid>,
    /// Patience cap, at least 1.
    pub max_unconverged_iterations: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ProcedureCommand {
    Define(DefineProcedure),
    /// Start and pin in one: yields `[ProcedureStarted, ResolvedStepsRecorded]`.
    Start {
        pin: Pin,
    },
    StartIteration {
        index: u32,
    },
    EndIteration {
        index: u32,
        converged: Option<bool>,
        reason: Option<String>,
    },
    Hold {
        cause: HoldCause,
        reason: String,
        /// The kind driven so far by the conduct that holds.
        actuation_kind: ActuationKind,
    },
    Resume {
        cause: HoldCause,
        boundary: u64,
    },
    Complete {
        actuation_kind: ActuationKind,
    },
    Abort {
        reason: String,
        actuation_kind: ActuationKind,
    },
    Truncate {
        reason: String,
        interrupted_at: OffsetDateTime,
    },
}

/// The name of a command, for errors and authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum ProcedureCommandKind {
    Define,
    Start,
    #[strum(serialize = "start iteration")]
    StartIteration,
    #[strum(serialize = "end iteration")]
    EndIteration,
    Hold,
    Resume,
    Complete,
    Abort,
    Truncate,
}

impl ProcedureCommandKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl ProcedureCommand {
    pub fn kind(&self) -> ProcedureCommandKind {
        match self {
            ProcedureCommand::Define(_) => ProcedureCommandKind::Define,
            ProcedureCommand::Start { .. } => ProcedureCommandKind::Start,
            ProcedureCommand::StartIteration { .. } => ProcedureCommandKind::StartIteration,
            ProcedureCommand::EndIteration { .. } => ProcedureCommandKind::EndIteration,
            ProcedureCommand::Hold { .. } => ProcedureCommandKind::Hold,
            ProcedureCommand::Resume { .. } => ProcedureCommandKind::Resume,
            ProcedureCommand::Complete { .. } => ProcedureCommandKind::Complete,
            ProcedureCommand::Abort { .. } => ProcedureCommandKind::Abort,
            ProcedureCommand::Truncate { .. } => ProcedureCommandKind::Truncate,
        }
    }
}

/// What a decision reads besides the state.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcedureContext {
    pub now: OffsetDateTime,
    /// The status of the parent Run: the one the define command names, or the procedure's own
    /// for start and resume. `None` when there is none or it was not found; the decider
    /// refuses if it needed one.
    pub parent_run_status: Option<RunStatus>,
}

impl ProcedureContext {
    pub fn at(now: OffsetDateTime) -> Self {
        ProcedureContext {
            now,
            parent_run_status: None,
        }
    }

    pub fn with_parent_run(self, status: RunStatus) -> Self {
        ProcedureContext {
            parent_run_status: Some(status),
            ..self
        }
    }
}
