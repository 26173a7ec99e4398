//! The route table: the one list of every route with the scope it needs, its body limit and
//! whether it has a deadline. The router is built from it, the gate authorizes from it, and the
//! tests compare it with the OpenAPI spec and drive the auth matrix from it, so a route cannot
//! exist without a scope, nor be missing from the spec unnoticed.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::auth::{self, Access, Principal, Scope};
use super::error::{ApiError, Extension, Problem};
use super::state::ApiState;
use super::{components, conduct, documents, meta, procedures, runs, sim, stream, tokens};
use crate::store::TokenStore;

/// An HTTP method of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr)]
#[strum(serialize_all = "UPPERCASE")]
pub enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Delete => Method::DELETE,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a route's body is, which decides its size limit and deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A JSON body (or none): the JSON limit and the request deadline.
    Json,
    /// Raw component bytes: the component limit and the request deadline.
    Upload,
    /// A conduct verb: the JSON limit and no deadline (`?wait=true` lasts as long as the
    /// procedure does).
    Conduct,
    /// A progress stream: no body and no deadline.
    Stream,
}

/// One route.
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    pub verb: Verb,
    /// The axum path, e.g. `/procedures/{id}/hold` (also the OpenAPI path).
    pub path: &'static str,
    pub access: Access,
    pub shape: Shape,
    /// Success status, for the README's table.
    pub success: u16,
    pub summary: &'static str,
    handler: fn() -> MethodRouter<ApiState>,
}

const fn route(
    verb: Verb,
    path: &'static str,
    access: Access,
    shape: Shape,
    success: u16,
    summary: &'static str,
    handler: fn() -> MethodRouter<ApiState>,
) -> RouteSpec {
    RouteSpec {
        verb,
        path,
        access,
        shape,
        success,
        summary,
        handler,
    }
}

const READ: Access = Access::Scope(Scope::Read);
const AUTHOR: Access = Access::Scope(Scope::Author);
const OPERATE: Access = Access::Scope(Scope::Operate);
const ADMIN: Access = Access::Scope(Scope::Admin);
const PUBLIC: Access = Access::Public;

use Shape::{Conduct, Json, Stream, Upload};
use Verb::{Delete, Get, Post};

/// Every route of the API.
pub static ROUTES: &[RouteSpec] = &[
    route(
        Get,
        "/health",
        PUBLIC,
        Json,
        200,
        "liveness and version",
        || get(meta::health),
    ),
    route(
        Get,
        "/openapi.json",
        PUBLIC,
        Json,
        200,
        "this API's OpenAPI 3.1 document",
        || get(meta::openapi),
    ),
    route(
        Get,
        "/metrics",
        READ,
        Json,
        200,
        "Prometheus metrics (text format)",
        || get(meta::metrics),
    ),
    // components
    route(
        Post,
        "/components",
        AUTHOR,
        Upload,
        201,
        "upload a component (raw wasm)",
        || post(components::upload),
    ),
    route(
        Get,
        "/components",
        READ,
        Json,
        200,
        "list components",
        || get(components::list),
    ),
    route(
        Get,
        "/components/{digest}",
        READ,
        Json,
        200,
        "a component",
        || get(components::show),
    ),
    route(
        Delete,
        "/components/{digest}",
        AUTHOR,
        Json,
        204,
        "delete an unused component",
        || delete(components::remove),
    ),
    // runs
    route(Post, "/runs", OPERATE, Json, 201, "start a run", || {
        post(runs::create)
    }),
    route(Get, "/runs", READ, Json, 200, "list runs", || {
        get(runs::list)
    }),
    route(Get, "/runs/{id}", READ, Json, 200, "a run", || {
        get(runs::show)
    }),
    route(
        Post,
        "/runs/{id}/hold",
        OPERATE,
        Json,
        200,
        "hold a run",
        || post(runs::hold),
    ),
    route(
        Post,
        "/runs/{id}/resume",
        OPERATE,
        Json,
        200,
        "resume a held run",
        || post(runs::resume),
    ),
    route(
        Post,
        "/runs/{id}/complete",
        OPERATE,
        Json,
        200,
        "complete a run",
        || post(runs::complete),
    ),
    route(
        Post,
        "/runs/{id}/abort",
        OPERATE,
        Json,
        200,
        "abort a run",
        || post(runs::abort),
    ),
    route(
        Post,
        "/runs/{id}/stop",
        OPERATE,
        Json,
        200,
        "stop a run early",
        || post(runs::stop),
    ),
    route(
        Post,
        "/runs/{id}/truncate",
        OPERATE,
        Json,
        200,
        "close a dead run",
        || post(runs::truncate),
    ),
    // procedures
    route(
        Post,
        "/procedures",
        AUTHOR,
        Json,
        201,
        "define a procedure",
        || post(procedures::define),
    ),
    route(
        Get,
        "/procedures",
        READ,
        Json,
        200,
        "list procedures",
        || get(procedures::list),
    ),
    route(
        Get,
        "/procedures/{id}",
        READ,
        Json,
        200,
        "a procedure with progress",
        || get(procedures::show),
    ),
    route(
        Get,
        "/procedures/{id}/events",
        READ,
        Json,
        200,
        "the procedure's events",
        || get(procedures::events),
    ),
    route(
        Get,
        "/procedures/{id}/journal",
        READ,
        Json,
        200,
        "the step journal (paged)",
        || get(procedures::journal),
    ),
    route(
        Get,
        "/procedures/{id}/stream",
        READ,
        Stream,
        200,
        "live progress (SSE)",
        || get(stream::stream),
    ),
    route(
        Get,
        "/procedures/{id}/documents",
        READ,
        Json,
        200,
        "event-model documents (NDJSON)",
        || get(documents::documents),
    ),
    route(
        Get,
        "/procedures/{id}/documents/stream",
        READ,
        Stream,
        200,
        "event-model documents live (SSE)",
        || get(documents::stream),
    ),
    route(
        Post,
        "/procedures/{id}/conduct",
        OPERATE,
        Conduct,
        200,
        "conduct",
        || post(conduct::conduct),
    ),
    route(
        Post,
        "/procedures/{id}/try-conduct",
        OPERATE,
        Conduct,
        200,
        "try-conduct",
        || post(conduct::try_conduct),
    ),
    route(
        Post,
        "/procedures/{id}/reconduct",
        OPERATE,
        Conduct,
        200,
        "reconduct",
        || post(conduct::reconduct),
    ),
    route(
        Post,
        "/procedures/{id}/hold",
        OPERATE,
        Json,
        200,
        "hold",
        || post(procedures::hold),
    ),
    route(
        Post,
        "/procedures/{id}/resume",
        OPERATE,
        Json,
        200,
        "resume without replay",
        || post(procedures::resume),
    ),
    route(
        Post,
        "/procedures/{id}/abort",
        OPERATE,
        Json,
        200,
        "abort",
        || post(procedures::abort),
    ),
    route(
        Post,
        "/procedures/{id}/truncate",
        OPERATE,
        Json,
        200,
        "close a dead conduct",
        || post(procedures::truncate),
    ),
    route(
        Post,
        "/procedures/{id}/complete",
        OPERATE,
        Json,
        200,
        "complete by hand",
        || post(procedures::complete),
    ),
    route(
        Post,
        "/procedures/{id}/iterations/start",
        OPERATE,
        Json,
        200,
        "start an iteration",
        || post(procedures::start_iteration),
    ),
    route(
        Post,
        "/procedures/{id}/iterations/end",
        OPERATE,
        Json,
        200,
        "end an iteration",
        || post(procedures::end_iteration),
    ),
    // the simulated beamline
    route(
        Delete,
        "/sim/faults",
        OPERATE,
        Json,
        200,
        "lift injected sim faults",
        || delete(sim::clear_faults),
    ),
    // tokens
    route(
        Post,
        "/tokens",
        ADMIN,
        Json,
        201,
        "make a token (shown once)",
        || post(tokens::create),
    ),
    route(
        Get,
        "/tokens",
        ADMIN,
        Json,
        200,
        "list tokens (no secrets)",
        || get(tokens::list),
    ),
    route(
        Delete,
        "/tokens/{id}",
        ADMIN,
        Json,
        204,
        "revoke a token",
        || delete(tokens::revoke),
    ),
];

/// The route of a method and a matched path.
pub fn find(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    // HEAD is answered by the GET route.
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    ROUTES
        .iter()
        .find(|r| r.path == path && r.verb.method() == method)
}

/// The API: every route of [`ROUTES`] behind the gate (authorization and request metrics),
/// with a request id, a tracing span per request, body limits and deadlines.
pub fn router(state: ApiState) -> Router {
    let config = state.config.clone();
    let mut router = Router::new();
    for spec in ROUTES {
        let mut endpoint = (spec.handler)();
        let limit = match spec.shape {
            Shape::Upload => config.component_limit,
            Shape::Json | Shape::Conduct => config.json_limit,
            Shape::Stream => 0,
        };
        endpoint = endpoint.layer(DefaultBodyLimit::max(limit));
        if matches!(spec.shape, Shape::Json | Shape::Upload) {
            endpoint = endpoint.layer(middleware::from_fn_with_state(
                config.request_timeout,
                deadline,
            ));
        }
        router = router.route(spec.path, endpoint);
    }
    router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .layer(middleware::from_fn(super::error::with_request_id))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    uri = %request.uri(),
                    request_id = %request_id,
                )
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// A deadline for ordinary requests (503 `timeout` past it).
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            Problem::Timeout,
            format!("the request took longer than {} s", limit.as_secs_f64()),
        )
        .into_response(),
    }
}

/// Authorizes every matched route from the table, and counts every request.
async fn gate(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let response = match &route {
        None => next.run(request).await,
        Some(path) => match find(&method, path) {
            None => method_not_allowed(path),
            Some(spec) => match authorize(
                &state,
                spec.access,
                request.headers().get(header::AUTHORIZATION).cloned(),
            )
            .await
            {
                Ok(principal) => {
                    if let Some(principal) = principal {
                        tracing::debug!(token = %principal.token_id, "authorized");
                        request.extensions_mut().insert(principal);
                    }
                    next.run(request).await
                }
                Err(e) => e.into_response(),
            },
        },
    };
    let label = route.as_deref().unwrap_or("unmatched");
    state
        .metrics
        .http_requests
        .with_label_values(&[method.as_str(), label, response.status().as_str()])
        .inc();
    state
        .metrics
        .http_seconds
        .with_label_values(&[label])
        .observe(started.elapsed().as_secs_f64());
    response
}

fn method_not_allowed(path: &str) -> Response {
    let allowed: Vec<&str> = ROUTES
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.verb.as_str())
        .collect();
    let mut response = ApiError::new(
        Problem::MethodNotAllowed,
        format!("{path} allows {}", allowed.join(", ")),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// 401 without a token or with one the host does not know; 403 when it lacks the scope.
async fn authorize(
    state: &ApiState,
    access: Access,
    authorization: Option<HeaderValue>,
) -> Result<Option<Principal>, ApiError> {
    let Access::Scope(scope) = access else {
        return Ok(None);
    };
    let header = authorization.ok_or_else(|| {
        ApiError::new(
            Problem::Unauthorized,
            "this route needs a bearer token (Authorization: Bearer baton_...)",
        )
    })?;
    let token = header.to_str().ok().and_then(auth::bearer).ok_or_else(|| {
        ApiError::new(
            Problem::Unauthorized,
            "the Authorization header is not `Bearer <token>`",
        )
    })?;
    let record = state
        .backend()
        .token_by_hash(&auth::token_hash(token))
        .await?
        .ok_or_else(|| ApiError::new(Problem::Unauthorized, "unknown or revoked token"))?;
    let principal = auth::principal(&record);
    if !principal.allows(scope) {
        return Err(ApiError::new(
            Problem::Forbidden,
            format!("this route needs the `{scope}` scope"),
        )
        .with(Extension::RequiredScope, scope)
        .with(Extension::TokenScopes, &principal.scopes));
    }
    Ok(Some(principal))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn routes_are_unique_and_every_non_public_route_has_a_scope() {
        let mut seen = HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.verb, r.path)),
                "{} {} twice",
                r.verb.as_str(),
                r.path
            );
            assert!(r.path.starts_with('/'));
        }
        let public: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.access == Access::Public)
            .map(|r| r.path)
            .collect();
        assert_eq!(public, ["/health", "/openapi.json"]);
        assert!(find(&Method::HEAD, "/procedures/{id}").is_some());
        assert!(find(&Method::PUT, "/procedures/{id}").is_none());
    }
}
