//! What a conduct verb returns when it ran: always a body, never an HTTP error, for step and
//! lifecycle outcomes (docs/procedures.md#outcome). Refusals before anything ran are [`super::ConductError`]s.

use serde::Serialize;
use uuid::Uuid;

use crate::domain::procedure::ProcedureStatus;
use crate::domain::{ActuationKind, FailureClass, StepKind};

/// The three conduct verbs.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Verb {
    /// resolve → safety → start + pin → execute → complete; a failure aborts.
    Conduct,
    /// As conduct, but a recoverable failure holds (cause `step-fault`).
    TryConduct,
    /// resume → execute_from(pinned, boundary): never calls the guest.
    Reconduct,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A step that failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepFailure {
    /// Absolute index in the pinned list.
    pub step_index: u64,
    pub kind: StepKind,
    /// The channel or device.
    pub target: String,
    pub class: FailureClass,
    pub message: String,
}

impl StepFailure {
    /// The hold/abort reason: `setpoint[3] sim:mx failed: timeout: …`, at most 500 characters.
    pub fn reason(&self) -> String {
        let mut reason = format!(
            "{}[{}] {} failed: {}: {}",
            self.kind.as_str(),
            self.step_index,
            self.target,
            self.class.as_str(),
            self.message
        );
        if reason.chars().count() > 500 {
            reason = reason.chars().take(497).collect::<String>() + "...";
        }
        reason
    }
}

/// Replay stopped before an action that already fired: never re-run an acquisition unasked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Halt {
    pub step_index: u64,
    pub target: String,
    pub reason: String,
}

/// An operator's hold or abort that took effect at a step boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorStop {
    HeldByOperator,
    AbortedByOperator,
}

/// What the guest's one resolution cost (conduct and try-conduct; reconduct never calls it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResolutionCost {
    pub fuel_used: u64,
    /// Wall time of the `resolve` call, host reads included.
    pub resolve_seconds: f64,
    pub peak_memory_bytes: u64,
    /// Reads the guest made.
    pub reads: usize,
}

/// The result of a conduct verb that got as far as running (or trying to run) steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConductOutcome {
    pub procedure_id: Uuid,
    pub verb: Verb,
    /// The procedure's status after the verb (as far as this host knows).
    pub status: ProcedureStatus,
    /// True when every step ran and the procedure completed.
    pub succeeded: bool,
    /// True only if a hold (step fault or operator) actually landed.
    pub held: bool,
    /// Reconduct stopped before an action that already fired; the procedure stays Running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub halted: Option<Halt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<OperatorStop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<StepFailure>,
    /// A lifecycle transition (hold, complete, abort) that was due and did not land: never
    /// swallowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_failure: Option<String>,
    /// Steps that ran to `ok` in this verb.
    pub completed_steps: u64,
    /// Size of the pinned list.
    pub step_count: u64,
    /// Where a reconduct started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary: Option<u64>,
    /// What this verb drove, joined with what the procedure had driven before.
    pub actuation_kind: ActuationKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ResolutionCost>,
}
