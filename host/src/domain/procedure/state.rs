//! The state a Procedure stream folds to. Built only by `evolve`; every field is carried by
//! struct update, so no event can drop one.

use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr, VariantArray};
use time::OffsetDateTime;
use uuid::Uuid;

use super::pin::Pin;
use crate::domain::actuation::ActuationKind;
use crate::domain::hold::HoldClaims;
use crate::domain::iteration::Iterations;
use crate::domain::value::Value;

/// Named by the variant (`Defined`, …) on the wire, in the database and in messages.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    IntoStaticStr,
    VariantArray,
)]
pub enum ProcedureStatus {
    Defined,
    Running,
    Held,
    Completed,
    Aborted,
    Truncated,
}

impl ProcedureStatus {
    /// Completed, Aborted and Truncated absorb: no command succeeds after them.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ProcedureStatus::Completed | ProcedureStatus::Aborted | ProcedureStatus::Truncated
        )
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::str::FromStr for ProcedureStatus {
    type Err = crate::domain::input::UnknownName;

    /// Parses the name `as_str` gives.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::domain::input::parse_name("procedure status", s)
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
