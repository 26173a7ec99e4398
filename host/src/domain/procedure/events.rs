//! The events of a Procedure stream. Each variant wraps one payload struct; the stored type name
//! is listed next to it. Status is never in a payload: it follows from the event type.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::pin::Pin;
use crate::domain::actuation::ActuationKind;
use crate::domain::codec::event_enum;
use crate::domain::hold::HoldCause;
use crate::domain::value::Value;

/// Genesis: the procedure exists, in `Defined`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcedureDefined {
    pub id: Uuid,
    pub name: String,
    /// Lowercase hex sha256 of the registered component.
    pub component_digest: String,
    pub params: Vec<(String, Value)>,
    #[serde(default)]
    pub parent_run: Option<Uuid>,
    /// Patience cap: at most this many consecutive unconverged iterations.
    #[serde(default)]
    pub max_unconverged_iterations: Option<u32>,
    #[serde(with = "time::serde::rfc3339")]
    pub defined_at: OffsetDateTime,
}

/// `Defined -> Running`. Always appended together with [`ResolvedStepsRecorded`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcedureStarted {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The pin of the steps this start will run; the steps are stored by content hash elsewhere.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedStepsRecorded {
    pub pin: Pin,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IterationStarted {
    /// 1-based, the strict successor of the iterations begun before.
    pub index: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IterationEnded {
    pub index: u32,
    /// `Some(true)` resets the patience streak; `Some(false)` and `None` extend it.
    #[serde(default)]
    pub converged: Option<bool>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A claim by `cause` holds the procedure. Carries the actuation kind so far, already joined
/// with the procedure's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcedureHeld {
    pub cause: HoldCause,
    pub reason: String,
    #[serde(default)]
    pub actuation_kind: ActuationKind,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// `Held -> Running`: every claim was released, `released` lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcedureResumed {
    /// The pinned step index execution re-establishes from.
    pub boundary: u64,
    /// Who resumed.
    pub cause: HoldCause,
    pub released: Vec<HoldCause>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcedureCompleted {
    /// The procedure's kind joined with the tail's.
    #[serde(default)]
    pub actuation_kind: ActuationKind,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcedureAborted {
    pub reason: String,
    /// The procedure's kind joined with the tail's.
    #[serde(default)]
    pub actuation_kind: ActuationKind,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Retroactive end of a conduct that died: `interrupted_at` is when it stopped, `at` when this
/// was recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcedureTruncated {
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub interrupted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

event_enum! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum ProcedureEvent {
        Defined(ProcedureDefined) = "ProcedureDefined",
        Started(ProcedureStarted) = "ProcedureStarted",
        ResolvedStepsRecorded(ResolvedStepsRecorded) = "ResolvedStepsRecorded",
        IterationStarted(IterationStarted) = "IterationStarted",
        IterationEnded(IterationEnded) = "IterationEnded",
        Held(ProcedureHeld) = "ProcedureHeld",
        Resumed(ProcedureResumed) = "ProcedureResumed",
        Completed(ProcedureCompleted) = "ProcedureCompleted",
        Aborted(ProcedureAborted) = "ProcedureAborted",
        Truncated(ProcedureTruncated) = "ProcedureTruncated",
    }
}
