//! Device ports: how the host reaches devices. A [`DevicePort`] writes with completion, reads with
//! a quality, and runs named actions; every failure carries a [`FailureClass`]. The [`Router`]
//! dispatches by longest channel prefix and reports the actuation kind of every channel it
//! dispatches, so no wrapper can hide whether a step drove simulated or physical hardware. The
//! [`catalog`] declares routes, limits and the simulated beamline; [`safety`] checks a resolved
//! step list against it before anything is touched. `sim` is the simulated beamline.
//!
//! Only the router is meant to be called by the conductor: ports are composed into a router and
//! never dispatched to directly, because the router is where provenance, access and limits are
//! enforced.

pub mod answer;
pub mod catalog;
pub mod epics;
pub mod error;
pub mod limits;
pub mod router;
pub mod safety;
pub mod sim;

use async_trait::async_trait;

use crate::domain::{Action, Criterion, FailureClass, Setpoint};

/// A reading and its quality are domain values: the journal records them as observations.
pub use crate::domain::{Quality, Reading};

pub use answer::ActionAnswer;
pub use catalog::{Catalog, CatalogError, PortKind, RouteEntry, Timeouts};
pub use error::{PortError, PortResult};
pub use limits::{ChannelLimits, LimitBreach};
pub use router::{CheckOutcome, RouteError, RouteInfo, Router, RouterSettings};
pub use safety::{SafetyRule, SafetyViolation};
pub use sim::{SimConfig, SimPort};

/// Judges a reading the way a check does: only a `Good` reading can pass (anything else is
/// `BadQuality`), and a value that does not satisfy the criterion is `CriterionMismatch`, as is
/// a malformed criterion.
pub fn judge(reading: &Reading, criterion: &Criterion) -> PortResult<()> {
    if reading.quality != Quality::Good {
        return Err(PortError::bad_quality(format!(
            "value {:?} reported with {} quality",
            reading.value,
            reading.quality.as_str()
        )));
    }
    criterion
        .evaluate(&reading.value)
        .map_err(|e| PortError::new(FailureClass::CriterionMismatch, e.to_string()))
}

/// A device port: the sim beamline, or (later) EPICS Channel Access.
///
/// Implementations must be cheap to call concurrently (`&self`), never panic on input, and give
/// every failure a class. Deadlines are the router's job: a port may take as long as the device
/// takes.
#[async_trait]
pub trait DevicePort: Send + Sync {
    /// A short name of the port kind, for messages (`"sim"`, `"epics"`).
    fn port_name(&self) -> &str;

    /// Lifts the faults injected into a simulated device ("the technician fixed the motor").
    /// True if this call lifted any; a real device has none to lift.
    fn clear_faults(&self) -> bool {
        false
    }

    /// Drives `setpoint.channel` to `setpoint.value` and returns once the device reports the write
    /// complete (the motor arrived, the controller accepted the setpoint): a put with completion.
    /// Confirming `setpoint.readback` is not the port's job: the router does it, because the
    /// readback may be served by another route.
    async fn write(&self, setpoint: &Setpoint) -> PortResult<()>;

    /// Reads a channel's current value and quality. A bad quality is a reading, not an error:
    /// the caller decides (see [`Reading::judge`]).
    async fn read(&self, channel: &str) -> PortResult<Reading>;

    /// Runs `action.command` on `action.device` with its named arguments; the answer carries the
    /// command's results as typed values by name (for an acquisition: the counts). A result the
    /// device reports that cannot be typed is a failure with a class, never a panic.
    async fn act(&self, action: &Action) -> PortResult<ActionAnswer>;
}
