//! The steps a guest resolves and the host pins: setpoint, check, action. Names are `Arc<str>`
//! so that a 100 000-step plan that names the same channel on every step holds one string.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

use super::value::{Criterion, Value};

/// A channel, device, command or argument name.
pub type Name = Arc<str>;

/// An idempotent absolute write, optionally confirmed by a readback within tolerance before the
/// settle time runs out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setpoint {
    pub channel: Name,
    pub value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readback: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_ms: Option<u32>,
}

/// A pure read judged by a criterion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub channel: Name,
    pub criterion: Criterion,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
}

/// A non-idempotent command on a device (acquire, trigger, open a shutter).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub device: Name,
    pub command: Name,
    #[serde(default)]
    pub args: Vec<(Name, Value)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
}

/// One pinned step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    Setpoint(Setpoint),
    Check(Check),
    Action(Action),
}

/// The kind of a step, for the journal and metrics.
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
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StepKind {
    Setpoint,
    Check,
    Action,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Setpoints and actions touch a device; a check only reads. Side-effecting steps get an
    /// `in_flight` journal marker before they are dispatched.
    pub fn has_effect(self) -> bool {
        !matches!(self, StepKind::Check)
    }
}

impl Step {
    pub fn kind(&self) -> StepKind {
        match self {
            Step::Setpoint(_) => StepKind::Setpoint,
            Step::Check(_) => StepKind::Check,
            Step::Action(_) => StepKind::Action,
        }
    }

    /// The channel or device the step addresses.
    pub fn target(&self) -> &str {
        match self {
            Step::Setpoint(s) => &s.channel,
            Step::Check(c) => &c.channel,
            Step::Action(a) => &a.device,
        }
    }
}
