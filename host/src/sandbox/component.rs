//! What a successful load and a successful resolve hand back: the loaded component (digest,
//! description, the pre-instantiated component behind it) and the resolution.

use std::sync::Arc;

use serde::Serialize;

use super::bindings::ProcedurePre;
use super::info::Info;
use super::state::HostState;
use crate::domain::{Step, Value};

/// Where a load found the component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadSource {
    /// Compiled from the wasm just now.
    Compiled,
    /// Deserialized from a precompiled artifact this host wrote earlier.
    DiskCache,
    /// Already loaded in this sandbox.
    Memory,
}

pub(crate) struct Loaded {
    pub(crate) digest: String,
    pub(crate) info: Info,
    pub(crate) size_bytes: usize,
    pub(crate) pre: ProcedurePre<HostState>,
}

/// A component that passed every load check, ready to resolve.
#[derive(Clone)]
pub struct LoadedComponent {
    pub(crate) inner: Arc<Loaded>,
    pub(crate) source: LoadSource,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("digest", &self.inner.digest)
            .field("name", &self.inner.info.name)
            .field("version", &self.inner.info.version)
            .field("source", &self.source)
            .finish()
    }
}

impl LoadedComponent {
    /// sha256 of the wasm, lowercase hex.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }
    /// What `describe` returned, checked.
    pub fn info(&self) -> &Info {
        &self.inner.info
    }
    /// Where this load found the component.
    pub fn source(&self) -> LoadSource {
        self.source
    }
    /// Size of the wasm, in bytes.
    pub fn size_bytes(&self) -> usize {
        self.inner.size_bytes
    }
}

/// A successful `resolve`: the steps to pin and their provenance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resolution {
    /// sha256 of the component that resolved them.
    pub digest: String,
    pub steps: Vec<Step>,
    /// Every read the guest made, in order (channel, value): provenance for the pin.
    pub reads: Vec<(String, Value)>,
    pub fuel_used: u64,
    /// Largest linear memory the guest reached, in bytes.
    pub peak_memory_bytes: u64,
    /// The guest's captured stdout, stderr and `log` lines.
    pub log: String,
}
