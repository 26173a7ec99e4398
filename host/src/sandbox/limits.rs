//! Limits: what one guest call may consume, and the pool they size. The defaults fit the 2-core /
//! 24 GiB hosts baton runs on (see docs/sandbox.md#limits): 64 concurrent calls of
//! at most 128 MiB guest memory each, a fuel budget that covers a 300 000-step plan yet stops a
//! runaway loop in a fraction of a second, and output caps that bound what the host copies out.

use std::path::PathBuf;
use std::time::Duration;

/// Everything `Sandbox::new` needs.
#[derive(Clone, Debug, Default)]
pub struct SandboxConfig {
    /// Where precompiled artifacts live, so a restart does not recompile. `None` keeps the cache
    /// in memory only.
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
}

/// Per-call and per-process limits. Every field has a sane default (`Limits::default()`).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Largest component accepted by `load`, in bytes.
    pub max_component_bytes: usize,
    /// Linear-memory cap of one call (all memories of the instance together), in bytes.
    pub memory_bytes: usize,
    /// Fuel budget of one call: the deterministic CPU budget.
    pub fuel: u64,
    /// Wall-clock deadline of one call, host reads included.
    pub deadline: Duration,
    /// Largest plan accepted from `resolve`.
    pub max_steps: usize,
    /// Longest string accepted in a plan (a name or a text value) and in `describe`.
    pub max_string_bytes: usize,
    /// Longest `floats` value accepted.
    pub max_floats: usize,
    /// Most arguments an action may carry.
    pub max_action_args: usize,
    /// Most `read` calls one resolution may make; further reads are refused to the guest.
    pub max_reads: usize,
    /// Size of the captured guest log (stdout, stderr and `log`); the rest is dropped.
    pub max_log_bytes: usize,
    /// Concurrent calls, and the size of the instance pool behind them.
    pub max_instances: u32,
    /// Concurrent compilations (CPU-heavy; each may use every core).
    pub max_concurrent_compiles: usize,
    /// How often the epoch ticker advances; the deadline is checked at this granularity.
    pub epoch_tick: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_component_bytes: 16 << 20,
            memory_bytes: 128 << 20,
            fuel: 2_000_000_000,
            deadline: Duration::from_secs(2),
            max_steps: 300_000,
            max_string_bytes: 64 << 10,
            max_floats: 100_000,
            max_action_args: 64,
            max_reads: 1_000,
            max_log_bytes: 64 << 10,
            max_instances: 64,
            max_concurrent_compiles: 1,
            epoch_tick: Duration::from_millis(10),
        }
    }
}

/// Bytes the host lifts per step of a plan (the size of a lifted step plus an action's
/// arguments), measured at ~141 B with string names; index names make it smaller.
const HOSTCALL_BYTES_PER_STEP: usize = 192;

impl Limits {
    /// The host-call data cap: how many bytes one call may make the host copy out of the guest.
    /// Sized so that a plan of `max_steps` steps fits with room for its names and text values,
    /// while a 100 MiB string fails fast during lifting instead of being copied.
    pub fn hostcall_bytes(&self) -> usize {
        self.max_steps
            .saturating_mul(HOSTCALL_BYTES_PER_STEP)
            .saturating_add(16 << 20)
    }
}
