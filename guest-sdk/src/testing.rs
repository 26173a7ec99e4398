//! A native test harness: run a procedure's `resolve` with plain `cargo test`, no wasm.
//!
//! [`TestHost`] answers `read` from a map and collects `log` lines; [`Harness`] passes the
//! parameters through the same checks as the component (declaration, unknown names, kinds)
//! and returns the plan with its names spelled out.
//!
//! ```
//! # use baton_guest::prelude::*;
//! # use baton_guest::{ResolvedStep, testing::Harness};
//! struct Park;
//! impl Procedure for Park {
//!     fn describe() -> Info {
//!         Info::new("park", "0.1.0", "Moves a motor back to where it was plus an offset.")
//!             .param(ParamSpec::float("offset", "mm").default(0.0))
//!     }
//!     fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
//!         let here = host.read_number("sim:mx.rbv")?;
//!         let mut plan = Plan::new();
//!         plan.push(Setpoint::new("sim:mx", here + params.float("offset")?));
//!         Ok(plan)
//!     }
//! }
//!
//! let harness = Harness::<Park>::new().reading("sim:mx.rbv", 2.0).param("offset", 0.5);
//! let resolved = harness.resolve().unwrap();
//! assert_eq!(resolved.steps[0].setpoint_value(), Some(&Value::Float(2.5)));
//! assert_eq!(harness.reads(), ["sim:mx.rbv"]);
//!
//! // Bad input gets the same typed refusal the component would give.
//! let err = Harness::<Park>::new().param("offset", true).resolve().unwrap_err();
//! assert!(matches!(err, ResolveError::InvalidParams(_)));
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use crate::{Host, Info, Plan, Procedure, ResolveError, ResolvedStep, Value};

/// A [`Host`] for tests: `read` answers from a map (an unknown channel is an error, like a
/// disconnected PV), every read and log line is recorded.
#[derive(Debug, Default)]
pub struct TestHost {
    readings: BTreeMap<String, Result<Value, String>>,
    reads: RefCell<Vec<String>>,
    log: RefCell<Vec<String>>,
}

impl TestHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// `read(channel)` answers `value`.
    pub fn reading(mut self, channel: impl Into<String>, value: impl Into<Value>) -> Self {
        self.readings.insert(channel.into(), Ok(value.into()));
        self
    }

    /// `read(channel)` fails with `message`.
    pub fn failing_read(mut self, channel: impl Into<String>, message: impl Into<String>) -> Self {
        self.readings.insert(channel.into(), Err(message.into()));
        self
    }

    /// The channels read so far, in order (repeats included).
    pub fn reads(&self) -> Vec<String> {
        self.reads.borrow().clone()
    }

    /// The lines logged so far, in order.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.borrow().clone()
    }

    fn clear(&self) {
        self.reads.borrow_mut().clear();
        self.log.borrow_mut().clear();
    }
}

impl Host for TestHost {
    fn read(&self, channel: &str) -> Result<Value, String> {
        self.reads.borrow_mut().push(channel.to_owned());
        match self.readings.get(channel) {
            Some(answer) => answer.clone(),
            None => Err(format!("no reading for `{channel}` in the test host")),
        }
    }

    fn log(&self, message: &str) {
        self.log.borrow_mut().push(message.to_owned());
    }
}

/// What a successful resolution gave: the plan, and its steps with names spelled out.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub plan: Plan,
    pub steps: Vec<ResolvedStep>,
}

impl Resolved {
    /// The values written to `channel` by setpoints, in order.
    pub fn setpoints_on(&self, channel: &str) -> Vec<&Value> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                ResolvedStep::Setpoint {
                    channel: c, value, ..
                } if c == channel => Some(value),
                _ => None,
            })
            .collect()
    }

    /// The floats written to `channel` by setpoints, in order (non-floats are skipped).
    pub fn floats_on(&self, channel: &str) -> Vec<f64> {
        self.setpoints_on(channel)
            .into_iter()
            .filter_map(|v| match v {
                Value::Float(x) => Some(*x),
                _ => None,
            })
            .collect()
    }

    /// The actions on `device`, in order.
    pub fn actions_on(&self, device: &str) -> Vec<&ResolvedStep> {
        self.steps
            .iter()
            .filter(|s| matches!(s, ResolvedStep::Action { device: d, .. } if d == device))
            .collect()
    }
}

/// Runs procedure `P` natively with parameters and readings set up by the builder methods.
#[derive(Debug)]
pub struct Harness<P> {
    params: Vec<(String, Value)>,
    host: TestHost,
    procedure: PhantomData<fn() -> P>,
}

impl<P: Procedure> Default for Harness<P> {
    fn default() -> Self {
        Harness {
            params: Vec::new(),
            host: TestHost::new(),
            procedure: PhantomData,
        }
    }
}

impl<P: Procedure> Harness<P> {
    /// No parameters (every parameter takes its default) and no readings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Passes parameter `name`. Passing it twice is passed on as is, so the procedure's
    /// refusal of a duplicate can be tested.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Passes every parameter of a JSON object, e.g. the procedure's `params.json` (see
    /// [`params_from_json`] for how JSON maps to values).
    #[cfg(feature = "json")]
    pub fn params_json(mut self, json: &str) -> Result<Self, String> {
        self.params.extend(params_from_json(json)?);
        Ok(self)
    }

    /// `host.read(channel)` answers `value`.
    pub fn reading(mut self, channel: impl Into<String>, value: impl Into<Value>) -> Self {
        self.host = self.host.reading(channel, value);
        self
    }

    /// `host.read(channel)` fails with `message`.
    pub fn failing_read(mut self, channel: impl Into<String>, message: impl Into<String>) -> Self {
        self.host = self.host.failing_read(channel, message);
        self
    }

    /// What the procedure declares.
    pub fn info(&self) -> Info {
        P::describe()
    }

    /// Resolves, exactly as the component would: declaration check, parameter checks, then
    /// `P::resolve`. The log and the reads are those of the last call.
    pub fn resolve(&self) -> Result<Resolved, ResolveError> {
        self.host.clear();
        let plan = crate::export::run::<P>(self.params.clone(), &self.host)?;
        let steps = plan.resolved_steps();
        Ok(Resolved { plan, steps })
    }

    /// The lines the last resolution logged.
    pub fn log(&self) -> Vec<String> {
        self.host.log_lines()
    }

    /// The channels the last resolution read.
    pub fn reads(&self) -> Vec<String> {
        self.host.reads()
    }
}

/// Reads parameters from a JSON object: an integer literal is an `Int`, any other number a
/// `Float`, a string `Text`, a boolean `Flag`, an array of numbers `Floats`. Anything else
/// (null, objects, mixed arrays) is refused with a message naming the parameter.
#[cfg(feature = "json")]
pub fn params_from_json(json: &str) -> Result<Vec<(String, Value)>, String> {
    use serde_json::Value as J;
    let parsed: J = serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
    let J::Object(map) = parsed else {
        return Err("parameters must be a JSON object".to_owned());
    };
    map.into_iter()
        .map(|(name, v)| {
            let value = match &v {
                J::Bool(b) => Value::Flag(*b),
                J::String(s) => Value::Text(s.clone()),
                // serde_json keeps `3` as an integer and `3.0` or `1e3` as a float.
                J::Number(n) if n.is_f64() => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
                J::Number(n) => Value::Int(n.as_i64().ok_or_else(|| {
                    format!("parameter `{name}`: {n} does not fit in a 64-bit int")
                })?),
                J::Array(items) => Value::Floats(
                    items
                        .iter()
                        .map(|x| x.as_f64())
                        .collect::<Option<Vec<f64>>>()
                        .ok_or_else(|| {
                            format!("parameter `{name}`: a list must hold numbers only")
                        })?,
                ),
                J::Null | J::Object(_) => {
                    return Err(format!("parameter `{name}`: {v} is not a parameter value"));
                }
            };
            Ok((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{Check, ParamSpec, Params, Setpoint};

    struct Echo;

    impl Procedure for Echo {
        fn describe() -> Info {
            Info::new("echo", "0.0.1", "Copies a reading to a setpoint.")
                .param(ParamSpec::text("from", "channel to read").default("sim:a"))
                .param(ParamSpec::int("repeat", "how many setpoints").default(1))
        }

        fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
            let from = params.channel("from")?;
            let repeat = params.count("repeat", 0..=10)?;
            let value = host.read(from).map_err(ResolveError::failed)?;
            host.log(&format!("read {value} from {from}"));
            let mut plan = Plan::new();
            for _ in 0..repeat {
                plan.push(Setpoint::new("sim:out", value.clone()));
            }
            plan.push(Check::equals("sim:out", value));
            Ok(plan)
        }
    }

    #[test]
    fn reads_are_answered_from_the_map_and_recorded() {
        let h = Harness::<Echo>::new()
            .reading("sim:a", 7_i64)
            .param("repeat", 2_i64);
        let r = h.resolve().unwrap();
        assert_eq!(r.steps.len(), 3);
        assert_eq!(r.setpoints_on("sim:out"), [&Value::Int(7), &Value::Int(7)]);
        assert_eq!(h.reads(), ["sim:a"]);
        assert_eq!(h.log(), ["read 7 from sim:a"]);
    }

    #[test]
    fn an_unknown_channel_is_a_read_error() {
        let h = Harness::<Echo>::new().param("from", "sim:nothing");
        let e = h.resolve().unwrap_err();
        assert_eq!(
            e,
            ResolveError::Failed("no reading for `sim:nothing` in the test host".into())
        );
        assert_eq!(h.reads(), ["sim:nothing"]);
    }

    #[test]
    fn a_failing_read_reports_the_hosts_message() {
        let h = Harness::<Echo>::new().failing_read("sim:a", "disconnected");
        assert_eq!(
            h.resolve().unwrap_err(),
            ResolveError::Failed("disconnected".into())
        );
    }

    #[test]
    fn parameters_go_through_the_component_checks() {
        let unknown = Harness::<Echo>::new().param("form", "sim:a").resolve();
        assert!(
            matches!(&unknown, Err(ResolveError::InvalidParams(m)) if m.contains("`form`")),
            "{unknown:?}"
        );
        let wrong = Harness::<Echo>::new().param("repeat", 1.0).resolve();
        assert!(matches!(&wrong, Err(ResolveError::InvalidParams(m)) if m.contains("an int")));
        let range = Harness::<Echo>::new()
            .reading("sim:a", 1.0)
            .param("repeat", 11_i64)
            .resolve();
        assert!(matches!(&range, Err(ResolveError::InvalidParams(m)) if m.contains("[0, 10]")));
    }

    #[test]
    fn log_and_reads_reflect_the_last_call_only() {
        let h = Harness::<Echo>::new().reading("sim:a", 1.0);
        h.resolve().unwrap();
        h.resolve().unwrap();
        assert_eq!(h.reads().len(), 1);
        assert_eq!(h.log().len(), 1);
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_parameters_map_to_values() {
        let params = params_from_json(
            r#"{"n": 3, "x": 3.0, "e": 1e3, "s": "sim:a", "b": true, "xs": [1, 2.5]}"#,
        )
        .unwrap();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("n"), Some(Value::Int(3)));
        assert_eq!(get("x"), Some(Value::Float(3.0)));
        assert_eq!(get("e"), Some(Value::Float(1000.0)));
        assert_eq!(get("s"), Some(Value::Text("sim:a".into())));
        assert_eq!(get("b"), Some(Value::Flag(true)));
        assert_eq!(get("xs"), Some(Value::Floats(vec![1.0, 2.5])));

        assert!(params_from_json("[1]").unwrap_err().contains("object"));
        assert!(params_from_json("{").unwrap_err().contains("invalid JSON"));
        assert!(
            params_from_json(r#"{"a": null}"#)
                .unwrap_err()
                .contains("`a`")
        );
        assert!(
            params_from_json(r#"{"a": [1, "x"]}"#)
                .unwrap_err()
                .contains("`a`")
        );
        assert!(
            params_from_json(r#"{"a": 18446744073709551615}"#)
                .unwrap_err()
                .contains("64-bit")
        );

        let r = Harness::<Echo>::new()
            .params_json(r#"{"repeat": 2}"#)
            .unwrap()
            .reading("sim:a", 1.0)
            .resolve()
            .unwrap();
        assert_eq!(r.steps.len(), 3);
    }

    struct Broken;

    impl Procedure for Broken {
        fn describe() -> Info {
            Info::new("broken", "0", "").param(ParamSpec::flag("on", "").default(1.0))
        }

        fn resolve(_: &Params, _: &dyn Host) -> Result<Plan, ResolveError> {
            Ok(Plan::new())
        }
    }

    #[test]
    fn a_bad_declaration_fails_every_resolution() {
        let e = Harness::<Broken>::new().resolve().unwrap_err();
        assert!(
            matches!(&e, ResolveError::Failed(m) if m.contains("`on`")),
            "{e:?}"
        );
    }

    #[test]
    fn read_number_explains_what_is_wrong() {
        let host = TestHost::new()
            .reading("sim:t", "hot")
            .reading("sim:n", f64::NAN)
            .reading("sim:i", 3_i64);
        assert_eq!(host.read_number("sim:i"), Ok(3.0));
        let e = host.read_number("sim:t").unwrap_err();
        assert_eq!(
            e,
            ResolveError::Failed("`sim:t` reads the text \"hot\", expected a number".into())
        );
        assert!(matches!(
            host.read_number("sim:n"),
            Err(ResolveError::Failed(_))
        ));
        let e = host.read_number("sim:none").unwrap_err();
        assert!(e.message().starts_with("cannot read `sim:none`"), "{e}");
    }
}
