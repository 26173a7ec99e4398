//! Actuation kind: which kind of device a procedure actually drove. A join-only lattice:
//! `None < {Simulated, Physical} < Hybrid`. Nothing ever overwrites a kind; kinds only join.

use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr, VariantArray};

#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
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
        self.into()
    }
}

impl std::str::FromStr for ActuationKind {
    type Err = crate::domain::input::UnknownName;

    /// Parses the name `as_str` gives.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::domain::input::parse_name("actuation kind", s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::ActuationKind::{self, *};

    fn arb() -> impl Strategy<Value = ActuationKind> {
        prop::sample::select(vec![None, Simulated, Physical, Hybrid])
    }

    #[test]
    fn simulated_then_physical_is_hybrid() {
        assert_eq!(Simulated.join(Physical), Hybrid);
        assert_eq!(Physical.join(Simulated), Hybrid);
        assert_eq!(None.join(Simulated), Simulated);
        assert_eq!(
            Physical.join(None),
            Physical,
            "an unknown tail never erases a kind"
        );
        assert_eq!(Hybrid.join(None), Hybrid);
        assert!(!Simulated.le(Physical) && !Physical.le(Simulated));
    }

    proptest! {
        #[test]
        fn join_is_a_semilattice(a in arb(), b in arb(), c in arb()) {
            prop_assert_eq!(a.join(b), b.join(a));
            prop_assert_eq!(a.join(b).join(c), a.join(b.join(c)));
            prop_assert_eq!(a.join(a), a);
            // Joining only ever goes up, None is the bottom and Hybrid the top.
            prop_assert!(a.le(a.join(b)) && b.le(a.join(b)));
            prop_assert!(None.le(a) && a.le(Hybrid));
        }

        #[test]
        fn wire_names_round_trip(a in arb()) {
            let s = serde_json::to_string(&a).unwrap();
            prop_assert_eq!(&s, &format!("\"{}\"", a.as_str()));
            prop_assert_eq!(serde_json::from_str::<ActuationKind>(&s).unwrap(), a);
            prop_assert_eq!(a.as_str().parse::<ActuationKind>().unwrap(), a);
        }
    }
}
