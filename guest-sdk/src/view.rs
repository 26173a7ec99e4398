//! Steps with their names resolved to text: what the host will see, in a shape that is easy to
//! assert on in tests (`assert_eq!(steps[0], ResolvedStep::Setpoint { .. })`).

use crate::Value;
use crate::bindings::baton::procedure::types as wit;

/// What a check asks of a channel's reading.
#[derive(Clone, Debug, PartialEq)]
pub enum Criterion {
    /// Exactly this value, same kind.
    Equals(Value),
    /// `|reading - target| <= tolerance`.
    Within { target: f64, tolerance: f64 },
    /// `low <= reading <= high`.
    Between { low: f64, high: f64 },
}

/// One step of a plan, every name spelled out.
#[derive(Clone, Debug, PartialEq)]
pub enum ResolvedStep {
    Setpoint {
        channel: String,
        value: Value,
        readback: Option<String>,
        tolerance: Option<f64>,
        settle_ms: Option<u32>,
    },
    Check {
        channel: String,
        criterion: Criterion,
        timeout_ms: Option<u32>,
    },
    Action {
        device: String,
        command: String,
        args: Vec<(String, Value)>,
        timeout_ms: Option<u32>,
    },
}

impl ResolvedStep {
    /// The channel a setpoint writes or a check reads; the device of an action.
    pub fn target(&self) -> &str {
        match self {
            ResolvedStep::Setpoint { channel, .. } | ResolvedStep::Check { channel, .. } => channel,
            ResolvedStep::Action { device, .. } => device,
        }
    }

    /// The value a setpoint writes, if this is a setpoint.
    pub fn setpoint_value(&self) -> Option<&Value> {
        match self {
            ResolvedStep::Setpoint { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value of an action's argument `name`, if this is an action that has it.
    pub fn arg(&self, name: &str) -> Option<&Value> {
        match self {
            ResolvedStep::Action { args, .. } => {
                args.iter().find(|(n, _)| n == name).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    pub(crate) fn from_wit(step: &wit::Step, names: &[String]) -> Self {
        let name = |i: u32| {
            names
                .get(i as usize)
                .cloned()
                .unwrap_or_else(|| format!("<no name #{i}>"))
        };
        match step {
            wit::Step::Setpoint(s) => ResolvedStep::Setpoint {
                channel: name(s.channel),
                value: s.value.clone(),
                readback: s.readback.map(name),
                tolerance: s.tolerance,
                settle_ms: s.settle_ms,
            },
            wit::Step::Check(c) => ResolvedStep::Check {
                channel: name(c.channel),
                criterion: match &c.criterion {
                    wit::Criterion::Equals(v) => Criterion::Equals(v.clone()),
                    wit::Criterion::Within(b) => Criterion::Within {
                        target: b.target,
                        tolerance: b.tolerance,
                    },
                    wit::Criterion::Between(r) => Criterion::Between {
                        low: r.low,
                        high: r.high,
                    },
                },
                timeout_ms: c.timeout_ms,
            },
            wit::Step::Action(a) => ResolvedStep::Action {
                device: name(a.device),
                command: name(a.command),
                args: a.args.iter().map(|(n, v)| (name(*n), v.clone())).collect(),
                timeout_ms: a.timeout_ms,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{Action, Check, Plan, Setpoint};

    #[test]
    fn every_builder_option_survives_resolution() {
        let mut plan = Plan::new();
        plan.push(
            Setpoint::new("sim:mx", 1.5)
                .readback("sim:mx.rbv")
                .tolerance(0.01)
                .settle_ms(250),
        );
        plan.push(Check::within("sim:temp:rbv", 300.0, 0.5).timeout_ms(60_000));
        plan.push(Check::between("sim:ring", 190.0, 210.0));
        plan.push(Check::equals("sim:shutter", "open"));
        plan.push(
            Action::new("sim:det", "acquire")
                .arg("exposure_s", 0.5)
                .arg("frames", 3_i64)
                .arg("tag", "dark")
                .timeout_ms(5_000),
        );
        let steps = plan.resolved_steps();
        assert_eq!(
            steps,
            vec![
                ResolvedStep::Setpoint {
                    channel: "sim:mx".into(),
                    value: Value::Float(1.5),
                    readback: Some("sim:mx.rbv".into()),
                    tolerance: Some(0.01),
                    settle_ms: Some(250),
                },
                ResolvedStep::Check {
                    channel: "sim:temp:rbv".into(),
                    criterion: Criterion::Within {
                        target: 300.0,
                        tolerance: 0.5
                    },
                    timeout_ms: Some(60_000),
                },
                ResolvedStep::Check {
                    channel: "sim:ring".into(),
                    criterion: Criterion::Between {
                        low: 190.0,
                        high: 210.0
                    },
                    timeout_ms: None,
                },
                ResolvedStep::Check {
                    channel: "sim:shutter".into(),
                    criterion: Criterion::Equals(Value::Text("open".into())),
                    timeout_ms: None,
                },
                ResolvedStep::Action {
                    device: "sim:det".into(),
                    command: "acquire".into(),
                    args: vec![
                        ("exposure_s".into(), Value::Float(0.5)),
                        ("frames".into(), Value::Int(3)),
                        ("tag".into(), Value::Text("dark".into())),
                    ],
                    timeout_ms: Some(5_000),
                },
            ]
        );
        assert_eq!(steps[0].target(), "sim:mx");
        assert_eq!(steps[4].target(), "sim:det");
        assert_eq!(steps[0].setpoint_value(), Some(&Value::Float(1.5)));
        assert_eq!(steps[4].arg("frames"), Some(&Value::Int(3)));
        assert_eq!(steps[4].arg("missing"), None);
        assert_eq!(steps[1].setpoint_value(), None);
    }

    #[test]
    fn an_unset_option_stays_unset() {
        let mut plan = Plan::new();
        plan.push(Setpoint::new("sim:mx", 0.0));
        plan.push(Action::new("sim:det", "acquire"));
        assert_eq!(
            plan.resolved_steps(),
            vec![
                ResolvedStep::Setpoint {
                    channel: "sim:mx".into(),
                    value: Value::Float(0.0),
                    readback: None,
                    tolerance: None,
                    settle_ms: None,
                },
                ResolvedStep::Action {
                    device: "sim:det".into(),
                    command: "acquire".into(),
                    args: vec![],
                    timeout_ms: None,
                },
            ]
        );
    }
}
