//! Typed values and the criteria that judge them. No coercion: an int never equals a text, a flag
//! is not a number, NaN never passes. Int and float meet as numbers only inside `Within` and
//! `Between`, which say so.

use serde::{Deserialize, Serialize};

/// A typed value, as a guest resolves it or a device reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
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
        match self {
            Value::Float(_) => "float",
            Value::Int(_) => "int",
            Value::Text(_) => "text",
            Value::Floats(_) => "floats",
            Value::Flag(_) => "flag",
        }
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
