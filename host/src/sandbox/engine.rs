//! The one wasmtime `Engine` of a sandbox and the epoch ticker that drives its deadlines. Only the
//! component model is on: no GC, no exceptions, no threads, no component-model-async (each a
//! recent source of advisories and nothing a procedure needs). Fuel gives a deterministic CPU
//! budget; epochs give the wall-clock deadline; the pooling allocator keeps instantiation cheap
//! and caps what all concurrent calls together can map.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use wasmtime::{Config, Engine, EngineWeak, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::error::SandboxError;
use super::limits::Limits;

const KEEP_RESIDENT: usize = 64 << 10;

/// Builds the engine for these limits.
pub(crate) fn build_engine(limits: &Limits) -> Result<Engine, SandboxError> {
    let n = limits.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        // wit-component output holds a few core instances and tables besides the guest's own.
        .total_core_instances(8 * n)
        .max_core_instances_per_component(8)
        .total_tables(8 * n)
        .max_tables_per_component(8)
        .total_memories(n)
        .max_memories_per_component(1)
        .max_memory_size(limits.memory_bytes)
        .total_stacks(n)
        .max_unused_warm_slots((n / 4).max(1))
        // Reset the first 64 KiB of a slot with memset rather than madvise: a warm
        // instantiate-and-drop fell from ~21 to ~15 µs in the benchmark, for 192 KiB per slot.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        .async_stack_keep_resident(KEEP_RESIDENT);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .concurrency_support(false)
        .wasm_gc(false)
        .wasm_memory64(false)
        .wasm_stack_switching(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .wasm_shared_everything_threads(false)
        // Same inputs, same steps: canonical NaNs and deterministic relaxed SIMD.
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        // Pooled fiber stacks are reused across guests; do not let one see another's frames.
        .async_stack_zeroing(true);
    Engine::new(&config).map_err(|e| SandboxError::Engine(format!("{e:?}")))
}

/// Advances the engine's epoch every `tick` until the engine is dropped.
pub(crate) fn spawn_ticker(engine: EngineWeak, tick: Duration) -> Result<(), SandboxError> {
    std::thread::Builder::new()
        .name("baton-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match engine.upgrade() {
                    Some(e) => e.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(|_| ())
        .map_err(|e| SandboxError::Engine(format!("cannot start the epoch ticker: {e}")))
}

/// Feeds `Hash` input into sha256, so the engine's compatibility hash becomes a stable key.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        // Unused: the full digest is taken with `finalize` below.
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// A lowercase-hex key for everything that makes an artifact of this engine loadable: the
/// wasmtime version, the target and every compile-relevant setting (fuel and epochs included).
pub(crate) fn compatibility_key(engine: &Engine) -> String {
    let mut h = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(&h.0.finalize()[..16])
}
