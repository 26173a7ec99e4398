//! A simulated counting detector. `acquire` (argument `exposure_s`) counts for the exposure and
//! returns the counts: Poisson noise around `(rate * profile + background) * exposure`, where the
//! profile multiplies peaks and edges in the positions of chosen axes (a beam to align on, an
//! absorption edge to scan across). The noise is deterministic for the beamline seed, the
//! detector's name and the frame number, so a dry run repeats exactly.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::clock::SimClock;
use super::rng::{SplitMix64, fnv1a};
use crate::domain::{Action, Value};
use crate::ports::{PortError, PortResult, answer};

/// One factor of the detector's signal, a function of one axis's position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProfileTerm {
    /// A peak: `exp(-4 ln2 (x - center)^2 / fwhm^2)`, 1 at the center.
    Gaussian {
        axis: String,
        center: f64,
        fwhm: f64,
    },
    /// A step such as an absorption edge: `1 + jump / (1 + exp(-(x - position) / width))`.
    Edge {
        axis: String,
        position: f64,
        width: f64,
        jump: f64,
    },
}

impl ProfileTerm {
    pub fn axis(&self) -> &str {
        match self {
            ProfileTerm::Gaussian { axis, .. } | ProfileTerm::Edge { axis, .. } => axis,
        }
    }

    fn factor(&self, x: f64) -> f64 {
        match self {
            ProfileTerm::Gaussian { center, fwhm, .. } => {
                let d = (x - center) / fwhm;
                (-4.0 * std::f64::consts::LN_2 * d * d).exp()
            }
            ProfileTerm::Edge {
                position,
                width,
                jump,
                ..
            } => 1.0 + jump / (1.0 + (-(x - position) / width).exp()),
        }
    }

    fn validate(&self) -> Result<(), (&'static str, String)> {
        let (finite, positive) = match self {
            ProfileTerm::Gaussian { center, fwhm, .. } => ([*center, *fwhm], ("fwhm", *fwhm)),
            ProfileTerm::Edge {
                position,
                width,
                jump,
                ..
            } => {
                if !(jump.is_finite() && *jump >= -1.0) {
                    return Err(("jump", format!("must be finite and >= -1, got {jump}")));
                }
                ([*position, *width], ("width", *width))
            }
        };
        if finite.iter().any(|x| !x.is_finite()) || positive.1 <= 0.0 {
            return Err((
                positive.0,
                "must be finite and > 0 (and the position finite)".into(),
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// The detector's channel: the device of its `acquire` action; reading it gives the last
    /// frame's counts.
    pub name: String,
    /// Counts per second at the top of the profile.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Counts per second that arrive regardless of the beam.
    #[serde(default = "default_background")]
    pub background: f64,
    #[serde(default)]
    pub profile: Vec<ProfileTerm>,
    /// A shutter that must be open for the signal to arrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
}

fn default_rate() -> f64 {
    1.0e5
}

fn default_background() -> f64 {
    20.0
}

impl DetectorConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        for (field, x) in [("rate", self.rate), ("background", self.background)] {
            if !(x.is_finite() && x >= 0.0) {
                return Err((
                    field.to_owned(),
                    format!("must be finite and >= 0, got {x}"),
                ));
            }
        }
        for (i, term) in self.profile.iter().enumerate() {
            term.validate()
                .map_err(|(field, msg)| (format!("profile[{i}].{field}"), msg))?;
        }
        Ok(())
    }
}

/// The largest exposure an acquisition accepts (a day): beyond it the request is a typo.
const MAX_EXPOSURE_S: f64 = 86_400.0;

pub struct Detector {
    config: DetectorConfig,
    frame: AtomicU64,
    last_counts: AtomicU64,
}

impl Detector {
    pub fn new(config: DetectorConfig) -> Self {
        Detector {
            config,
            frame: AtomicU64::new(0),
            last_counts: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    pub fn last_counts(&self) -> u64 {
        self.last_counts.load(Ordering::SeqCst)
    }

    /// The exposure an `acquire` asks for; any other argument is refused rather than ignored.
    pub fn exposure(&self, action: &Action) -> PortResult<f64> {
        let name = &self.config.name;
        let mut exposure = None;
        for (arg, value) in &action.args {
            match (&**arg, value) {
                ("exposure_s", Value::Float(_) | Value::Int(_)) => {
                    exposure = value.as_number();
                }
                ("exposure_s", other) => {
                    return Err(PortError::out_of_limits(format!(
                        "{name}: exposure_s must be a number, got a {}",
                        other.kind()
                    )));
                }
                (other, _) => {
                    return Err(PortError::out_of_limits(format!(
                        "{name}: acquire takes exposure_s only, got argument {other:?}"
                    )));
                }
            }
        }
        match exposure {
            Some(e) if e.is_finite() && e > 0.0 && e <= MAX_EXPOSURE_S => Ok(e),
            Some(e) => Err(PortError::out_of_limits(format!(
                "{name}: exposure_s must be > 0 and <= {MAX_EXPOSURE_S}, got {e}"
            ))),
            None => Err(PortError::out_of_limits(format!(
                "{name}: acquire needs the argument exposure_s"
            ))),
        }
    }

    /// Counts for `exposure_s` given the signal factor (the profile at the current positions,
    /// 0 when the gate is closed), and returns the frame's results: `detector` (text), `frame`
    /// and `counts` (ints), `exposure_s` (float).
    pub async fn acquire(
        &self,
        exposure_s: f64,
        signal: f64,
        seed: u64,
        clock: &SimClock,
    ) -> PortResult<BTreeMap<String, Value>> {
        let frame = self.frame.fetch_add(1, Ordering::SeqCst);
        let mean = (self.config.rate * signal + self.config.background) * exposure_s;
        let mut rng = SplitMix64::new(
            seed ^ fnv1a(&self.config.name) ^ frame.wrapping_mul(0xA076_1D64_78BD_642F),
        );
        let counts = rng.poisson(mean);
        clock.sleep(exposure_s).await;
        self.last_counts.store(counts, Ordering::SeqCst);
        let name = &self.config.name;
        Ok(BTreeMap::from([
            ("counts".to_owned(), answer::count(name, "counts", counts)?),
            ("detector".to_owned(), Value::Text(name.clone())),
            ("exposure_s".to_owned(), Value::Float(exposure_s)),
            ("frame".to_owned(), answer::count(name, "frame", frame)?),
        ]))
    }

    /// The product of the profile's factors, given a lookup of axis positions by index.
    pub fn profile_factor(&self, positions: &[f64]) -> f64 {
        self.config
            .profile
            .iter()
            .zip(positions)
            .map(|(term, x)| term.factor(*x))
            .product()
    }
}
