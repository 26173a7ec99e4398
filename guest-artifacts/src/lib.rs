//! The guest components, built for `wasm32-wasip2` by this crate's build script, as paths and
//! bytes.
//!
//! Building this crate runs a nested `cargo build --target wasm32-wasip2 --profile guest` of
//! the example procedures (`procedures/*`) and the test guests (`tests/guests/*`) of this
//! workspace, in its own target directory `<target>/<profile>/build/baton-artifacts-guests`
//! (wasmtime builds its test-programs the same way; the directory is shared by `cargo build`,
//! `cargo test` and `cargo clippy` runs of one profile, so CI builds the guests once). Editing a guest, the SDK, the WIT, `Cargo.lock` or the root
//! `Cargo.toml` rebuilds them. The target must be installed: `rustup target add wasm32-wasip2`.
//!
//! Generated, per component (`-` in the package name becomes `_`):
//! - `pub const GRID_SCAN: &str`, the path of the `.wasm` file;
//! - `pub const fn grid_scan_bytes() -> &'static [u8]`, its bytes (`include_bytes!`).
//!
//! Components: `HELLO`, `GRID_SCAN`, `ENERGY_SCAN`, `TEMPERATURE_RAMP`, `ALIGN` (the example
//! procedures), `GUEST_HOSTILE` (misbehaves according to its `mode` parameter) and
//! `GUEST_SOCKETS` (imports `wasi:sockets`, so the host must refuse it at load) and `GUEST_SCRIPT`
//! (resolves the steps its `script` parameter spells out, for the conductor's tests).
//!
//! And two lists: [`ALL`] (every component) and [`EXAMPLES`] (the example procedures with their
//! `params.json`, e.g. for `baton serve` to register them and for the golden tests).
//!
//! ```
//! for example in baton_artifacts::EXAMPLES {
//!     assert!(example.bytes.starts_with(b"\0asm"));
//!     assert!(example.params_json.trim_start().starts_with('{'));
//! }
//! assert_eq!(baton_artifacts::hello_bytes(), std::fs::read(baton_artifacts::HELLO).unwrap());
//! ```

/// A built component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Component {
    /// The package name, e.g. `"grid-scan"`.
    pub name: &'static str,
    /// Absolute path of the `.wasm` file.
    pub path: &'static str,
    /// The component's bytes.
    pub bytes: &'static [u8],
}

/// An example procedure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Example {
    /// The package name, which is also the name `describe` reports, e.g. `"grid-scan"`.
    pub name: &'static str,
    /// Absolute path of the `.wasm` file.
    pub path: &'static str,
    /// The component's bytes.
    pub bytes: &'static [u8],
    /// The example parameters (`params.json`: a JSON object, parameter name to value).
    pub params_json: &'static str,
    /// Absolute path of the procedure's source directory (README.md, params.json, golden.json).
    pub dir: &'static str,
}

impl Example {
    /// Looks an example up by name.
    pub fn named(name: &str) -> Option<&'static Example> {
        EXAMPLES.iter().find(|e| e.name == name)
    }
}

include!(concat!(env!("OUT_DIR"), "/gen.rs"));
