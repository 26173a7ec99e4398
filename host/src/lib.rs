//! baton-host: the host side of baton. Layers, inside out (an inner layer never imports an outer
//! one): `domain` (pure), `sandbox` (wasmtime), `store` (event store, journal, projections),
//! `ports` (devices), `app` (load, decide, append: every command), `conductor` (orchestration),
//! `api` (HTTP), `cli` (the `baton` binary's commands). `documents` (pure) turns a procedure's
//! events and journal into event-model documents.
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod api;
pub mod app;
pub mod cli;
pub mod conductor;
pub mod documents;
pub mod domain;
pub mod ports;
pub mod sandbox;
pub mod store;
