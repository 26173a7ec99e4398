//! A simulated temperature controller: a setpoint `<name>:sp` and a readback `<name>:rbv` that
//! approaches it as a first-order lag, `rbv(t) = sp + (rbv0 - sp) * exp(-t / tau)`. A setpoint
//! write completes at once (the controller accepted it); reaching it is the readback's business.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::clock::SimClock;
use crate::ports::{PortError, PortResult};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemperatureConfig {
    /// The controller's name; its channels are `<name>:sp` and `<name>:rbv`.
    pub name: String,
    /// The starting temperature, also the starting setpoint.
    #[serde(default = "default_initial")]
    pub initial: f64,
    /// Time constant of the lag, in simulated seconds.
    #[serde(default = "default_tau")]
    pub tau_s: f64,
    /// The controller's own setpoint range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

fn default_initial() -> f64 {
    20.0
}

fn default_tau() -> f64 {
    30.0
}

impl TemperatureConfig {
    pub fn setpoint_channel(&self) -> String {
        format!("{}:sp", self.name)
    }

    pub fn readback_channel(&self) -> String {
        format!("{}:rbv", self.name)
    }

    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(self.tau_s.is_finite() && self.tau_s > 0.0) {
            return Err((
                "tau_s",
                format!("must be finite and > 0, got {}", self.tau_s),
            ));
        }
        if !self.initial.is_finite() {
            return Err(("initial", "must be finite".to_owned()));
        }
        super::validate_range(self.min, self.max)
    }
}

#[derive(Clone, Copy, Debug)]
struct Lag {
    setpoint: f64,
    start_value: f64,
    since: Instant,
}

pub struct TemperatureController {
    config: TemperatureConfig,
    lag: Mutex<Lag>,
}

impl TemperatureController {
    pub fn new(config: TemperatureConfig) -> Self {
        let lag = Lag {
            setpoint: config.initial,
            start_value: config.initial,
            since: Instant::now(),
        };
        TemperatureController {
            config,
            lag: Mutex::new(lag),
        }
    }

    fn lag(&self) -> Lag {
        *self.lag.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn value_of(&self, lag: &Lag, clock: &SimClock, now: Instant) -> f64 {
        let t = clock.sim_elapsed(lag.since, now);
        lag.setpoint + (lag.start_value - lag.setpoint) * (-t / self.config.tau_s).exp()
    }

    pub fn setpoint(&self) -> f64 {
        self.lag().setpoint
    }

    /// The temperature now.
    pub fn readback(&self, clock: &SimClock) -> f64 {
        let lag = self.lag();
        self.value_of(&lag, clock, Instant::now())
    }

    /// Accepts a new setpoint; the lag restarts from the current temperature.
    pub fn set(&self, target: f64, clock: &SimClock) -> PortResult<()> {
        let name = self.config.setpoint_channel();
        if !target.is_finite() {
            return Err(PortError::out_of_limits(format!(
                "{name}: {target} is not finite"
            )));
        }
        if self.config.min.is_some_and(|m| target < m)
            || self.config.max.is_some_and(|m| target > m)
        {
            return Err(PortError::out_of_limits(format!(
                "{name}: {target} is outside the controller's range [{}, {}]",
                self.config.min.unwrap_or(f64::NEG_INFINITY),
                self.config.max.unwrap_or(f64::INFINITY)
            )));
        }
        let mut lag = self.lag.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let current = self.value_of(&lag, clock, now);
        *lag = Lag {
            setpoint: target,
            start_value: current,
            since: now,
        };
        Ok(())
    }
}
