//! A simulated motor axis: a position that travels at a fixed velocity between soft limits. A
//! write completes when the axis arrives; the `<name>.rbv` readback follows the travel. Motors,
//! the monochromator energy, the Bragg angle and the undulator gap are all axes.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::clock::SimClock;
use crate::ports::PortError;
use crate::ports::PortResult;

/// One axis of the simulated beamline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisConfig {
    /// The setpoint channel; the readback is `<name>.rbv`.
    pub name: String,
    /// Where the axis starts.
    #[serde(default)]
    pub position: f64,
    /// Travel speed in units per simulated second.
    #[serde(default = "default_velocity")]
    pub velocity: f64,
    /// Soft limits of the device itself (a write beyond them is refused as `OutOfLimits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

fn default_velocity() -> f64 {
    1.0
}

impl AxisConfig {
    pub fn new(name: &str, position: f64, velocity: f64, min: f64, max: f64) -> Self {
        AxisConfig {
            name: name.to_owned(),
            position,
            velocity,
            min: Some(min),
            max: Some(max),
        }
    }

    /// The readback channel's name.
    pub fn readback(&self) -> String {
        format!("{}.rbv", self.name)
    }

    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(self.velocity.is_finite() && self.velocity > 0.0) {
            return Err((
                "velocity",
                format!("must be finite and > 0, got {}", self.velocity),
            ));
        }
        super::validate_range(self.min, self.max)?;
        if !self.position.is_finite() {
            return Err(("position", "must be finite".to_owned()));
        }
        if self.min.is_some_and(|m| self.position < m)
            || self.max.is_some_and(|m| self.position > m)
        {
            return Err(("position", "must lie within min and max".to_owned()));
        }
        Ok(())
    }
}

/// A move in progress (or finished): linear travel from `from` to `to`.
#[derive(Clone, Copy, Debug)]
struct Travel {
    from: f64,
    to: f64,
    start: Instant,
    real_s: f64,
    generation: u64,
}

impl Travel {
    fn position(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
        if self.real_s <= 0.0 || elapsed >= self.real_s {
            self.to
        } else {
            self.from + (self.to - self.from) * (elapsed / self.real_s)
        }
    }
}

pub struct Axis {
    config: AxisConfig,
    travel: Mutex<Travel>,
}

impl Axis {
    pub fn new(config: AxisConfig) -> Self {
        let travel = Travel {
            from: config.position,
            to: config.position,
            start: Instant::now(),
            real_s: 0.0,
            generation: 0,
        };
        Axis {
            config,
            travel: Mutex::new(travel),
        }
    }

    fn travel(&self) -> Travel {
        *self.travel.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last commanded position.
    pub fn setpoint(&self) -> f64 {
        self.travel().to
    }

    /// Where the axis is now.
    pub fn position(&self) -> f64 {
        self.travel().position(Instant::now())
    }

    /// Moves to `target` and returns when the axis arrives. A later write that redirects the axis
    /// before it arrives makes this one fail as `Rejected` (the move was superseded).
    pub async fn move_to(&self, target: f64, clock: &SimClock) -> PortResult<()> {
        let name = &self.config.name;
        if !target.is_finite() {
            return Err(PortError::out_of_limits(format!(
                "{name}: target {target} is not finite"
            )));
        }
        if let Some(min) = self.config.min
            && target < min
        {
            return Err(PortError::out_of_limits(format!(
                "{name}: target {target} is below the soft limit {min}"
            )));
        }
        if let Some(max) = self.config.max
            && target > max
        {
            return Err(PortError::out_of_limits(format!(
                "{name}: target {target} is above the soft limit {max}"
            )));
        }
        let (wait, generation) = {
            let mut travel = self.travel.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let from = travel.position(now);
            let wait = clock.real((target - from).abs() / self.config.velocity);
            *travel = Travel {
                from,
                to: target,
                start: now,
                real_s: wait.as_secs_f64(),
                generation: travel.generation.wrapping_add(1),
            };
            (wait, travel.generation)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if self.travel().generation != generation {
            return Err(PortError::rejected(format!(
                "{name}: the move to {target} was superseded by a later write"
            )));
        }
        Ok(())
    }
}
