//! Conversion between the WIT types the guest speaks and the domain types the host pins. The
//! plan's names are turned into one `Arc<str>` each and shared by every step that uses them; every
//! value and criterion is checked on the way (finite numbers, capped strings and lists, well-formed
//! criteria), so nothing malformed reaches the pin.

use std::sync::Arc;

use super::bindings::baton::procedure::types as wit;
use super::error::ResolveError;
use super::limits::Limits;
use crate::domain::{Action, Check, Criterion, Name, Setpoint, Step, Value};

pub(crate) fn value_to_wit(value: &Value) -> wit::Value {
    match value {
        Value::Float(x) => wit::Value::Float(*x),
        Value::Int(i) => wit::Value::Int(*i),
        Value::Text(s) => wit::Value::Text(s.clone()),
        Value::Floats(xs) => wit::Value::Floats(xs.clone()),
        Value::Flag(b) => wit::Value::Flag(*b),
    }
}

pub(crate) fn value_from_wit(value: wit::Value) -> Value {
    match value {
        wit::Value::Float(x) => Value::Float(x),
        wit::Value::Int(i) => Value::Int(i),
        wit::Value::Text(s) => Value::Text(s),
        wit::Value::Floats(xs) => Value::Floats(xs),
        wit::Value::Flag(b) => Value::Flag(b),
    }
}

/// Why a value cannot be pinned: over a cap, or not a usable number.
pub(crate) enum ValueProblem {
    TooLarge(String),
    Invalid(String),
}

impl ValueProblem {
    pub(crate) fn message(&self) -> &str {
        match self {
            ValueProblem::TooLarge(m) | ValueProblem::Invalid(m) => m,
        }
    }

    fn at(self, context: &str) -> ResolveError {
        match self {
            ValueProblem::TooLarge(m) => ResolveError::OutputTooLarge(format!("{context}: {m}")),
            ValueProblem::Invalid(m) => ResolveError::InvalidOutput(format!("{context}: {m}")),
        }
    }
}

/// Checks a value against the output caps and refuses non-finite numbers.
pub(crate) fn check_value(value: &Value, limits: &Limits) -> Result<(), ValueProblem> {
    match value {
        Value::Text(s) if s.len() > limits.max_string_bytes => {
            Err(ValueProblem::TooLarge(format!(
                "a text value is {} bytes; the limit is {}",
                s.len(),
                limits.max_string_bytes
            )))
        }
        Value::Floats(xs) if xs.len() > limits.max_floats => Err(ValueProblem::TooLarge(format!(
            "a floats value has {} elements; the limit is {}",
            xs.len(),
            limits.max_floats
        ))),
        v if !v.is_finite() => Err(ValueProblem::Invalid(format!("value {v:?} is not finite"))),
        _ => Ok(()),
    }
}

struct Names {
    names: Vec<Name>,
}

impl Names {
    fn get(&self, index: u32, step: usize, what: &str) -> Result<Name, ResolveError> {
        self.names.get(index as usize).cloned().ok_or_else(|| {
            ResolveError::InvalidOutput(format!(
                "step {step}: {what} refers to name {index}, but the plan has {} names",
                self.names.len()
            ))
        })
    }
}

/// Turns the guest's plan into pinned steps, or says which step or cap is wrong.
pub(crate) fn plan_to_steps(plan: wit::Plan, limits: &Limits) -> Result<Vec<Step>, ResolveError> {
    if plan.steps.len() > limits.max_steps {
        return Err(ResolveError::OutputTooLarge(format!(
            "the plan has {} steps; the limit is {}",
            plan.steps.len(),
            limits.max_steps
        )));
    }
    let mut names = Vec::with_capacity(plan.names.len());
    for (i, name) in plan.names.into_iter().enumerate() {
        if name.len() > limits.max_string_bytes {
            return Err(ResolveError::OutputTooLarge(format!(
                "name {i} is {} bytes; the limit is {}",
                name.len(),
                limits.max_string_bytes
            )));
        }
        if name.is_empty() {
            return Err(ResolveError::InvalidOutput(format!("name {i} is empty")));
        }
        names.push(Arc::<str>::from(name));
    }
    let names = Names { names };

    let mut steps = Vec::with_capacity(plan.steps.len());
    for (i, step) in plan.steps.into_iter().enumerate() {
        steps.push(convert_step(i, step, &names, limits)?);
    }
    Ok(steps)
}

fn convert_step(
    i: usize,
    step: wit::Step,
    names: &Names,
    limits: &Limits,
) -> Result<Step, ResolveError> {
    let value = |v: wit::Value, what: &str| -> Result<Value, ResolveError> {
        let v = value_from_wit(v);
        check_value(&v, limits).map_err(|p| p.at(&format!("step {i}: {what}")))?;
        Ok(v)
    };
    match step {
        wit::Step::Setpoint(s) => {
            if let Some(t) = s.tolerance
                && !(t.is_finite() && t >= 0.0)
            {
                return Err(ResolveError::InvalidOutput(format!(
                    "step {i}: setpoint tolerance must be finite and >= 0, got {t}"
                )));
            }
            Ok(Step::Setpoint(Setpoint {
                channel: names.get(s.channel, i, "setpoint channel")?,
                value: value(s.value, "setpoint value")?,
                readback: s
                    .readback
                    .map(|r| names.get(r, i, "setpoint readback"))
                    .transpose()?,
                tolerance: s.tolerance,
                settle_ms: s.settle_ms,
            }))
        }
        wit::Step::Check(c) => {
            let criterion = match c.criterion {
                wit::Criterion::Equals(v) => Criterion::Equals {
                    value: value(v, "check criterion")?,
                },
                wit::Criterion::Within(b) => Criterion::Within {
                    target: b.target,
                    tolerance: b.tolerance,
                },
                wit::Criterion::Between(r) => Criterion::Between {
                    low: r.low,
                    high: r.high,
                },
            };
            criterion.validate().map_err(|e| {
                ResolveError::InvalidOutput(format!("step {i}: check criterion: {e}"))
            })?;
            Ok(Step::Check(Check {
                channel: names.get(c.channel, i, "check channel")?,
                criterion,
                timeout_ms: c.timeout_ms,
            }))
        }
        wit::Step::Action(a) => {
            if a.args.len() > limits.max_action_args {
                return Err(ResolveError::OutputTooLarge(format!(
                    "step {i}: the action has {} arguments; the limit is {}",
                    a.args.len(),
                    limits.max_action_args
                )));
            }
            let mut args = Vec::with_capacity(a.args.len());
            for (name, v) in a.args {
                args.push((
                    names.get(name, i, "action argument")?,
                    value(v, "action argument")?,
                ));
            }
            Ok(Step::Action(Action {
                device: names.get(a.device, i, "action device")?,
                command: names.get(a.command, i, "action command")?,
                args,
                timeout_ms: a.timeout_ms,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn setpoint(channel: u32, value: wit::Value) -> wit::Step {
        wit::Step::Setpoint(wit::Setpoint {
            channel,
            value,
            readback: None,
            tolerance: None,
            settle_ms: None,
        })
    }

    fn plan(names: &[&str], steps: Vec<wit::Step>) -> wit::Plan {
        wit::Plan {
            names: names.iter().map(|s| s.to_string()).collect(),
            steps,
        }
    }

    #[test]
    fn names_are_shared_between_steps() {
        let steps = plan_to_steps(
            plan(
                &["m1", "det"],
                vec![
                    setpoint(0, wit::Value::Float(1.0)),
                    setpoint(0, wit::Value::Float(2.0)),
                    wit::Step::Action(wit::Action {
                        device: 1,
                        command: 1,
                        args: vec![(0, wit::Value::Int(3))],
                        timeout_ms: Some(10),
                    }),
                ],
            ),
            &Limits::default(),
        )
        .unwrap();
        let (Step::Setpoint(a), Step::Setpoint(b)) = (&steps[0], &steps[1]) else {
            panic!("expected setpoints: {steps:?}");
        };
        assert!(Arc::ptr_eq(&a.channel, &b.channel));
        assert_eq!(steps[2].target(), "det");
    }

    #[test]
    fn out_of_range_name_index_is_invalid_output() {
        let err = plan_to_steps(
            plan(&["m1"], vec![setpoint(5, wit::Value::Float(1.0))]),
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_output");
        assert!(err.to_string().contains("name 5"), "{err}");
    }

    #[test]
    fn non_finite_values_and_bad_tolerances_are_refused() {
        let limits = Limits::default();
        let nan = plan_to_steps(
            plan(&["m1"], vec![setpoint(0, wit::Value::Float(f64::NAN))]),
            &limits,
        )
        .unwrap_err();
        assert_eq!(nan.kind(), "invalid_output");
        let inf = plan_to_steps(
            plan(
                &["m1"],
                vec![setpoint(0, wit::Value::Floats(vec![1.0, f64::INFINITY]))],
            ),
            &limits,
        )
        .unwrap_err();
        assert_eq!(inf.kind(), "invalid_output");
        let tol = plan_to_steps(
            plan(
                &["m1"],
                vec![wit::Step::Check(wit::Check {
                    channel: 0,
                    criterion: wit::Criterion::Within(wit::ToleranceBand {
                        target: 1.0,
                        tolerance: -0.5,
                    }),
                    timeout_ms: None,
                })],
            ),
            &limits,
        )
        .unwrap_err();
        assert!(tol.to_string().contains("tolerance"), "{tol}");
        let sp_tol = plan_to_steps(
            plan(
                &["m1"],
                vec![wit::Step::Setpoint(wit::Setpoint {
                    channel: 0,
                    value: wit::Value::Float(1.0),
                    readback: Some(0),
                    tolerance: Some(f64::NAN),
                    settle_ms: None,
                })],
            ),
            &limits,
        )
        .unwrap_err();
        assert_eq!(sp_tol.kind(), "invalid_output");
    }

    #[test]
    fn caps_are_output_too_large() {
        let limits = Limits {
            max_steps: 2,
            max_string_bytes: 4,
            ..Limits::default()
        };
        let many = plan_to_steps(
            plan(
                &["m1"],
                (0..3).map(|_| setpoint(0, wit::Value::Int(1))).collect(),
            ),
            &limits,
        )
        .unwrap_err();
        assert_eq!(many.kind(), "output_too_large");
        let long_name = plan_to_steps(plan(&["motor"], vec![]), &limits).unwrap_err();
        assert_eq!(long_name.kind(), "output_too_large");
        let long_text = plan_to_steps(
            plan(&["m1"], vec![setpoint(0, wit::Value::Text("hello".into()))]),
            &limits,
        )
        .unwrap_err();
        assert_eq!(long_text.kind(), "output_too_large");
    }

    #[test]
    fn values_round_trip_through_wit() {
        for v in [
            Value::Float(1.5),
            Value::Int(-3),
            Value::Text("x".into()),
            Value::Floats(vec![1.0, 2.0]),
            Value::Flag(true),
        ] {
            assert_eq!(value_from_wit(value_to_wit(&v)), v);
        }
    }
}
