//! The HTTP API driven over a real socket (reqwest against `baton serve`'s server on
//! 127.0.0.1): every route's success and refusals, the auth matrix from the route table, bad
//! bodies, the progress stream and its reconnects, the event-model documents (NDJSON, SSE, `baton
//! export`), background conducts, the OpenAPI document;
//! and the `baton` binary itself (demo, serve with a graceful shutdown, token, conduct).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/auth.rs"]
mod auth;
#[path = "api/bodies.rs"]
mod bodies;
#[path = "api/components.rs"]
mod components;
#[path = "api/conduct.rs"]
mod conduct;
#[path = "documents/python.rs"]
#[allow(dead_code)]
mod doc_python;
#[path = "documents/schema.rs"]
#[allow(dead_code)]
mod doc_schema;
#[path = "api/documents.rs"]
mod documents;
#[path = "api/harness.rs"]
mod harness;
#[path = "api/internal.rs"]
mod internal;
#[path = "api/openapi.rs"]
mod openapi;
#[path = "api/postgres.rs"]
mod postgres;
#[path = "api/procedures.rs"]
mod procedures;
#[path = "api/process.rs"]
mod process;
#[path = "api/runs.rs"]
mod runs;
#[path = "api/stream.rs"]
mod stream;
