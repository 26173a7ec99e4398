//! The sandbox: loads untrusted procedure components and runs their `describe` and `resolve`
//! under wasmtime, within limits. The only module that touches wasmtime.
//!
//! - Loading is validate → compile → cache (`loader`, `cache`): refused with a typed `LoadError`
//!   naming the problem; cached by sha256 in memory (pre-instantiated) and on disk (precompiled).
//! - Every call gets a fresh store with every limit set (`call`, `limits`), a WASI context that
//!   grants nothing (`wasi`), and the caller's `ChannelReader` behind `host.read` (`reader`).
//! - The guest's plan becomes `domain::Step`s, checked on the way (`convert`).

mod bindings;
mod cache;
mod call;
mod component;
mod convert;
mod engine;
mod error;
mod imports;
mod info;
mod limits;
mod loader;
mod reader;
mod state;
mod wasi;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::Semaphore;
use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

pub use cache::sha256_hex;
pub use component::{LoadSource, LoadedComponent, Resolution};
pub use error::{InvalidComponent, LoadError, ResolveError, ResolveFailure, SandboxError};
pub use imports::{CONTRACT_PACKAGE, CONTRACT_VERSION};
pub use info::{Info, ParamKind, ParamSpec, ParamsError, value_from_json};
pub use limits::{Limits, SandboxConfig};
pub use reader::{ChannelReader, MapReader, NoReads};
pub use wasi::FIXED_WALL_CLOCK;

use bindings::{Procedure, ProcedurePre};
use cache::{DiskCache, DiskLookup};
use component::Loaded;
use convert::{plan_to_steps, value_to_wit};
use state::HostState;

use crate::domain::Value;

/// Runs procedure components. Cheap to clone (an `Arc` inside); one per process.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Limits,
    compatibility_key: String,
    disk: Option<DiskCache>,
    loaded: Mutex<HashMap<String, Arc<Loaded>>>,
    /// One permit per pooled instance: callers wait here instead of failing on a full pool.
    calls: Semaphore,
    compiles: Semaphore,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    compiled: AtomicU64,
    from_disk: AtomicU64,
    from_memory: AtomicU64,
    disk_rejected: AtomicU64,
    resolves: AtomicU64,
}

/// How often each load path was taken since the sandbox was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SandboxStats {
    /// Components compiled from wasm.
    pub compiled: u64,
    /// Components deserialized from the on-disk cache.
    pub from_disk: u64,
    /// Loads answered from the in-memory cache.
    pub from_memory: u64,
    /// On-disk artifacts found unusable (checksum mismatch, incompatible) and recompiled.
    pub disk_rejected: u64,
    /// Calls of a guest's `resolve` (whatever their outcome).
    pub resolves: u64,
}

impl Sandbox {
    /// Builds the engine, its epoch ticker and (if configured) the disk cache.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let limits = config.limits;
        let engine = engine::build_engine(&limits)?;
        engine::spawn_ticker(engine.weak(), limits.epoch_tick)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| SandboxError::Engine(loader::error_chain(&e)))?;
        Procedure::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| SandboxError::Engine(loader::error_chain(&e)))?;
        let compatibility_key = engine::compatibility_key(&engine);
        let disk = config
            .cache_dir
            .as_deref()
            .map(|dir| DiskCache::open(dir, &compatibility_key))
            .transpose()?;
        Ok(Sandbox {
            inner: Arc::new(Inner {
                calls: Semaphore::new(limits.max_instances.max(1) as usize),
                compiles: Semaphore::new(limits.max_concurrent_compiles.max(1)),
                engine,
                linker,
                limits,
                compatibility_key,
                disk,
                loaded: Mutex::new(HashMap::new()),
                counters: Counters::default(),
            }),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Identifies the engine build and settings; on-disk artifacts are kept per key.
    pub fn compatibility_key(&self) -> &str {
        &self.inner.compatibility_key
    }

    pub fn stats(&self) -> SandboxStats {
        let c = &self.inner.counters;
        SandboxStats {
            compiled: c.compiled.load(Ordering::Relaxed),
            from_disk: c.from_disk.load(Ordering::Relaxed),
            from_memory: c.from_memory.load(Ordering::Relaxed),
            disk_rejected: c.disk_rejected.load(Ordering::Relaxed),
            resolves: c.resolves.load(Ordering::Relaxed),
        }
    }

    /// A component already loaded in this sandbox, by digest.
    pub fn get(&self, digest: &str) -> Option<LoadedComponent> {
        self.lookup(digest).map(|inner| LoadedComponent {
            inner,
            source: LoadSource::Memory,
        })
    }

    /// Forgets a component loaded in memory (its on-disk artifact stays); true if it was loaded.
    /// `LoadedComponent`s already handed out keep working.
    pub fn evict(&self, digest: &str) -> bool {
        self.inner
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(digest)
            .is_some()
    }

    fn lookup(&self, digest: &str) -> Option<Arc<Loaded>> {
        self.inner
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(digest)
            .cloned()
    }

    /// Validates, compiles (or finds in a cache) and describes a component.
    pub async fn load(&self, wasm: &[u8]) -> Result<LoadedComponent, LoadError> {
        let inner = &self.inner;
        loader::check_bytes(wasm, &inner.limits)?;
        let digest = sha256_hex(wasm);
        if let Some(found) = self.get(&digest) {
            inner.counters.from_memory.fetch_add(1, Ordering::Relaxed);
            return Ok(found);
        }
        let permit = inner
            .compiles
            .acquire()
            .await
            .map_err(|e| LoadError::Internal(e.to_string()))?;
        // Another task may have loaded it while this one waited.
        if let Some(found) = self.get(&digest) {
            inner.counters.from_memory.fetch_add(1, Ordering::Relaxed);
            return Ok(found);
        }

        // Compiling is CPU-heavy and reading the disk cache blocks: both off the async workers.
        let this = self.clone();
        let bytes = wasm.to_vec();
        let key = digest.clone();
        let (component, source) =
            tokio::task::spawn_blocking(move || this.compile_or_fetch(&key, &bytes))
                .await
                .map_err(|e| LoadError::Internal(format!("compile task failed: {e}")))??;
        // The checks are cheap and describe waits for a call slot like any call: neither should
        // hold up other compilations.
        drop(permit);

        loader::check_component(&inner.engine, &component, &inner.limits)?;
        let pre = loader::link(&inner.linker, &component)?;
        let info = self.describe(&pre, &digest).await?;

        if source == LoadSource::Compiled
            && let Some(disk) = &inner.disk
        {
            let this = self.clone();
            let key = digest.clone();
            let written = tokio::task::spawn_blocking(move || {
                this.inner.disk.as_ref().map(|d| d.store(&key, &component))
            })
            .await;
            match written {
                Ok(Some(Err(e))) => {
                    tracing::warn!(digest = %digest, dir = %disk.artifact_path(&digest).display(), "cannot cache the compiled component: {e}")
                }
                Err(e) => {
                    tracing::warn!(digest = %digest, "cannot cache the compiled component: {e}")
                }
                Ok(_) => {}
            }
        }

        let loaded = Arc::new(Loaded {
            digest: digest.clone(),
            info,
            size_bytes: wasm.len(),
            pre,
        });
        inner
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest, loaded.clone());
        Ok(LoadedComponent {
            inner: loaded,
            source,
        })
    }

    fn compile_or_fetch(
        &self,
        digest: &str,
        wasm: &[u8],
    ) -> Result<(wasmtime::component::Component, LoadSource), LoadError> {
        let inner = &self.inner;
        if let Some(disk) = &inner.disk {
            match disk.load(&inner.engine, digest) {
                DiskLookup::Hit(c) => {
                    inner.counters.from_disk.fetch_add(1, Ordering::Relaxed);
                    return Ok((c, LoadSource::DiskCache));
                }
                DiskLookup::Rejected(reason) => {
                    inner.counters.disk_rejected.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(digest, "discarding cached artifact: {reason}");
                }
                DiskLookup::Miss => {}
            }
        }
        let component = loader::compile(&inner.engine, wasm)?;
        inner.counters.compiled.fetch_add(1, Ordering::Relaxed);
        Ok((component, LoadSource::Compiled))
    }

    async fn describe(
        &self,
        pre: &ProcedurePre<HostState>,
        digest: &str,
    ) -> Result<Info, LoadError> {
        let inner = &self.inner;
        let _permit = inner
            .calls
            .acquire()
            .await
            .map_err(|e| LoadError::Internal(e.to_string()))?;
        let record = call::describe(&inner.engine, pre, &inner.limits).await;
        match record.result {
            Ok(info) => Info::from_wit(info, &inner.limits).map_err(LoadError::BadInfo),
            Err(error) => Err(LoadError::Describe(Box::new(ResolveFailure {
                error,
                digest: digest.to_string(),
                log: record.log,
                reads: record.reads,
                fuel_used: record.fuel_used,
            }))),
        }
    }

    /// Resolves the steps of a loaded component for these parameters (passed as given: see
    /// `Info::with_defaults` to fill in declared defaults). Reads go to `reader`.
    pub async fn resolve(
        &self,
        component: &LoadedComponent,
        params: &[(String, Value)],
        reader: &dyn ChannelReader,
    ) -> Result<Resolution, ResolveFailure> {
        let inner = &self.inner;
        let digest = component.digest().to_string();
        let fail = |error| ResolveFailure::before_guest(error, &digest);
        // A component loaded by another sandbox belongs to another engine.
        if !Engine::same(component.inner.pre.engine(), &inner.engine) {
            return Err(fail(ResolveError::NotLoaded(digest.clone())));
        }
        let params: Vec<(String, bindings::Value)> = params
            .iter()
            .map(|(n, v)| (n.clone(), value_to_wit(v)))
            .collect();
        let _permit = inner
            .calls
            .acquire()
            .await
            .map_err(|e| fail(ResolveError::Instantiate(e.to_string())))?;
        inner.counters.resolves.fetch_add(1, Ordering::Relaxed);
        let record = call::resolve(
            &inner.engine,
            &component.inner.pre,
            &inner.limits,
            &params,
            reader,
        )
        .await;
        let steps = match record.result {
            Ok(Ok(plan)) => plan_to_steps(plan, &inner.limits),
            Ok(Err(bindings::ResolveError::InvalidParams(m))) => {
                Err(ResolveError::InvalidParams(m))
            }
            Ok(Err(bindings::ResolveError::Failed(m))) => Err(ResolveError::Failed(m)),
            Err(e) => Err(e),
        };
        match steps {
            Ok(steps) => Ok(Resolution {
                digest,
                steps,
                reads: record.reads,
                fuel_used: record.fuel_used.unwrap_or_default(),
                peak_memory_bytes: record.peak_memory_bytes,
                log: record.log,
            }),
            Err(error) => Err(ResolveFailure {
                error,
                digest,
                log: record.log,
                reads: record.reads,
                fuel_used: record.fuel_used,
            }),
        }
    }

    /// Instantiates the component in a fresh store with the call limits and drops it, calling
    /// nothing: a health check of the pool and the component.
    pub async fn instantiate(&self, component: &LoadedComponent) -> Result<(), ResolveFailure> {
        let inner = &self.inner;
        let fail = |error| ResolveFailure::before_guest(error, component.digest());
        if !Engine::same(component.inner.pre.engine(), &inner.engine) {
            return Err(fail(ResolveError::NotLoaded(
                component.digest().to_string(),
            )));
        }
        let _permit = inner
            .calls
            .acquire()
            .await
            .map_err(|e| fail(ResolveError::Instantiate(e.to_string())))?;
        let record = call::instantiate(&inner.engine, &component.inner.pre, &inner.limits).await;
        record.result.map_err(|error| ResolveFailure {
            log: record.log,
            ..fail(error)
        })
    }

    /// `resolve` for a component loaded earlier, by digest.
    pub async fn resolve_digest(
        &self,
        digest: &str,
        params: &[(String, Value)],
        reader: &dyn ChannelReader,
    ) -> Result<Resolution, ResolveFailure> {
        match self.get(digest) {
            Some(c) => self.resolve(&c, params, reader).await,
            None => Err(ResolveFailure::before_guest(
                ResolveError::NotLoaded(digest.to_string()),
                digest,
            )),
        }
    }
}
