//! Integration tests of the sandbox: loading and its refusals, resolving, every limit a hostile
//! guest can hit, the caches, the example procedures against their golden steps, and
//! `baton validate`. One test binary; one shared `Sandbox` wherever a test does not need its own
//! configuration, so every component is compiled once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "sandbox/cache.rs"]
mod cache;
#[path = "sandbox/calls.rs"]
mod calls;
#[path = "sandbox/cli.rs"]
mod cli;
#[path = "sandbox/golden.rs"]
mod golden;
#[path = "sandbox/hostile.rs"]
mod hostile;
#[path = "sandbox/load.rs"]
mod load;
#[path = "sandbox/wat.rs"]
mod wat;

use std::sync::OnceLock;

use baton_host::sandbox::{Limits, Sandbox, SandboxConfig};

/// The sandbox most tests share, with default limits and no disk cache.
pub fn shared() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        Sandbox::new(SandboxConfig {
            cache_dir: None,
            limits: Limits::default(),
        })
        .expect("the default sandbox builds")
    })
}
