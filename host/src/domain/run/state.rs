//! The state a Run stream folds to.

use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr, VariantArray};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::actuation::ActuationKind;

/// Named by the variant (`Running`, …) on the wire, in the database and in messages.
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
pub enum RunStatus {
    Running,
    Held,
    Completed,
    Aborted,
    Stopped,
    Truncated,
}

impl RunStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Running | RunStatus::Held)
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::str::FromStr for RunStatus {
    type Err = crate::domain::input::UnknownName;

    /// Parses the name `as_str` gives.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::domain::input::parse_name("run status", s)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub id: Uuid,
    pub name: String,
    pub status: RunStatus,
    /// The reason of the last hold, abort, stop or truncate; cleared on resume.
    pub status_reason: Option<String>,
    /// Only ever joins upward.
    pub actuation_kind: ActuationKind,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_changed_at: OffsetDateTime,
    pub version: u64,
}
