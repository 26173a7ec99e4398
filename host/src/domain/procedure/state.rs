//! The state a Procedure stream folds to. Built only by `evolve`; every field is carried by
//! struct update, so no event can drop one.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::pin::Pin;
use crate::domain::actuation::ActuationKind;
use crate::domain::hold::HoldClaims;
use crate::domain::iteration::Iterations;
use crate::domain::value::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProcedureStatus {
    Defined,
    Running,
    Held,
    Completed,
    Aborted,
    Truncated,
}

impl ProcedureStatus {
    pub const ALL: [ProcedureStatus; 6] = [
        ProcedureStatus::Defined,
        ProcedureStatus::Running,
        ProcedureStatus::Held,
        ProcedureStatus::Completed,
        ProcedureStatus::Aborted,
        ProcedureStatus::Truncated,
    ];

    /// Completed, Aborted and Truncated absorb: no command succeeds after them.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ProcedureStatus::Completed | ProcedureStatus::Aborted | ProcedureStatus::Truncated
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProcedureStatus::Defined => "Defined",
            ProcedureStatus::Running => "Running",
            ProcedureStatus::Held => "Held",
            ProcedureStatus::Completed => "Completed",
            ProcedureStatus::Aborted => "Aborted",
            ProcedureStatus::Truncated => "Truncated",
        }
    }
}

impl fmt::Display for ProcedureStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProcedureStatus {
    type Err = crate::domain::input::UnknownName;

    /// Parses the name `as_str` gives.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::domain::input::parse_name(
            "procedure status",
            &ProcedureStatus::ALL,
            ProcedureStatus::as_str,
            s,
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcedureState {
    pub id: Uuid,
    pub name: String,
    pub component_digest: String,
    pub params: Vec<(String, Value)>,
    pub parent_run: Option<Uuid>,
    pub status: ProcedureStatus,
    /// Non-empty exactly when the status is Held.
    pub hold_claims: HoldClaims,
    pub iterations: Iterations,
    /// Only ever joins upward.
    pub actuation_kind: ActuationKind,
    /// The pin of the start; `None` while Defined.
    pub pin: Option<Pin>,
    /// The reason of the last hold, abort or truncate; cleared on resume.
    pub status_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub defined_at: OffsetDateTime,
    /// The time of the last event.
    #[serde(with = "time::serde::rfc3339")]
    pub last_changed_at: OffsetDateTime,
    /// The number of events folded: the expected version for the next append.
    pub version: u64,
}
