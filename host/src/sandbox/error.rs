//! Typed errors of the sandbox. Each says which check or limit refused the component or the call,
//! and `kind()` gives a stable snake_case tag for JSON reports and metrics.

use std::path::PathBuf;

use strum::IntoStaticStr;

use crate::domain::Value;

/// The sandbox itself could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot configure the wasmtime engine: {0}")]
    Engine(String),
    #[error("cannot use cache directory {path}: {source}")]
    CacheDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why bytes are not a component baton can run at all.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InvalidComponent {
    #[error("the file is empty")]
    Empty,
    #[error("the component is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "this is a precompiled wasmtime artifact, not a WebAssembly component; upload the .wasm \
         that `cargo build --target wasm32-wasip2` produces"
    )]
    Precompiled,
    #[error("not WebAssembly: the file starts with {head}, not the wasm magic `\\0asm`")]
    NotWasm { head: String },
    #[error(
        "this is a core WebAssembly module, not a component; build for `wasm32-wasip2` (or wrap \
         the module with `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("malformed component: {0}")]
    Malformed(String),
    #[error("{0}")]
    Resources(String),
}

/// Why `load` refused a component.
#[derive(Debug, thiserror::Error, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum LoadError {
    #[error("invalid component: {0}")]
    InvalidComponent(#[from] InvalidComponent),
    #[error(
        "import not allowed: {} (a procedure may import baton:procedure/*, wasi:io/*, wasi:cli/*, \
         wasi:clocks/*, wasi:random/* and wasi:filesystem/*)",
        imports.join(", ")
    )]
    ImportNotAllowed { imports: Vec<String> },
    #[error("world mismatch: {0}")]
    WorldMismatch(String),
    #[error("describe returned an invalid description: {0}")]
    BadInfo(String),
    #[error("describe failed: {0}")]
    Describe(Box<ResolveFailure>),
    #[error("internal sandbox error: {0}")]
    Internal(String),
}

impl LoadError {
    /// A stable tag for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            // A failed describe is tagged by what failed in it.
            LoadError::Describe(f) => f.kind(),
            _ => self.into(),
        }
    }

    /// The guest's captured log, when guest code ran (describe).
    pub fn log(&self) -> Option<&str> {
        match self {
            LoadError::Describe(f) => Some(&f.log),
            _ => None,
        }
    }
}

/// What went wrong in one call of a guest.
#[derive(Clone, Debug, PartialEq, thiserror::Error, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ResolveError {
    #[error("out of fuel: the guest used its whole budget of {budget} fuel")]
    OutOfFuel { budget: u64 },
    #[error("deadline exceeded: the call ran longer than {limit_ms} ms")]
    Deadline { limit_ms: u64 },
    #[error(
        "memory limit: the guest asked for {requested} bytes of linear memory; the cap is {limit}"
    )]
    MemoryLimit { requested: usize, limit: usize },
    #[error("stack overflow: the guest exhausted its call stack")]
    StackOverflow,
    #[error("guest trapped: {message}")]
    Trap { message: String },
    #[error("output too large: {0}")]
    OutputTooLarge(String),
    #[error("invalid output: {0}")]
    InvalidOutput(String),
    #[error("invalid params: {0}")]
    InvalidParams(String),
    #[error("resolution failed: {0}")]
    Failed(String),
    #[error("component {0} is not loaded in this sandbox")]
    NotLoaded(String),
    #[error("cannot instantiate the component: {0}")]
    Instantiate(String),
}

impl ResolveError {
    /// A stable tag for reports.
    pub fn kind(&self) -> &'static str {
        self.into()
    }

    /// True when the guest itself refused (as opposed to a limit or a trap stopping it).
    pub fn is_guest_refusal(&self) -> bool {
        matches!(
            self,
            ResolveError::InvalidParams(_) | ResolveError::Failed(_)
        )
    }
}

/// A failed call, with what the guest left behind: its log and the reads it made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct ResolveFailure {
    pub error: ResolveError,
    /// sha256 of the component (lowercase hex).
    pub digest: String,
    /// The guest's captured stdout, stderr and `log` lines.
    pub log: String,
    /// Reads the guest made before failing, in order.
    pub reads: Vec<(String, Value)>,
    /// Fuel burned, when it can be told (not after a deadline interrupt, where wasmtime cannot
    /// account for the interrupted frame).
    pub fuel_used: Option<u64>,
}

impl ResolveFailure {
    pub fn kind(&self) -> &'static str {
        self.error.kind()
    }

    /// A failure before any guest code ran: no log, no reads, no fuel.
    pub(crate) fn before_guest(error: ResolveError, digest: &str) -> ResolveFailure {
        ResolveFailure {
            error,
            digest: digest.to_string(),
            log: String::new(),
            reads: Vec::new(),
            fuel_used: None,
        }
    }
}
