//! Actuation kind: which kind of device a procedure actually drove. A join-only lattice:
//! `None < {Simulated, Physical} < Hybrid`. Nothing ever overwrites a kind; kinds only join.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActuationKind {
    /// No device was dispatched yet.
    #[default]
    None,
    Simulated,
    Physical,
    /// Both simulated and physical devices were driven.
    Hybrid,
}

impl ActuationKind {
    /// The least upper bound of two kinds.
    pub fn join(self, other: ActuationKind) -> ActuationKind {
        use ActuationKind::*;
        match (self, other) {
            (None, k) | (k, None) => k,
            (a, b) if a == b => a,
            _ => Hybrid,
        }
    }

    /// `self <= other` in the lattice.
    pub fn le(self, other: ActuationKind) -> bool {
        self.join(other) == other
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActuationKind::None => "none",
            ActuationKind::Simulated => "simulated",
            ActuationKind::Physical => "physical",
            ActuationKind::Hybrid => "hybrid",
        }
    }
}
