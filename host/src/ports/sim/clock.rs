//! Simulated time. Devices think in simulated seconds; the time scale maps them onto tokio time
//! (0 = everything instantaneous, for tests and benchmarks; 1 = real time). Tokio time, not the
//! system clock, so a test can pause and auto-advance it.

use std::time::Duration;

use tokio::time::Instant;

/// The longest real wait the sim ever schedules; beyond it a wait is as good as forever and the
/// router's deadline decides.
const LONGEST_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimClock {
    scale: f64,
}

impl SimClock {
    /// `scale` is real seconds per simulated second; it must be finite and >= 0 (the config
    /// validation guarantees it; anything else is treated as 0).
    pub fn new(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale >= 0.0 {
            scale
        } else {
            0.0
        };
        SimClock { scale }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The real duration of `sim_s` simulated seconds.
    pub fn real(&self, sim_s: f64) -> Duration {
        let real = sim_s * self.scale;
        if real.is_nan() || real <= 0.0 {
            return Duration::ZERO;
        }
        Duration::try_from_secs_f64(real)
            .unwrap_or(LONGEST_WAIT)
            .min(LONGEST_WAIT)
    }

    /// Waits `sim_s` simulated seconds. With scale 0 it returns at once without yielding, so a
    /// zero-latency beamline costs no scheduler round trip.
    pub async fn sleep(&self, sim_s: f64) {
        let real = self.real(sim_s);
        if !real.is_zero() {
            tokio::time::sleep(real).await;
        }
    }

    /// Simulated seconds between two instants; infinite with scale 0 (everything has settled).
    pub fn sim_elapsed(&self, since: Instant, now: Instant) -> f64 {
        if self.scale == 0.0 {
            return f64::INFINITY;
        }
        now.saturating_duration_since(since).as_secs_f64() / self.scale
    }
}
