//! Device ports: the router, the simulated beamline, fault injection, the catalog and the safety
//! check. One test binary; each module covers one part. Tests that involve simulated time run on
//! a paused tokio clock, so durations are exact and nothing depends on the machine's speed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "ports/catalog.rs"]
mod catalog;
#[path = "ports/faults.rs"]
mod faults;
#[path = "ports/router.rs"]
mod router;
#[path = "ports/safety.rs"]
mod safety;
#[path = "ports/sim.rs"]
mod sim;

use std::sync::Arc;

use baton_host::domain::{Action, Check, Criterion, Name, Setpoint, Step, Value};
use baton_host::ports::{Catalog, SimConfig, SimPort};

pub fn name(s: &str) -> Name {
    Name::from(s)
}

pub fn setpoint(channel: &str, value: Value) -> Setpoint {
    Setpoint {
        channel: name(channel),
        value,
        readback: None,
        tolerance: None,
        settle_ms: None,
    }
}

pub fn setpoint_rb(
    channel: &str,
    value: f64,
    readback: &str,
    tolerance: f64,
    settle_ms: u32,
) -> Setpoint {
    Setpoint {
        channel: name(channel),
        value: Value::Float(value),
        readback: Some(name(readback)),
        tolerance: Some(tolerance),
        settle_ms: Some(settle_ms),
    }
}

pub fn move_to(channel: &str, value: f64) -> Step {
    Step::Setpoint(setpoint(channel, Value::Float(value)))
}

pub fn check_step(channel: &str, criterion: Criterion) -> Step {
    Step::Check(Check {
        channel: name(channel),
        criterion,
        timeout_ms: None,
    })
}

pub fn action(device: &str, command: &str, args: &[(&str, Value)]) -> Action {
    Action {
        device: name(device),
        command: name(command),
        args: args.iter().map(|(k, v)| (name(k), v.clone())).collect(),
        timeout_ms: None,
    }
}

pub fn acquire(exposure_s: f64) -> Action {
    action(
        "sim:det",
        "acquire",
        &[("exposure_s", Value::Float(exposure_s))],
    )
}

/// The default beamline at the given time scale.
pub fn sim(time_scale: f64) -> Arc<SimPort> {
    Arc::new(SimPort::new(&SimConfig::with_time_scale(time_scale)).unwrap())
}

/// The built-in catalog at the given time scale.
pub fn builtin(time_scale: f64) -> Catalog {
    Catalog::builtin()
        .unwrap()
        .with_time_scale(time_scale)
        .unwrap()
}

pub fn float(v: &Value) -> f64 {
    match v {
        Value::Float(x) => *x,
        other => panic!("expected a float, got {other:?}"),
    }
}
