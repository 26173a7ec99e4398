//! The simulated beamline (`sim` port): a product feature for dry runs, demos and tests, not a
//! test double. Motor axes with velocity and soft limits, a temperature controller with a
//! first-order lag, counting detectors with deterministic noise, shutters, and fault injection,
//! all configured from the catalog's `[sim]` table. A time-scale factor maps simulated seconds
//! onto tokio time (0 = instantaneous).
//!
//! Channels, by device: an axis `N` serves `N` (setpoint) and `N.rbv` (readback); a temperature
//! controller `N` serves `N:sp` and `N:rbv`; a detector `N` serves the action `acquire` and reads
//! as its last counts; a shutter `N` serves a setpoint, the actions `open`/`close`, and reads as
//! `"open"`/`"closed"`.
//!
//! Failure classes follow what a retry would do. A request the device can never accept fails
//! with a configuration class, so try-conduct aborts instead of holding on something a resume
//! would repeat: a value of the wrong type or out of range, a missing or unknown argument, is
//! `OutOfLimits`; an unknown channel or command is `Unrouted`; a write to a readback is
//! `AccessDenied`. `Rejected` is kept for refusals that may clear (a superseded move, an injected
//! rejection).

pub mod clock;
pub mod detector;
pub mod faults;
pub mod motor;
pub mod rng;
pub mod shutter;
pub mod temperature;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use self::clock::SimClock;
use self::detector::{Detector, DetectorConfig, ProfileTerm};
use self::faults::{FaultConfig, Faults, Op};
use self::motor::{Axis, AxisConfig};
use self::shutter::{Shutter, ShutterConfig, state_text};
use self::temperature::{TemperatureConfig, TemperatureController};
use super::{ActionAnswer, DevicePort, PortError, PortResult, Quality, Reading};
use crate::domain::{Action, Setpoint, Value};

/// The simulated beamline's configuration. A device list left out gets the default beamline's
/// devices; an explicit list (even an empty one) is taken as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of the detectors' noise.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Real seconds per simulated second: 0 = instantaneous, 1 = real time.
    #[serde(default = "default_time_scale")]
    pub time_scale: f64,
    #[serde(default = "default_axes")]
    pub axes: Vec<AxisConfig>,
    #[serde(default = "default_temperatures")]
    pub temperatures: Vec<TemperatureConfig>,
    #[serde(default = "default_detectors")]
    pub detectors: Vec<DetectorConfig>,
    #[serde(default = "default_shutters")]
    pub shutters: Vec<ShutterConfig>,
    #[serde(default)]
    pub faults: Vec<FaultConfig>,
}

fn default_seed() -> u64 {
    1
}

fn default_time_scale() -> f64 {
    1.0
}

/// The default beamline's axes: sample stage `sim:mx`/`sim:my` (mm), monochromator energy
/// (keV) and Bragg angle (deg), undulator gap (mm).
pub fn default_axes() -> Vec<AxisConfig> {
    vec![
        AxisConfig::new("sim:mx", 0.0, 2.0, -25.0, 25.0),
        AxisConfig::new("sim:my", 0.0, 2.0, -25.0, 25.0),
        AxisConfig::new("sim:mono:energy", 10.0, 0.5, 4.0, 30.0),
        AxisConfig::new("sim:mono:bragg", 11.4, 1.0, 3.0, 80.0),
        AxisConfig::new("sim:und:gap", 15.0, 1.0, 5.0, 40.0),
    ]
}

/// The default sample environment: `sim:temp` (°C), tau 30 s.
pub fn default_temperatures() -> Vec<TemperatureConfig> {
    vec![TemperatureConfig {
        name: "sim:temp".to_owned(),
        initial: 20.0,
        tau_s: 30.0,
        min: Some(-50.0),
        max: Some(1000.0),
    }]
}

/// The default detector `sim:det`: a beam peaked at mx = 0.5 mm, my = -0.3 mm, and the copper
/// K edge (8.979 keV) in the monochromator energy.
pub fn default_detectors() -> Vec<DetectorConfig> {
    vec![DetectorConfig {
        name: "sim:det".to_owned(),
        rate: 1.0e5,
        background: 20.0,
        profile: vec![
            ProfileTerm::Gaussian {
                axis: "sim:mx".to_owned(),
                center: 0.5,
                fwhm: 2.0,
            },
            ProfileTerm::Gaussian {
                axis: "sim:my".to_owned(),
                center: -0.3,
                fwhm: 1.5,
            },
            ProfileTerm::Edge {
                axis: "sim:mono:energy".to_owned(),
                position: 8.979,
                width: 0.003,
                jump: 1.5,
            },
        ],
        gate: None,
    }]
}

/// The default shutter `sim:shutter`, closed.
pub fn default_shutters() -> Vec<ShutterConfig> {
    vec![ShutterConfig {
        name: "sim:shutter".to_owned(),
        open: false,
        move_s: 0.05,
    }]
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: default_seed(),
            time_scale: default_time_scale(),
            axes: default_axes(),
            temperatures: default_temperatures(),
            detectors: default_detectors(),
            shutters: default_shutters(),
            faults: Vec::new(),
        }
    }
}

/// A malformed sim configuration: the field (as a path, e.g. `axes[1].velocity`) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SimConfigError {
    pub field: String,
    pub message: String,
}

fn config_error(field: impl Into<String>, message: impl Into<String>) -> SimConfigError {
    SimConfigError {
        field: field.into(),
        message: message.into(),
    }
}

pub(super) fn validate_range(
    min: Option<f64>,
    max: Option<f64>,
) -> Result<(), (&'static str, String)> {
    for (field, bound) in [("min", min), ("max", max)] {
        if bound.is_some_and(|b| !b.is_finite()) {
            return Err((field, "must be finite".to_owned()));
        }
    }
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(("min", format!("min {min} is greater than max {max}")));
    }
    Ok(())
}

/// What a sim channel is. The index is into the device list of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimChannel {
    Axis(usize),
    AxisReadback(usize),
    TemperatureSetpoint(usize),
    TemperatureReadback(usize),
    Detector(usize),
    Shutter(usize),
}

impl SimChannel {
    /// Whether a setpoint may be written to the channel.
    pub fn writable(self) -> bool {
        matches!(
            self,
            SimChannel::Axis(_) | SimChannel::TemperatureSetpoint(_) | SimChannel::Shutter(_)
        )
    }

    /// The actions the channel's device serves.
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            SimChannel::Detector(_) => &["acquire"],
            SimChannel::Shutter(_) => &["open", "close"],
            _ => &[],
        }
    }
}

impl SimConfig {
    /// A configuration with the default devices and the given time scale.
    pub fn with_time_scale(time_scale: f64) -> Self {
        SimConfig {
            time_scale,
            ..SimConfig::default()
        }
    }

    /// Every channel the configuration serves, after checking every device. Errors name the
    /// field, e.g. `axes[1].velocity` or `faults[0].channel`.
    pub fn channels(&self) -> Result<HashMap<Box<str>, SimChannel>, SimConfigError> {
        if !(self.time_scale.is_finite() && self.time_scale >= 0.0) {
            return Err(config_error(
                "time_scale",
                format!("must be finite and >= 0, got {}", self.time_scale),
            ));
        }
        let mut channels: HashMap<Box<str>, SimChannel> = HashMap::new();
        let mut add = |field: String, name: String, channel: SimChannel| {
            if name.is_empty() {
                return Err(config_error(field, "a device name must not be empty"));
            }
            if channels.insert(name.clone().into(), channel).is_some() {
                return Err(config_error(
                    field,
                    format!("channel {name} is served by another device too"),
                ));
            }
            Ok(())
        };
        for (i, axis) in self.axes.iter().enumerate() {
            axis.validate()
                .map_err(|(f, m)| config_error(format!("axes[{i}].{f}"), m))?;
            add(
                format!("axes[{i}].name"),
                axis.name.clone(),
                SimChannel::Axis(i),
            )?;
            add(
                format!("axes[{i}].name"),
                axis.readback(),
                SimChannel::AxisReadback(i),
            )?;
        }
        for (i, t) in self.temperatures.iter().enumerate() {
            t.validate()
                .map_err(|(f, m)| config_error(format!("temperatures[{i}].{f}"), m))?;
            let field = format!("temperatures[{i}].name");
            add(
                field.clone(),
                t.setpoint_channel(),
                SimChannel::TemperatureSetpoint(i),
            )?;
            add(
                field,
                t.readback_channel(),
                SimChannel::TemperatureReadback(i),
            )?;
        }
        for (i, s) in self.shutters.iter().enumerate() {
            s.validate()
                .map_err(|(f, m)| config_error(format!("shutters[{i}].{f}"), m))?;
            add(
                format!("shutters[{i}].name"),
                s.name.clone(),
                SimChannel::Shutter(i),
            )?;
        }
        for (i, d) in self.detectors.iter().enumerate() {
            d.validate()
                .map_err(|(f, m)| config_error(format!("detectors[{i}].{f}"), m))?;
            add(
                format!("detectors[{i}].name"),
                d.name.clone(),
                SimChannel::Detector(i),
            )?;
        }
        for (i, d) in self.detectors.iter().enumerate() {
            for (j, term) in d.profile.iter().enumerate() {
                if !matches!(channels.get(term.axis()), Some(SimChannel::Axis(_))) {
                    return Err(config_error(
                        format!("detectors[{i}].profile[{j}].axis"),
                        format!("{} is not an axis of the sim", term.axis()),
                    ));
                }
            }
            if let Some(gate) = &d.gate
                && !matches!(channels.get(gate.as_str()), Some(SimChannel::Shutter(_)))
            {
                return Err(config_error(
                    format!("detectors[{i}].gate"),
                    format!("{gate} is not a shutter of the sim"),
                ));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            f.validate()
                .map_err(|(field, m)| config_error(format!("faults[{i}].{field}"), m))?;
            if !channels.contains_key(f.channel.as_str()) {
                return Err(config_error(
                    format!("faults[{i}].channel"),
                    format!("{} is not a channel of the sim", f.channel),
                ));
            }
        }
        Ok(channels)
    }
}

/// The simulated beamline as a device port.
pub struct SimPort {
    clock: SimClock,
    seed: u64,
    channels: HashMap<Box<str>, SimChannel>,
    axes: Vec<Axis>,
    temperatures: Vec<TemperatureController>,
    detectors: Vec<Detector>,
    /// Per detector: the axis index of each profile term, and the gate's shutter index.
    detector_inputs: Vec<(Vec<usize>, Option<usize>)>,
    shutters: Vec<Shutter>,
    faults: Faults,
}

fn number(channel: &str, value: &Value) -> PortResult<f64> {
    value.as_number().ok_or_else(|| {
        PortError::out_of_limits(format!("{channel} takes a number, got a {}", value.kind()))
    })
}

impl SimPort {
    /// Builds the beamline; every device starts at its configured state.
    pub fn new(config: &SimConfig) -> Result<Self, SimConfigError> {
        let channels = config.channels()?;
        let axis_index = |name: &str| match channels.get(name) {
            Some(SimChannel::Axis(i)) => Some(*i),
            _ => None,
        };
        let shutter_index = |name: &str| match channels.get(name) {
            Some(SimChannel::Shutter(i)) => Some(*i),
            _ => None,
        };
        // `channels()` has checked that every profile axis and gate exists.
        let detector_inputs = config
            .detectors
            .iter()
            .map(|d| {
                let axes = d
                    .profile
                    .iter()
                    .filter_map(|t| axis_index(t.axis()))
                    .collect();
                (axes, d.gate.as_deref().and_then(shutter_index))
            })
            .collect();
        Ok(SimPort {
            clock: SimClock::new(config.time_scale),
            seed: config.seed,
            axes: config.axes.iter().cloned().map(Axis::new).collect(),
            temperatures: config
                .temperatures
                .iter()
                .cloned()
                .map(TemperatureController::new)
                .collect(),
            detectors: config
                .detectors
                .iter()
                .cloned()
                .map(Detector::new)
                .collect(),
            detector_inputs,
            shutters: config.shutters.iter().cloned().map(Shutter::new).collect(),
            faults: Faults::new(&config.faults),
            channels,
        })
    }

    pub fn clock(&self) -> SimClock {
        self.clock
    }

    /// What the sim serves under `channel`, if anything.
    pub fn channel(&self, channel: &str) -> Option<SimChannel> {
        self.channels.get(channel).copied()
    }

    fn served(&self, channel: &str) -> PortResult<SimChannel> {
        self.channel(channel).ok_or_else(|| {
            PortError::unrouted(format!("the simulated beamline has no channel {channel}"))
        })
    }

    fn value_of(&self, channel: SimChannel) -> Value {
        match channel {
            SimChannel::Axis(i) => Value::Float(self.axes[i].setpoint()),
            SimChannel::AxisReadback(i) => Value::Float(self.axes[i].position()),
            SimChannel::TemperatureSetpoint(i) => Value::Float(self.temperatures[i].setpoint()),
            SimChannel::TemperatureReadback(i) => {
                Value::Float(self.temperatures[i].readback(&self.clock))
            }
            SimChannel::Detector(i) => {
                Value::Int(i64::try_from(self.detectors[i].last_counts()).unwrap_or(i64::MAX))
            }
            SimChannel::Shutter(i) => Value::Text(state_text(self.shutters[i].is_open()).into()),
        }
    }

    async fn acquire(&self, i: usize, action: &Action) -> PortResult<ActionAnswer> {
        let detector = &self.detectors[i];
        let exposure = detector.exposure(action)?;
        let (axes, gate) = &self.detector_inputs[i];
        let positions: Vec<f64> = axes.iter().map(|a| self.axes[*a].position()).collect();
        let open = gate.is_none_or(|s| self.shutters[s].is_open());
        let signal = if open {
            detector.profile_factor(&positions)
        } else {
            0.0
        };
        detector
            .acquire(exposure, signal, self.seed, &self.clock)
            .await
            .map(ActionAnswer::of_results)
    }
}

#[async_trait]
impl DevicePort for SimPort {
    fn port_name(&self) -> &str {
        "sim"
    }

    fn clear_faults(&self) -> bool {
        self.faults.clear()
    }

    async fn write(&self, sp: &Setpoint) -> PortResult<()> {
        let name = &*sp.channel;
        let channel = self.served(name)?;
        self.faults.admit(name, Op::Write, &self.clock).await?;
        match channel {
            SimChannel::Axis(i) => {
                self.axes[i]
                    .move_to(number(name, &sp.value)?, &self.clock)
                    .await
            }
            SimChannel::TemperatureSetpoint(i) => {
                self.temperatures[i].set(number(name, &sp.value)?, &self.clock)
            }
            SimChannel::Shutter(i) => {
                let open = self.shutters[i].parse(&sp.value)?;
                self.shutters[i].set(open, &self.clock).await;
                Ok(())
            }
            SimChannel::AxisReadback(_)
            | SimChannel::TemperatureReadback(_)
            | SimChannel::Detector(_) => Err(PortError::access_denied(format!(
                "{name} is read-only on the simulated beamline"
            ))),
        }
    }

    async fn read(&self, name: &str) -> PortResult<Reading> {
        let channel = self.served(name)?;
        let admitted = self.faults.admit(name, Op::Read, &self.clock).await?;
        let quality = if admitted.bad_quality {
            Quality::Bad
        } else {
            Quality::Good
        };
        Ok(Reading {
            value: self.value_of(channel),
            quality,
        })
    }

    async fn act(&self, action: &Action) -> PortResult<ActionAnswer> {
        let name = &*action.device;
        let channel = self.served(name)?;
        let command = &*action.command;
        if !channel.commands().contains(&command) {
            return Err(PortError::unrouted(format!(
                "{name} has no command {command:?} (it serves {:?})",
                channel.commands()
            )));
        }
        self.faults.admit(name, Op::Act, &self.clock).await?;
        match channel {
            SimChannel::Detector(i) => self.acquire(i, action).await,
            SimChannel::Shutter(i) => {
                if let Some((arg, _)) = action.args.first() {
                    return Err(PortError::out_of_limits(format!(
                        "{name}: {command} takes no arguments, got {arg:?}"
                    )));
                }
                let open = command == "open";
                self.shutters[i].set(open, &self.clock).await;
                Ok(ActionAnswer::of_results(BTreeMap::from([
                    ("shutter".to_owned(), Value::Text(name.to_owned())),
                    ("state".to_owned(), Value::Text(state_text(open).to_owned())),
                ])))
            }
            _ => Err(PortError::unrouted(format!("{name} serves no actions"))),
        }
    }
}
