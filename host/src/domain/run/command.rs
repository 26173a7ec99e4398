//! The commands a Run accepts and the context of a decision.

use strum::{Display, IntoStaticStr, VariantArray};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::actuation::ActuationKind;

#[derive(Clone, Debug, PartialEq)]
pub enum RunCommand {
    /// Genesis: a run begins Running.
    Start {
        id: Uuid,
        name: String,
    },
    Hold {
        reason: String,
    },
    Resume,
    Complete {
        actuation_kind: ActuationKind,
    },
    Abort {
        reason: String,
        actuation_kind: ActuationKind,
    },
    Stop {
        reason: String,
        actuation_kind: ActuationKind,
    },
    Truncate {
        reason: String,
        interrupted_at: OffsetDateTime,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum RunCommandKind {
    Start,
    Hold,
    Resume,
    Complete,
    Abort,
    Stop,
    Truncate,
}

impl RunCommandKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl RunCommand {
    pub fn kind(&self) -> RunCommandKind {
        match self {
            RunCommand::Start { .. } => RunCommandKind::Start,
            RunCommand::Hold { .. } => RunCommandKind::Hold,
            RunCommand::Resume => RunCommandKind::Resume,
            RunCommand::Complete { .. } => RunCommandKind::Complete,
            RunCommand::Abort { .. } => RunCommandKind::Abort,
            RunCommand::Stop { .. } => RunCommandKind::Stop,
            RunCommand::Truncate { .. } => RunCommandKind::Truncate,
        }
    }
}

/// What a Run decision reads besides the state.
#[derive(Clone, Debug, PartialEq)]
pub struct RunContext {
    pub now: OffsetDateTime,
}

impl RunContext {
    pub fn at(now: OffsetDateTime) -> Self {
        RunContext { now }
    }
}
