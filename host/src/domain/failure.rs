//! Failure classes of a step. The class, not the message, decides whether try-conduct holds
//! (the failure may clear: resume can succeed) or aborts (it would fail the same way again).

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

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
pub enum FailureClass {
    /// The device did not answer, or a readback did not settle, in time.
    Timeout,
    /// The connection to the device was lost.
    Disconnected,
    /// The device refused the request (busy, invalid state).
    Rejected,
    /// The route or device is read-only, or writes are disabled: configuration.
    AccessDenied,
    /// The value lies outside the channel's limits.
    OutOfLimits,
    /// No route serves the channel: configuration.
    Unrouted,
    /// A check read a value that does not satisfy its criterion.
    CriterionMismatch,
    /// The device reported the value with bad quality (alarm, invalid).
    BadQuality,
}

impl FailureClass {
    /// A configuration failure would fail again on resume: it aborts rather than holds.
    /// `OutOfLimits` counts as configuration too: the limits do not change by waiting.
    pub fn is_configuration(self) -> bool {
        matches!(
            self,
            FailureClass::Unrouted | FailureClass::AccessDenied | FailureClass::OutOfLimits
        )
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}
