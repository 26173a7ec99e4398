//! The events of a Run stream (the parent experiment of procedures).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::actuation::ActuationKind;
use crate::domain::codec::event_enum;

/// Genesis: the run exists, in `Running`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunHeld {
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResumed {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunCompleted {
    #[serde(default)]
    pub actuation_kind: ActuationKind,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Emergency end: the data are suspect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunAborted {
    pub reason: String,
    #[serde(default)]
    pub actuation_kind: ActuationKind,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Controlled early end: the data so far are valid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStopped {
    pub reason: String,
    #[serde(default)]
    pub actuation_kind: ActuationKind,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Retroactive close of a run that died.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunTruncated {
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub interrupted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

event_enum! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum RunEvent {
        Started(RunStarted) = "RunStarted",
        Held(RunHeld) = "RunHeld",
        Resumed(RunResumed) = "RunResumed",
        Completed(RunCompleted) = "RunCompleted",
        Aborted(RunAborted) = "RunAborted",
        Stopped(RunStopped) = "RunStopped",
        Truncated(RunTruncated) = "RunTruncated",
    }
}
