//! Hold causes and the claim algebra. A procedure is held by one claim per cause; a resume
//! releases the caller's claim, and an operator's resume also discharges the attention claims
//! (`step-fault`, `host-restart`) that nothing automatic ever clears. Any claim left afterwards
//! keeps the procedure held, and the refusal names it.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a procedure is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HoldCause {
    /// An operator asked for the hold (REST, CLI).
    Operator,
    /// try-conduct parked the procedure on a recoverable step failure.
    StepFault,
    /// Restart recovery found the procedure left running by a dead host.
    HostRestart,
}

impl HoldCause {
    pub const ALL: [HoldCause; 3] = [
        HoldCause::Operator,
        HoldCause::StepFault,
        HoldCause::HostRestart,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldCause::Operator => "operator",
            HoldCause::StepFault => "step-fault",
            HoldCause::HostRestart => "host-restart",
        }
    }

    /// The claims a resume by this cause may release, given the claims present.
    fn may_release(self, claim: HoldCause) -> bool {
        // The operator outranks the machine causes: it is the one who looked at the fault.
        self == claim || self == HoldCause::Operator
    }
}

impl fmt::Display for HoldCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The active hold claims of a held procedure: at most one per cause, in cause order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HoldClaims(BTreeSet<HoldCause>);

/// A resume that would leave claims in place; it is refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsRemain(pub Vec<HoldCause>);

impl HoldClaims {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, cause: HoldCause) -> bool {
        self.0.contains(&cause)
    }

    pub fn iter(&self) -> impl Iterator<Item = HoldCause> + '_ {
        self.0.iter().copied()
    }

    /// The claims plus `cause`.
    pub fn with(&self, cause: HoldCause) -> Self {
        let mut claims = self.0.clone();
        claims.insert(cause);
        HoldClaims(claims)
    }

    /// What a resume by `cause` releases. Either every claim goes (the procedure runs again) or
    /// the resume is refused with the claims it could not release (the procedure stays held).
    pub fn release_for(&self, cause: HoldCause) -> Result<Vec<HoldCause>, ClaimsRemain> {
        let remaining: Vec<HoldCause> = self.iter().filter(|c| !cause.may_release(*c)).collect();
        if remaining.is_empty() {
            Ok(self.iter().collect())
        } else {
            Err(ClaimsRemain(remaining))
        }
    }
}

impl FromIterator<HoldCause> for HoldClaims {
    fn from_iter<I: IntoIterator<Item = HoldCause>>(iter: I) -> Self {
        HoldClaims(iter.into_iter().collect())
    }
}

/// Formats a list of causes for messages: `operator, step-fault`.
pub fn list_causes(causes: &[HoldCause]) -> String {
    causes
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
