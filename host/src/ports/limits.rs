//! Per-channel write limits: a range and a maximum step. Shared by the safety check (before a
//! conduct starts) and the router (at dispatch, as a second line of defence), so both judge a
//! value the same way.

use serde::{Deserialize, Serialize};

use crate::domain::Value;

/// Limits on the values written to one channel. A channel with a range is numeric: a text or a
/// flag written to it is refused. A channel with a maximum step takes scalar numbers only,
/// because the size of a step between two lists is not well defined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The largest allowed `|new - previous|` between two writes to the channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_step: Option<f64>,
}

/// Why a value breaks a channel's limits.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LimitBreach {
    #[error("value {value:?} is not finite")]
    NotFinite { value: Value },
    #[error("a {kind} value cannot be judged against numeric limits")]
    NotNumeric { kind: &'static str },
    #[error("a list value cannot be judged against a maximum step")]
    NotScalar,
    #[error("value {value} is below the minimum {min}")]
    BelowMin { value: f64, min: f64 },
    #[error("value {value} is above the maximum {max}")]
    AboveMax { value: f64, max: f64 },
    #[error("step from {from} to {to} exceeds the maximum step {max_step}")]
    StepTooLarge { from: f64, to: f64, max_step: f64 },
}

impl ChannelLimits {
    /// Checks that the limits themselves make sense: finite bounds, `min <= max`, a positive
    /// maximum step. Returns the offending field's name and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (field, bound) in [("min", self.min), ("max", self.max)] {
            if let Some(b) = bound
                && !b.is_finite()
            {
                return Err((field, format!("must be finite, got {b}")));
            }
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            return Err(("min", format!("min {min} is greater than max {max}")));
        }
        if let Some(s) = self.max_step
            && !(s.is_finite() && s > 0.0)
        {
            return Err(("max_step", format!("must be finite and > 0, got {s}")));
        }
        Ok(())
    }

    fn has_range(&self) -> bool {
        self.min.is_some() || self.max.is_some()
    }

    fn check_number(&self, x: f64) -> Result<(), LimitBreach> {
        if let Some(min) = self.min
            && x < min
        {
            return Err(LimitBreach::BelowMin { value: x, min });
        }
        if let Some(max) = self.max
            && x > max
        {
            return Err(LimitBreach::AboveMax { value: x, max });
        }
        Ok(())
    }

    /// Judges one written value against the range (and the shape the maximum step needs).
    /// A non-finite value breaks every channel's limits, limited or not.
    pub fn check_value(&self, value: &Value) -> Result<(), LimitBreach> {
        if !value.is_finite() {
            return Err(LimitBreach::NotFinite {
                value: value.clone(),
            });
        }
        if !self.has_range() && self.max_step.is_none() {
            return Ok(());
        }
        match value {
            Value::Float(_) | Value::Int(_) => {
                let x = value.as_number().unwrap_or(f64::NAN);
                self.check_number(x)
            }
            Value::Floats(xs) => {
                if self.max_step.is_some() {
                    return Err(LimitBreach::NotScalar);
                }
                xs.iter().try_for_each(|x| self.check_number(*x))
            }
            Value::Text(_) | Value::Flag(_) => Err(LimitBreach::NotNumeric { kind: value.kind() }),
        }
    }

    /// Judges the step from `previous` to `next`; both are values already accepted by
    /// [`check_value`](Self::check_value). Without a maximum step every step is allowed.
    pub fn check_step(&self, previous: &Value, next: &Value) -> Result<(), LimitBreach> {
        let Some(max_step) = self.max_step else {
            return Ok(());
        };
        match (previous.as_number(), next.as_number()) {
            (Some(from), Some(to)) => {
                if (to - from).abs() > max_step {
                    Err(LimitBreach::StepTooLarge { from, to, max_step })
                } else {
                    Ok(())
                }
            }
            _ => Err(LimitBreach::NotScalar),
        }
    }
}
