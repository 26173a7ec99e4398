//! The HTTP API (axum): every verb of the host over HTTP, with bearer-token scopes, RFC 9457
//! problem+json errors, an OpenAPI 3.1 document, live progress over Server-Sent Events and
//! Prometheus metrics. The edge of the host: it maps HTTP onto the conductor and the application
//! layer ([`crate::app`]) and owns no rule of its own beyond authorization and request limits.
//!
//! - [`routes`]: the route table (path, method, scope, limits) the router is built from;
//! - [`server`]: a whole host (store, sandbox, catalog, conductor, API) on a socket, with
//!   restart recovery at start and a graceful shutdown;
//! - one module per resource: [`components`], [`procedures`], [`conduct`], [`stream`],
//!   [`runs`], [`tokens`], [`sim`], [`meta`]; [`documents`]: a procedure as
//!   event-model documents (NDJSON and SSE).

pub mod auth;
pub mod components;
pub mod conduct;
pub mod documents;
#[cfg(test)]
mod enum_names;
pub mod error;
pub mod extract;
pub mod meta;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod procedures;
pub mod progress;
pub mod routes;
pub mod runs;
pub mod schemas;
pub mod server;
pub mod sim;
pub mod state;
pub mod stream;
pub mod tokens;

pub use auth::{Access, Scope};
pub use error::{ApiError, Problem};
pub use routes::{ROUTES, RouteSpec, router};
pub use server::{Server, ServerConfig};
pub use state::{ApiConfig, ApiState};
