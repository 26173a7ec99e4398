//! The state a Run stream folds to.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::actuation::ActuationKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunStatus {
    Running,
    Held,
    Completed,
    Aborted,
    Stopped,
    Truncated,
}

impl RunStatus {
    pub const ALL: [RunStatus; 6] = [
        RunStatus::Running,
        RunStatus::Held,
        RunStatus::Completed,
        RunStatus::Aborted,
        RunStatus::Stopped,
        RunStatus::Truncated,
    ];

    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Running | RunStatus::Held)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "Running",
            RunStatus::Held => "Held",
            RunStatus::Completed => "Completed",
            RunStatus::Aborted => "Aborted",
            RunStatus::Stopped => "Stopped",
            RunStatus::Truncated => "Truncated",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RunStatus {
    type Err = crate::domain::input::UnknownName;

    /// Parses the name `as_str` gives.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::domain::input::parse_name("run status", &RunStatus::ALL, RunStatus::as_str, s)
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
