//! Hold causes and the claim algebra. A procedure is held by one claim per cause; a resume
//! releases the caller's claim, and an operator's resume also discharges the attention claims
//! (`step-fault`, `host-restart`) that nothing automatic ever clears. Any claim left afterwards
//! keeps the procedure held, and the refusal names it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr, VariantArray};

/// Why a procedure is held.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Display,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum HoldCause {
    /// An operator asked for the hold (REST, CLI).
    Operator,
    /// try-conduct parked the procedure on a recoverable step failure.
    StepFault,
    /// Restart recovery found the procedure left running by a dead host.
    HostRestart,
}

impl HoldCause {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The claims a resume by this cause may release, given the claims present.
    fn may_release(self, claim: HoldCause) -> bool {
        // The operator outranks the machine causes: it is the one who looked at the fault.
        self == claim || self == HoldCause::Operator
    }
}

impl std::str::FromStr for HoldCause {
    type Err = crate::domain::input::UnknownName;

    /// Parses the name `as_str` gives.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::domain::input::parse_name("hold cause", s)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::*;

    use HoldCause::{HostRestart, Operator, StepFault};

    fn claims(c: &[HoldCause]) -> HoldClaims {
        c.iter().copied().collect()
    }

    #[test]
    fn causes_are_kebab_case_on_the_wire() {
        assert_eq!(serde_json::to_string(&StepFault).unwrap(), "\"step-fault\"");
        assert_eq!(
            serde_json::to_string(&HostRestart).unwrap(),
            "\"host-restart\""
        );
        assert_eq!(serde_json::to_string(&Operator).unwrap(), "\"operator\"");
        assert!(serde_json::from_str::<HoldCause>("\"step_fault\"").is_err());
        for &cause in HoldCause::VARIANTS {
            assert_eq!(
                serde_json::to_string(&cause).unwrap(),
                format!("\"{cause}\"")
            );
        }
    }

    #[test]
    fn operator_plus_step_fault() {
        let held = claims(&[StepFault, Operator]);
        assert_eq!(
            held.release_for(StepFault),
            Err(ClaimsRemain(vec![Operator]))
        );
        assert_eq!(
            held.release_for(HostRestart),
            Err(ClaimsRemain(vec![Operator, StepFault]))
        );
        assert_eq!(held.release_for(Operator), Ok(vec![Operator, StepFault]));
    }

    #[test]
    fn the_operator_discharges_attention_claims_it_does_not_own() {
        assert_eq!(
            claims(&[StepFault]).release_for(Operator),
            Ok(vec![StepFault])
        );
        assert_eq!(
            claims(&[HostRestart, StepFault]).release_for(Operator),
            Ok(vec![StepFault, HostRestart])
        );
    }

    #[test]
    fn a_machine_cause_releases_only_its_own_claim() {
        assert_eq!(
            claims(&[StepFault]).release_for(StepFault),
            Ok(vec![StepFault])
        );
        assert_eq!(
            claims(&[StepFault]).release_for(HostRestart),
            Err(ClaimsRemain(vec![StepFault]))
        );
        assert_eq!(
            claims(&[StepFault, HostRestart]).release_for(HostRestart),
            Err(ClaimsRemain(vec![StepFault]))
        );
        assert_eq!(
            list_causes(&[Operator, HostRestart]),
            "operator, host-restart"
        );
    }

    proptest! {
        /// A resume either releases every claim or is refused naming exactly the claims the
        /// cause may not release; only the operator always succeeds.
        #[test]
        fn release_is_all_or_nothing(
            held in prop::sample::subsequence(HoldCause::VARIANTS.to_vec(), 0..=3),
            cause in prop::sample::select(HoldCause::VARIANTS.to_vec()),
        ) {
            let c = claims(&held);
            match c.release_for(cause) {
                Ok(released) => {
                    prop_assert_eq!(released, c.iter().collect::<Vec<_>>());
                    prop_assert!(cause == Operator || c.iter().all(|x| x == cause));
                }
                Err(ClaimsRemain(remaining)) => {
                    prop_assert!(cause != Operator);
                    prop_assert!(!remaining.is_empty());
                    prop_assert!(!remaining.contains(&cause));
                    prop_assert_eq!(remaining, c.iter().filter(|x| *x != cause).collect::<Vec<_>>());
                }
            }
        }

        #[test]
        fn with_adds_one_claim_per_cause(
            adds in prop::collection::vec(prop::sample::select(HoldCause::VARIANTS.to_vec()), 0..8),
        ) {
            let c = adds.iter().fold(HoldClaims::new(), |c, a| c.with(*a));
            let mut distinct = adds.clone();
            distinct.sort();
            distinct.dedup();
            prop_assert_eq!(c.len(), distinct.len());
            prop_assert_eq!(c.iter().collect::<Vec<_>>(), distinct);
        }
    }
}
