//! Fault injection by configuration: a channel that times out, rejects writes, disconnects after
//! a number of operations, or reports bad quality. Faults live in the catalog, not in test code,
//! so an operator can rehearse a failure on the dry-run beamline exactly as a test does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::clock::SimClock;
use crate::ports::{PortError, PortResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// Every operation hangs for `after_ms` simulated milliseconds, then fails as `Timeout`.
    Timeout,
    /// Writes and actions fail as `Rejected`; reads still work.
    RejectWrites,
    /// The first `ops` operations work; every later one fails as `Disconnected`.
    DisconnectAfter,
    /// Reads report `Bad` quality (the value is still there).
    BadQuality,
}

/// One injected fault on one channel (an action's device counts as its channel).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    pub channel: String,
    pub mode: FaultMode,
    /// For `disconnect_after`: how many operations succeed first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
    /// For `timeout`: how long the operation hangs, in simulated milliseconds (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<u64>,
}

impl FaultConfig {
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        let takes_ops = self.mode == FaultMode::DisconnectAfter;
        if takes_ops && self.ops.is_none() {
            return Err((
                "ops",
                "disconnect_after needs ops (how many operations succeed)".into(),
            ));
        }
        if !takes_ops && self.ops.is_some() {
            return Err(("ops", "only disconnect_after takes ops".into()));
        }
        if self.mode != FaultMode::Timeout && self.after_ms.is_some() {
            return Err(("after_ms", "only timeout takes after_ms".into()));
        }
        Ok(())
    }
}

/// The kind of operation a fault is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    Act,
}

struct ActiveFault {
    config: FaultConfig,
    seen: AtomicU64,
}

/// The faults of one sim port, by channel.
#[derive(Default)]
pub struct Faults {
    by_channel: HashMap<Box<str>, Vec<ActiveFault>>,
    /// Set by [`Faults::clear`]: "the technician fixed it", for rehearsing a recovery.
    cleared: AtomicBool,
}

/// What the faults let through: the operation may proceed, perhaps with a bad quality.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Admitted {
    pub bad_quality: bool,
}

const DEFAULT_HANG_MS: u64 = 1000;

impl Faults {
    pub fn new(configs: &[FaultConfig]) -> Self {
        let mut by_channel: HashMap<Box<str>, Vec<ActiveFault>> = HashMap::new();
        for config in configs {
            by_channel
                .entry(config.channel.as_str().into())
                .or_default()
                .push(ActiveFault {
                    config: config.clone(),
                    seen: AtomicU64::new(0),
                });
        }
        Faults {
            by_channel,
            cleared: AtomicBool::new(false),
        }
    }

    /// Lifts every injected fault from now on (an operation already hanging in a fault finishes
    /// as it would have). True if there were faults and this call lifted them.
    pub fn clear(&self) -> bool {
        !self.by_channel.is_empty() && !self.cleared.swap(true, Ordering::SeqCst)
    }

    /// Applies the faults of `channel` to one operation, in configuration order: the first fault
    /// that fails the operation decides its class.
    pub async fn admit(&self, channel: &str, op: Op, clock: &SimClock) -> PortResult<Admitted> {
        let mut admitted = Admitted::default();
        if self.cleared.load(Ordering::SeqCst) {
            return Ok(admitted);
        }
        let Some(faults) = self.by_channel.get(channel) else {
            return Ok(admitted);
        };
        for fault in faults {
            match fault.config.mode {
                FaultMode::Timeout => {
                    let hang_ms = fault.config.after_ms.unwrap_or(DEFAULT_HANG_MS);
                    clock.sleep(hang_ms as f64 / 1000.0).await;
                    return Err(PortError::timeout(format!(
                        "{channel} did not answer (injected timeout after {hang_ms} ms)"
                    )));
                }
                FaultMode::RejectWrites if op != Op::Read => {
                    return Err(PortError::rejected(format!(
                        "{channel} rejected the request (injected)"
                    )));
                }
                FaultMode::RejectWrites => {}
                FaultMode::DisconnectAfter => {
                    let limit = fault.config.ops.unwrap_or(0);
                    let seen = fault.seen.fetch_add(1, Ordering::SeqCst);
                    if seen >= limit {
                        return Err(PortError::disconnected(format!(
                            "{channel} disconnected after {limit} operations (injected)"
                        )));
                    }
                }
                FaultMode::BadQuality => admitted.bad_quality = true,
            }
        }
        Ok(admitted)
    }
}
