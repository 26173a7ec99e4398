//! Typed values and the criteria that judge them. No coercion: an int never equals a text, a flag
//! is not a number, NaN never passes. Int and float meet as numbers only inside `Within` and
//! `Between`, which say so.

use serde::{Deserialize, Serialize};

/// A typed value, as a guest resolves it or a device reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Value {
    Float(f64),
    Int(i64),
    Text(String),
    Floats(Vec<f64>),
    Flag(bool),
}

impl Value {
    /// The name of the variant, as used in messages and parameter specs.
    pub fn kind(&self) -> &'static str {
        self.into()
    }

    /// The value as a number, for criteria that compare numbers. Only `Float` and `Int` are
    /// numbers; a flag, a text and a list are not.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The value as plain JSON, without its type tag (a number, a string, an array of numbers,
    /// a bool): the shape of a device's answer and of an event-model document's data. A
    /// non-finite float becomes `null` (JSON has no NaN).
    pub fn to_plain_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match self {
            Value::Float(x) => Json::from(*x),
            Value::Int(i) => Json::from(*i),
            Value::Text(s) => Json::from(s.as_str()),
            Value::Floats(xs) => Json::Array(xs.iter().map(|x| Json::from(*x)).collect()),
            Value::Flag(b) => Json::from(*b),
        }
    }

    /// True when every float in the value is finite. Steps with NaN or infinities are refused
    /// before they reach a device.
    pub fn is_finite(&self) -> bool {
        match self {
            Value::Float(x) => x.is_finite(),
            Value::Floats(xs) => xs.iter().all(|x| x.is_finite()),
            Value::Int(_) | Value::Text(_) | Value::Flag(_) => true,
        }
    }
}

/// What a check asks of a value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Criterion {
    /// Same type and equal. Floats compare exactly; NaN never equals anything.
    Equals { value: Value },
    /// `|actual - target| <= tolerance`, for an int or float actual.
    Within { target: f64, tolerance: f64 },
    /// `low <= actual <= high`, for an int or float actual.
    Between { low: f64, high: f64 },
}

/// Why a criterion is malformed or did not pass.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CriterionError {
    #[error("tolerance must be finite and >= 0, got {0}")]
    BadTolerance(f64),
    #[error("range must be finite with low <= high, got [{low}, {high}]")]
    BadRange { low: f64, high: f64 },
    #[error("target must be finite, got {0}")]
    BadTarget(f64),
    #[error("expected a {expected} value, got {actual}")]
    TypeMismatch {
        expected: &'static str,
        actual: &'static str,
    },
    #[error("value {actual} does not satisfy {criterion}")]
    NotSatisfied { actual: String, criterion: String },
}

impl Criterion {
    /// Checks that the criterion itself is well formed (tolerance >= 0, low <= high, finite).
    pub fn validate(&self) -> Result<(), CriterionError> {
        match self {
            Criterion::Equals { .. } => Ok(()),
            Criterion::Within { target, tolerance } => {
                if !target.is_finite() {
                    Err(CriterionError::BadTarget(*target))
                } else if !(tolerance.is_finite() && *tolerance >= 0.0) {
                    Err(CriterionError::BadTolerance(*tolerance))
                } else {
                    Ok(())
                }
            }
            Criterion::Between { low, high } => {
                if low.is_finite() && high.is_finite() && low <= high {
                    Ok(())
                } else {
                    Err(CriterionError::BadRange {
                        low: *low,
                        high: *high,
                    })
                }
            }
        }
    }

    /// Judges `actual`. Passing is `Ok(())`; every other outcome says why.
    pub fn evaluate(&self, actual: &Value) -> Result<(), CriterionError> {
        self.validate()?;
        let passed = match self {
            Criterion::Equals { value } => {
                if std::mem::discriminant(value) != std::mem::discriminant(actual) {
                    return Err(CriterionError::TypeMismatch {
                        expected: value.kind(),
                        actual: actual.kind(),
                    });
                }
                // PartialEq on f64 already makes NaN unequal to everything, itself included.
                value == actual
            }
            Criterion::Within { target, tolerance } => {
                let x = actual.as_number().ok_or(CriterionError::TypeMismatch {
                    expected: "number",
                    actual: actual.kind(),
                })?;
                (x - target).abs() <= *tolerance
            }
            Criterion::Between { low, high } => {
                let x = actual.as_number().ok_or(CriterionError::TypeMismatch {
                    expected: "number",
                    actual: actual.kind(),
                })?;
                *low <= x && x <= *high
            }
        };
        if passed {
            Ok(())
        } else {
            Err(CriterionError::NotSatisfied {
                actual: format!("{actual:?}"),
                criterion: format!("{self:?}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::*;

    fn equals(v: Value) -> Criterion {
        Criterion::Equals { value: v }
    }

    fn mismatch(c: &Criterion, v: &Value) -> bool {
        matches!(c.evaluate(v), Err(CriterionError::TypeMismatch { .. }))
    }

    #[test]
    fn an_int_never_equals_a_text_or_a_float() {
        let c = equals(Value::Int(1));
        assert_eq!(c.evaluate(&Value::Int(1)), Ok(()));
        assert!(mismatch(&c, &Value::Text("1".into())));
        assert!(mismatch(&c, &Value::Float(1.0)));
        assert!(mismatch(&equals(Value::Text("1".into())), &Value::Int(1)));
        assert!(matches!(
            c.evaluate(&Value::Int(2)),
            Err(CriterionError::NotSatisfied { .. })
        ));
    }

    #[test]
    fn a_flag_is_not_a_number() {
        assert!(mismatch(&equals(Value::Int(1)), &Value::Flag(true)));
        assert!(mismatch(&equals(Value::Flag(true)), &Value::Int(1)));
        let within = Criterion::Within {
            target: 1.0,
            tolerance: 0.5,
        };
        assert!(mismatch(&within, &Value::Flag(true)));
        let between = Criterion::Between {
            low: 0.0,
            high: 1.0,
        };
        assert!(mismatch(&between, &Value::Flag(false)));
        assert!(mismatch(&between, &Value::Text("0.5".into())));
        assert!(mismatch(&between, &Value::Floats(vec![0.5])));
        assert_eq!(
            equals(Value::Flag(true)).evaluate(&Value::Flag(true)),
            Ok(())
        );
    }

    #[test]
    fn int_and_float_meet_as_numbers_only_in_within_and_between() {
        let within = Criterion::Within {
            target: 10.0,
            tolerance: 0.25,
        };
        assert_eq!(within.evaluate(&Value::Int(10)), Ok(()));
        assert_eq!(within.evaluate(&Value::Float(10.25)), Ok(()));
        assert!(within.evaluate(&Value::Float(10.26)).is_err());
        let between = Criterion::Between {
            low: 1.0,
            high: 2.0,
        };
        assert_eq!(between.evaluate(&Value::Int(2)), Ok(()));
        assert_eq!(between.evaluate(&Value::Int(1)), Ok(()));
        assert!(between.evaluate(&Value::Int(3)).is_err());
        assert!(mismatch(&equals(Value::Float(2.0)), &Value::Int(2)));
    }

    #[test]
    fn nan_never_passes() {
        let nan = Value::Float(f64::NAN);
        assert!(equals(nan.clone()).evaluate(&nan).is_err());
        assert!(
            equals(Value::Floats(vec![f64::NAN]))
                .evaluate(&Value::Floats(vec![f64::NAN]))
                .is_err()
        );
        assert!(
            Criterion::Within {
                target: 0.0,
                tolerance: 1e300
            }
            .evaluate(&nan)
            .is_err()
        );
        assert!(
            Criterion::Between {
                low: -1e300,
                high: 1e300
            }
            .evaluate(&nan)
            .is_err()
        );
        // A NaN in the criterion itself is malformed.
        assert!(matches!(
            Criterion::Within { target: f64::NAN, tolerance: 1.0 }.validate(),
            Err(CriterionError::BadTarget(t)) if t.is_nan()
        ));
        assert!(matches!(
            Criterion::Within {
                target: 0.0,
                tolerance: f64::NAN
            }
            .validate(),
            Err(CriterionError::BadTolerance(_))
        ));
        assert!(matches!(
            Criterion::Between {
                low: f64::NAN,
                high: 1.0
            }
            .validate(),
            Err(CriterionError::BadRange { .. })
        ));
    }

    #[test]
    fn negative_tolerance_and_inverted_ranges_are_refused() {
        let c = Criterion::Within {
            target: 1.0,
            tolerance: -0.1,
        };
        assert_eq!(c.validate(), Err(CriterionError::BadTolerance(-0.1)));
        assert_eq!(
            c.evaluate(&Value::Float(1.0)),
            Err(CriterionError::BadTolerance(-0.1))
        );
        assert_eq!(
            Criterion::Within {
                target: 1.0,
                tolerance: f64::INFINITY
            }
            .validate(),
            Err(CriterionError::BadTolerance(f64::INFINITY))
        );
        assert_eq!(
            Criterion::Within {
                target: 1.0,
                tolerance: 0.0
            }
            .evaluate(&Value::Int(1)),
            Ok(())
        );
        assert_eq!(
            Criterion::Between {
                low: 2.0,
                high: 1.0
            }
            .validate(),
            Err(CriterionError::BadRange {
                low: 2.0,
                high: 1.0
            })
        );
    }

    #[test]
    fn values_have_a_tagged_wire_form() {
        assert_eq!(
            serde_json::to_value(Value::Int(3)).unwrap(),
            serde_json::json!({"type": "int", "value": 3})
        );
        assert_eq!(
            serde_json::to_value(Criterion::Within {
                target: 1.0,
                tolerance: 0.5
            })
            .unwrap(),
            serde_json::json!({"type": "within", "target": 1.0, "tolerance": 0.5})
        );
        assert!(!Value::Floats(vec![1.0, f64::INFINITY]).is_finite());
        assert!(Value::Text("nan".into()).is_finite());
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<f64>().prop_map(Value::Float),
            any::<i64>().prop_map(Value::Int),
            "[a-z0-9.]{0,4}".prop_map(Value::Text),
            prop::collection::vec(any::<f64>(), 0..3).prop_map(Value::Floats),
            any::<bool>().prop_map(Value::Flag),
        ]
    }

    proptest! {
        /// Equals passes exactly for the same variant with an equal payload.
        #[test]
        fn equals_never_coerces(a in arb_value(), b in arb_value()) {
            let passed = equals(a.clone()).evaluate(&b).is_ok();
            prop_assert_eq!(passed, a.kind() == b.kind() && a == b);
        }

        /// A NaN actual passes no criterion.
        #[test]
        fn a_nan_reading_never_passes(target in -1e6f64..1e6, tol in 0f64..1e6, low in -1e6f64..0.0, high in 0f64..1e6) {
            let nan = Value::Float(f64::NAN);
            prop_assert!(equals(nan.clone()).evaluate(&nan).is_err());
            let within = Criterion::Within { target, tolerance: tol };
            prop_assert!(within.evaluate(&nan).is_err());
            let between = Criterion::Between { low, high };
            prop_assert!(between.evaluate(&nan).is_err());
        }

        /// Within and Between judge ints and floats by numeric value, and nothing else.
        #[test]
        fn ranges_judge_numbers_only(v in arb_value(), target in -1e3f64..1e3, tol in 0f64..1e3) {
            let within = Criterion::Within { target, tolerance: tol };
            match v.as_number() {
                Some(x) => prop_assert_eq!(within.evaluate(&v).is_ok(), (x - target).abs() <= tol),
                None => prop_assert!(mismatch(&within, &v)),
            }
        }

        #[test]
        fn negative_tolerance_never_validates(tol in -1e9f64..-1e-12) {
            let within = Criterion::Within { target: 0.0, tolerance: tol };
            prop_assert!(within.validate().is_err());
        }
    }
}
