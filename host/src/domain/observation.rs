//! Observations: what a device reported for a step that ran to `ok`, as typed values (and, for
//! a check that failed, the reading that failed it). A setpoint's write target and the settled
//! readback it was judged on, a check's reading, an action's named results. The conductor
//! records them as it journals each outcome. They travel in the journal entry's `detail` object under the
//! [`OBSERVED_KEY`] member, beside the keys the conductor already writes there (`channel`,
//! `value`, `device`, `command`, `actuation`, `answer`), which keep their meaning. Rows journaled
//! before observations existed have no such member and read as `None`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::value::Value;

/// The member of a journal entry's `detail` object that holds the [`Observation`].
pub const OBSERVED_KEY: &str = "observed";

/// How far a reported value can be trusted (the EPICS alarm severity, folded to three levels).
///
/// The ports re-export it: the one quality a reading carries, from the device to the journal.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Quality {
    Good,
    /// The device reports the value but flags it (a minor alarm, a stale cache).
    Uncertain,
    /// The device says the value is not to be trusted (a major alarm, invalid).
    Bad,
}

impl Quality {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A value as a device reported it, with its quality: what a port's read returns and what an
/// observation records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub value: Value,
    pub quality: Quality,
}

impl Reading {
    pub fn good(value: Value) -> Self {
        Reading {
            value,
            quality: Quality::Good,
        }
    }
}

/// What an `ok` outcome observed, by step kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Observation {
    /// The value written and, when the setpoint names a readback channel, the settled reading
    /// the criterion passed on (absent without a readback channel: the write alone was judged).
    Setpoint {
        target: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        readback: Option<Reading>,
    },
    /// The reading a check judged.
    Check { reading: Reading },
    /// An action's results by name (the WIT `value`s), in name order so the JSON is stable.
    Action { results: BTreeMap<String, Value> },
}

/// A `detail` object whose observation cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ObservationError {
    #[error("journal detail is not a JSON object")]
    DetailNotObject,
    #[error("journal detail's {OBSERVED_KEY:?} member does not decode: {0}")]
    Malformed(#[source] serde_json::Error),
}

impl Observation {
    /// The settled value of a setpoint: the readback when there is one, else the target the
    /// write completed with. `None` for a check or an action.
    pub fn settled(&self) -> Option<&Value> {
        match self {
            Observation::Setpoint { readback, target } => {
                Some(readback.as_ref().map_or(target, |r| &r.value))
            }
            Observation::Check { .. } | Observation::Action { .. } => None,
        }
    }

    /// Adds this observation to a journal `detail` object under [`OBSERVED_KEY`]; the other
    /// members are left as they are.
    pub fn insert_into(&self, detail: &mut Json) -> Result<(), ObservationError> {
        let observed = serde_json::to_value(self).map_err(ObservationError::Malformed)?;
        detail
            .as_object_mut()
            .ok_or(ObservationError::DetailNotObject)?
            .insert(OBSERVED_KEY.to_owned(), observed);
        Ok(())
    }

    /// Reads the observation of a journal `detail` object: `Ok(None)` when it has none (a row
    /// journaled before observations were recorded, an `in_flight` marker, a failure).
    pub fn from_detail(detail: &Json) -> Result<Option<Observation>, ObservationError> {
        let object = detail
            .as_object()
            .ok_or(ObservationError::DetailNotObject)?;
        match object.get(OBSERVED_KEY) {
            None => Ok(None),
            Some(observed) => Observation::deserialize(observed)
                .map(Some)
                .map_err(ObservationError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;
    use serde_json::json;
    use strum::VariantArray;

    use super::*;
    use crate::domain::testkit::arb_value;

    fn arb_quality() -> impl Strategy<Value = Quality> {
        prop::sample::select(Quality::VARIANTS.to_vec())
    }

    fn arb_observed() -> impl Strategy<Value = Reading> {
        (arb_value(), arb_quality()).prop_map(|(value, quality)| Reading { value, quality })
    }

    fn arb_observation() -> impl Strategy<Value = Observation> {
        prop_oneof![
            (arb_value(), prop::option::of(arb_observed()))
                .prop_map(|(target, readback)| Observation::Setpoint { target, readback }),
            arb_observed().prop_map(|reading| Observation::Check { reading }),
            prop::collection::btree_map("[a-z:._/]{1,10}", arb_value(), 0..4)
                .prop_map(|results| Observation::Action { results }),
        ]
    }

    /// The detail objects the conductor writes today, before observations.
    fn arb_old_detail() -> impl Strategy<Value = Json> {
        prop_oneof![
            (arb_value(), any::<bool>()).prop_map(|(v, outcome)| if outcome {
                json!({ "channel": "sim:mx", "value": v, "actuation": "simulated" })
            } else {
                json!({ "channel": "sim:mx", "value": v })
            }),
            arb_observed().prop_map(|r| json!({
                "channel": "sim:det", "actuation": "physical", "answer": r
            })),
            Just(
                json!({ "device": "sim:det", "command": "acquire", "actuation": "simulated",
                "answer": { "counts": 12, "exposure": 0.1 } })
            ),
            Just(json!({})),
        ]
    }

    proptest! {
        /// observation → detail JSON → observation, and the detail's other keys are kept.
        #[test]
        fn observations_round_trip_through_the_detail(o in arb_observation(), old in arb_old_detail()) {
            let mut detail = old.clone();
            o.insert_into(&mut detail).unwrap();
            prop_assert_eq!(Observation::from_detail(&detail).unwrap(), Some(o));
            for (key, value) in old.as_object().unwrap() {
                prop_assert_eq!(detail.get(key), Some(value));
            }
            // Through the stored text too (the journal stores JSON).
            let text = serde_json::to_string(&detail).unwrap();
            let back: Json = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(Observation::from_detail(&back).unwrap(), Observation::from_detail(&detail).unwrap());
        }

        /// Details written before observations existed read as none.
        #[test]
        fn old_details_have_no_observation(old in arb_old_detail()) {
            prop_assert!(Observation::from_detail(&old).unwrap().is_none());
        }
    }

    #[test]
    fn the_detail_shape_is_stable() {
        let mut detail = json!({ "channel": "sim:mx", "value": { "type": "float", "value": 1.5 } });
        Observation::Setpoint {
            target: Value::Float(1.5),
            readback: Some(Reading {
                value: Value::Float(1.4999),
                quality: Quality::Good,
            }),
        }
        .insert_into(&mut detail)
        .unwrap();
        assert_eq!(
            detail,
            json!({
                "channel": "sim:mx",
                "value": { "type": "float", "value": 1.5 },
                "observed": {
                    "kind": "setpoint",
                    "target": { "type": "float", "value": 1.5 },
                    "readback": { "value": { "type": "float", "value": 1.4999 }, "quality": "good" }
                }
            })
        );
        let action = Observation::Action {
            results: BTreeMap::from([("counts".to_owned(), Value::Int(7))]),
        };
        assert_eq!(
            serde_json::to_value(&action).unwrap(),
            json!({ "kind": "action", "results": { "counts": { "type": "int", "value": 7 } } })
        );
    }

    #[test]
    fn malformed_observations_are_errors() {
        for detail in [
            json!({ "observed": { "kind": "teleport" } }),
            json!({ "observed": { "kind": "check" } }),
            json!({ "observed": { "kind": "action", "results": { "x": 3 } } }),
            json!({ "observed": { "kind": "check", "reading": { "value": { "type": "int", "value": 1 }, "quality": "fine" } } }),
            json!({ "observed": 3 }),
        ] {
            assert!(
                matches!(
                    Observation::from_detail(&detail),
                    Err(ObservationError::Malformed(_))
                ),
                "{detail}"
            );
        }
        assert!(matches!(
            Observation::from_detail(&json!([1])),
            Err(ObservationError::DetailNotObject)
        ));
    }

    #[test]
    fn quality_strings_match_serde_and_strum() {
        for q in Quality::VARIANTS {
            assert_eq!(serde_json::to_value(q).unwrap(), json!(q.as_str()));
            assert_eq!(q.to_string(), q.as_str());
            assert_eq!(q.as_str().parse::<Quality>().unwrap(), *q);
        }
        assert_eq!(
            Quality::VARIANTS
                .iter()
                .map(|q| q.as_str())
                .collect::<Vec<_>>(),
            ["good", "uncertain", "bad"]
        );
    }
}
