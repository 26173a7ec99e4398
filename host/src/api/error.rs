//! Errors as RFC 9457 problem details (`application/problem+json`). Every refusal has a stable
//! `type` (`urn:baton:problem:<slug>`, listed in [`Problem`]) so a client can branch on it
//! without parsing prose; `detail` is the human sentence, and extension members carry what the
//! refusal is about (a step index and rule, the guest's log, the remaining hold claims).
//! Extensions are named by [`Extension`] only: one name per meaning on every refusal, never one
//! of RFC 9457's own members, so a body has exactly one `status` (the HTTP code).
//!
//! The status map (docs/api.md#errors): bad syntax or a bad boundary 400, no or unknown token 401, wrong
//! scope 403, not found 404, wrong status / version conflict / in use 409, body too large 413,
//! a well-formed request the domain or the sandbox refuses 422, the host's own failure 500.
//! Besides: a known path with another method 405, and 503 past a request's deadline or while
//! the host shuts down.
//!
//! A 500 never carries the host's own text (a database error, a corrupt row): its body says
//! "internal error" and names the request id (`x-request-id`), and the detail goes to the log
//! under that id, so an operator can find it and a client learns nothing of the internals.

use std::borrow::Cow;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use strum::VariantArray;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use crate::app::CommandError;
use crate::conductor::ConductError;
use crate::domain::RefusalKind;
use crate::domain::procedure::{ProcedureCommandKind, ProcedureError, ProcedureStatus};
use crate::domain::run::{RunCommandKind, RunError, RunStatus};
use crate::sandbox::{LoadError, ParamsError};
use crate::store::StoreError;

/// The problem types baton answers with. The slug (the variant in kebab-case) is part of the
/// API: never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum Problem {
    /// The body is not JSON, or a query/path parameter does not parse (400).
    MalformedRequest,
    /// The reconduct boundary lies past the pinned steps (400).
    BoundaryPastEnd,
    /// No bearer token, or one the host does not know (401).
    Unauthorized,
    /// The token lacks the scope the route needs (403).
    Forbidden,
    /// The procedure, run, component, token or route does not exist (404).
    NotFound,
    /// The command does not fit the current status (409).
    WrongStatus,
    /// Another writer appended first; reload and retry (409).
    VersionConflict,
    /// This host is already conducting the procedure (409).
    AlreadyConducting,
    /// Hold claims of other causes keep the procedure held (409).
    HoldClaimsRemain,
    /// A component some procedure references cannot be deleted (409).
    ComponentInUse,
    /// The body exceeds the route's size limit (413).
    PayloadTooLarge,
    /// The JSON is well formed but does not fit the route's schema (422).
    InvalidBody,
    /// The command's input is refused by the domain (422).
    InvalidCommand,
    /// The parameters do not fit the component's declared parameters (422).
    InvalidParams,
    /// The uploaded bytes are not a component baton can run (422).
    InvalidComponent,
    /// The procedure names a component this host cannot find or load (404/422).
    ComponentUnavailable,
    /// The guest refused or failed to resolve (422).
    ResolveFailed,
    /// A resolved step breaks the device catalog's rules (422).
    SafetyViolation,
    /// The route exists, but not for this method (405).
    MethodNotAllowed,
    /// The request ran past its deadline (503).
    Timeout,
    /// The host is shutting down and starts no new conduct (503).
    ShuttingDown,
    /// The host failed: the database, a corrupt stream, a missing pin (500).
    Internal,
}

impl Problem {
    pub fn slug(self) -> &'static str {
        self.into()
    }

    /// The `type` member: `urn:baton:problem:<slug>`.
    pub fn type_uri(self) -> String {
        format!("urn:baton:problem:{}", self.slug())
    }

    pub fn title(self) -> &'static str {
        match self {
            Problem::MalformedRequest => "Malformed request",
            Problem::BoundaryPastEnd => "Boundary past the pinned steps",
            Problem::Unauthorized => "Authentication required",
            Problem::Forbidden => "Scope missing",
            Problem::NotFound => "Not found",
            Problem::WrongStatus => "Wrong status for this command",
            Problem::VersionConflict => "Version conflict",
            Problem::AlreadyConducting => "Already being conducted",
            Problem::HoldClaimsRemain => "Hold claims remain",
            Problem::ComponentInUse => "Component in use",
            Problem::PayloadTooLarge => "Payload too large",
            Problem::InvalidBody => "Invalid body",
            Problem::InvalidCommand => "Invalid command",
            Problem::InvalidParams => "Invalid parameters",
            Problem::InvalidComponent => "Invalid component",
            Problem::ComponentUnavailable => "Component unavailable",
            Problem::ResolveFailed => "Resolve failed",
            Problem::SafetyViolation => "Safety check refused the steps",
            Problem::MethodNotAllowed => "Method not allowed",
            Problem::Timeout => "Request timed out",
            Problem::ShuttingDown => "Host shutting down",
            Problem::Internal => "Internal error",
        }
    }

    /// The usual status of the problem; [`ApiError::status`] may differ (component-unavailable
    /// is 404 when the component is missing and 422 when it no longer loads).
    pub fn status(self) -> StatusCode {
        match self {
            Problem::MalformedRequest | Problem::BoundaryPastEnd => StatusCode::BAD_REQUEST,
            Problem::Unauthorized => StatusCode::UNAUTHORIZED,
            Problem::Forbidden => StatusCode::FORBIDDEN,
            Problem::NotFound => StatusCode::NOT_FOUND,
            Problem::WrongStatus
            | Problem::VersionConflict
            | Problem::AlreadyConducting
            | Problem::HoldClaimsRemain
            | Problem::ComponentInUse => StatusCode::CONFLICT,
            Problem::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::InvalidBody
            | Problem::InvalidCommand
            | Problem::InvalidParams
            | Problem::InvalidComponent
            | Problem::ComponentUnavailable
            | Problem::ResolveFailed
            | Problem::SafetyViolation => StatusCode::UNPROCESSABLE_ENTITY,
            Problem::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Problem::Timeout | Problem::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Problem::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

tokio::task_local! {
    /// The `x-request-id` of the request being answered, set by [`with_request_id`].
    static REQUEST_ID: String;
}

/// Middleware (inside the layer that sets `x-request-id`): makes the request id known to the
/// errors the request's handlers build, for a 500's body and log line.
pub async fn with_request_id(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    REQUEST_ID.scope(id, next.run(request)).await
}

/// The id of the request being answered, if any (none in a background conduct).
fn request_id() -> Option<String> {
    REQUEST_ID
        .try_with(Clone::clone)
        .ok()
        .filter(|id| !id.is_empty())
}

/// The members RFC 9457 defines. No extension may be named like one: a second `status` would
/// make the body ambiguous (JSON parsers keep the last one).
pub const STANDARD_MEMBERS: [&str; 5] = ["type", "title", "status", "detail", "instance"];

/// The extension members a problem may carry. One name per meaning, the same on every refusal
/// (the aggregate's status is always `current_status`, the refused command always `command`);
/// the names, meanings ([`Extension::description`]) and schemas are in the OpenAPI
/// `ProblemBody`, generated from this list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Extension {
    CurrentStatus,
    Command,
    Remaining,
    Param,
    Declared,
    Digest,
    Procedures,
    ProcedureId,
    Reason,
    Log,
    FuelUsed,
    Boundary,
    StepCount,
    StepIndex,
    Channel,
    Rule,
    RequiredScope,
    TokenScopes,
    RequestId,
}

impl Extension {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// What the member says, for the spec.
    pub fn description(self) -> &'static str {
        match self {
            Extension::CurrentStatus => {
                "the status of the procedure or run the request was refused in"
            }
            Extension::Command => "the command refused",
            Extension::Remaining => "the hold claims that keep a procedure held",
            Extension::Param => "the parameter that does not fit the component's declaration",
            Extension::Declared => "the parameters the component declares",
            Extension::Digest => "the component concerned",
            Extension::Procedures => {
                "how many procedures reference a component that cannot be deleted"
            }
            Extension::ProcedureId => "the procedure concerned",
            Extension::Reason => {
                "the check that refused a component or a resolution (machine-readable)"
            }
            Extension::Log => "what the guest logged before it failed",
            Extension::FuelUsed => "the fuel a failed resolution used",
            Extension::Boundary => "the reconduct boundary refused",
            Extension::StepCount => "the number of pinned steps",
            Extension::StepIndex => "the step that broke a safety rule",
            Extension::Channel => "the channel of the step that broke a safety rule",
            Extension::Rule => "the safety rule a step broke",
            Extension::RequiredScope => "the scope the route needs",
            Extension::TokenScopes => "the scopes the token has",
            Extension::RequestId => "the request id of an internal error, to find its log line",
        }
    }

    /// The member's JSON schema.
    fn schema(self) -> Json {
        let text = json!({ "type": "string" });
        let count = json!({ "type": "integer", "minimum": 0 });
        let scope = json!({ "$ref": "#/components/schemas/Scope" });
        match self {
            Extension::CurrentStatus => {
                // As the member is written: the statuses' serde names.
                let mut all: Vec<Json> = ProcedureStatus::VARIANTS
                    .iter()
                    .map(|s| serde_json::to_value(s).unwrap_or(Json::Null))
                    .collect();
                for s in RunStatus::VARIANTS {
                    let s = serde_json::to_value(s).unwrap_or(Json::Null);
                    if !all.contains(&s) {
                        all.push(s);
                    }
                }
                json!({ "type": "string", "enum": all })
            }
            Extension::Command => {
                let mut all: Vec<Json> = ProcedureCommandKind::VARIANTS
                    .iter()
                    .map(|c| Json::from(c.as_str()))
                    .collect();
                for c in RunCommandKind::VARIANTS {
                    let c = Json::from(c.as_str());
                    if !all.contains(&c) {
                        all.push(c);
                    }
                }
                json!({ "type": "string", "enum": all })
            }
            Extension::Remaining => {
                json!({ "type": "array", "items": { "$ref": "#/components/schemas/HoldCause" } })
            }
            Extension::Declared => json!({ "type": "array", "items": text }),
            Extension::ProcedureId => json!({ "type": "string", "format": "uuid" }),
            Extension::Procedures
            | Extension::FuelUsed
            | Extension::Boundary
            | Extension::StepCount
            | Extension::StepIndex => count,
            Extension::RequiredScope => scope,
            Extension::TokenScopes => json!({ "type": "array", "items": scope }),
            Extension::Param
            | Extension::Digest
            | Extension::Reason
            | Extension::Log
            | Extension::Channel
            | Extension::Rule
            | Extension::RequestId => text,
        }
    }
}

/// The problem+json body, as documented in the OpenAPI spec.
#[derive(Clone, Debug, Serialize)]
pub struct ProblemBody {
    /// `urn:baton:problem:<slug>`; stable, branch on it.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in a sentence that names the thing refused.
    pub detail: String,
    /// Extension members, named by [`Extension`] only (never a standard member).
    #[serde(flatten)]
    extensions: Map<String, Json>,
}

/// The body's schema: the standard members, required, and every [`Extension`] as an optional
/// property. Other members stay allowed, as RFC 9457 asks clients to ignore unknown extensions.
fn schema_problem_body() -> Json {
    let mut properties = Map::new();
    properties.insert(
        "type".into(),
        json!({ "type": "string", "description": "`urn:baton:problem:<slug>`; stable, branch on it" }),
    );
    properties.insert("title".into(), json!({ "type": "string" }));
    properties.insert(
        "status".into(),
        json!({ "type": "integer", "minimum": 100, "maximum": 599, "description": "the HTTP status code" }),
    );
    properties.insert(
        "detail".into(),
        json!({ "type": "string", "description": "what went wrong, in a sentence that names the thing refused" }),
    );
    for extension in Extension::VARIANTS {
        let mut schema = extension.schema();
        schema["description"] = Json::from(extension.description());
        properties.insert(extension.name().into(), schema);
    }
    json!({
        "type": "object",
        "description": "RFC 9457 problem details. `status` is the HTTP status code; what the \
            refusal is about is in the extension members listed here, the same names on every \
            refusal (`current_status` is the status of the procedure or run).",
        "required": ["type", "title", "status", "detail"],
        "properties": properties,
        "additionalProperties": true,
    })
}

impl PartialSchema for ProblemBody {
    fn schema() -> RefOr<Schema> {
        super::schemas::from_json(schema_problem_body())
    }
}

impl ToSchema for ProblemBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProblemBody")
    }
}

/// An error answer of the API.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub problem: Problem,
    pub status: StatusCode,
    pub detail: String,
    extensions: Map<String, Json>,
}

impl ApiError {
    pub fn new(problem: Problem, detail: impl Into<String>) -> Self {
        ApiError {
            problem,
            status: problem.status(),
            detail: detail.into(),
            extensions: Map::new(),
        }
    }

    /// Adds an extension member: the one way to add one, so no standard member can be
    /// overwritten or repeated.
    pub fn with(mut self, key: Extension, value: impl Serialize) -> Self {
        self.extensions.insert(
            key.name().to_owned(),
            serde_json::to_value(value).unwrap_or(Json::Null),
        );
        self
    }

    /// An extension member, if the error has it.
    pub fn extension(&self, key: Extension) -> Option<&Json> {
        self.extensions.get(key.name())
    }

    pub fn with_status(self, status: StatusCode) -> Self {
        ApiError { status, ..self }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(Problem::NotFound, detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError::new(Problem::Internal, detail)
    }

    /// The body a client sees. An internal error's detail and extensions are withheld (they
    /// are logged): it says "internal error" and, within a request, the request id.
    pub fn body(&self) -> ProblemBody {
        if self.problem == Problem::Internal {
            let mut extensions = Map::new();
            let detail = match request_id() {
                Some(id) => {
                    let detail = format!("internal error (request id {id})");
                    extensions.insert(Extension::RequestId.name().to_owned(), Json::String(id));
                    detail
                }
                None => "internal error".to_owned(),
            };
            return ProblemBody {
                type_uri: self.problem.type_uri(),
                title: self.problem.title().to_owned(),
                status: self.status.as_u16(),
                detail,
                extensions,
            };
        }
        ProblemBody {
            type_uri: self.problem.type_uri(),
            title: self.problem.title().to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            extensions: self.extensions.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.problem.slug(),
            self.status,
            self.detail
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            let request_id = request_id().unwrap_or_else(|| "-".to_owned());
            tracing::error!(
                problem = self.problem.slug(),
                request_id = %request_id,
                detail = %self.detail,
                "request failed"
            );
        } else {
            tracing::debug!(problem = self.problem.slug(), detail = %self.detail, "request refused");
        }
        let body = serde_json::to_vec(&self.body()).unwrap_or_else(|_| {
            json!({"type": self.problem.type_uri(), "status": self.status.as_u16()})
                .to_string()
                .into_bytes()
        });
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.problem == Problem::Unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"baton\""),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::Conflict { .. } => ApiError::new(Problem::VersionConflict, e.to_string()),
            StoreError::ComponentInUse { digest, procedures } => {
                ApiError::new(Problem::ComponentInUse, e.to_string())
                    .with(Extension::Digest, digest)
                    .with(Extension::Procedures, procedures)
            }
            StoreError::InvalidQuery(_) => ApiError::new(Problem::MalformedRequest, e.to_string()),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

fn refusal(kind: RefusalKind, detail: String) -> ApiError {
    match kind {
        RefusalKind::NotFound => ApiError::new(Problem::NotFound, detail),
        RefusalKind::Conflict => ApiError::new(Problem::WrongStatus, detail),
        RefusalKind::Invalid => ApiError::new(Problem::InvalidCommand, detail),
    }
}

impl From<ProcedureError> for ApiError {
    fn from(e: ProcedureError) -> Self {
        let command = e.command().as_str();
        let error = match &e {
            ProcedureError::HoldClaimsRemain { remaining, .. } => {
                ApiError::new(Problem::HoldClaimsRemain, e.to_string())
                    .with(Extension::Remaining, remaining)
            }
            ProcedureError::WrongStatus { status, .. }
            | ProcedureError::AlreadyExists { status }
            | ProcedureError::ClaimAlreadyHeld { status, .. }
            | ProcedureError::Iteration { status, .. } => {
                refusal(e.kind(), e.to_string()).with(Extension::CurrentStatus, status)
            }
            _ => refusal(e.kind(), e.to_string()),
        };
        error.with(Extension::Command, command)
    }
}

impl From<RunError> for ApiError {
    fn from(e: RunError) -> Self {
        let command = e.command().as_str();
        let error = match &e {
            RunError::WrongStatus { status, .. } | RunError::AlreadyExists { status } => {
                refusal(e.kind(), e.to_string()).with(Extension::CurrentStatus, status)
            }
            _ => refusal(e.kind(), e.to_string()),
        };
        error.with(Extension::Command, command)
    }
}

impl<E: Into<ApiError>> From<CommandError<E>> for ApiError {
    fn from(e: CommandError<E>) -> Self {
        match e {
            CommandError::Refused(e) => e.into(),
            CommandError::ComponentNotRegistered(digest) => ApiError::new(
                Problem::ComponentUnavailable,
                format!("component {digest} is not registered"),
            )
            .with(Extension::Digest, digest),
            CommandError::Store(e) => e.into(),
        }
    }
}

/// Parameters that do not fit the component's declaration: 422 naming the parameter.
impl From<ParamsError> for ApiError {
    fn from(e: ParamsError) -> Self {
        let error = ApiError::new(Problem::InvalidParams, e.to_string());
        match e {
            ParamsError::Undeclared { name, declared, .. } => error
                .with(Extension::Param, name)
                .with(Extension::Declared, declared),
            ParamsError::Bad { name, .. } => error.with(Extension::Param, name),
            ParamsError::NotAnObject => error,
        }
    }
}

/// An upload the sandbox refused: 422 naming the check, with the guest's log if it ran.
pub fn load_error(e: &LoadError) -> ApiError {
    let error = match e {
        LoadError::Internal(_) => ApiError::internal(e.to_string()),
        _ => ApiError::new(Problem::InvalidComponent, e.to_string()),
    };
    let error = error.with(Extension::Reason, e.kind());
    match e.log() {
        Some(log) if !log.is_empty() => error.with(Extension::Log, log),
        _ => error,
    }
}

impl From<ConductError> for ApiError {
    fn from(e: ConductError) -> Self {
        match e {
            ConductError::Refused(e) => e.into(),
            ConductError::AlreadyConducting(id) => {
                ApiError::new(Problem::AlreadyConducting, e.to_string())
                    .with(Extension::ProcedureId, id)
            }
            ConductError::BoundaryPastEnd {
                boundary,
                step_count,
            } => ApiError::new(Problem::BoundaryPastEnd, e.to_string())
                .with(Extension::Boundary, boundary)
                .with(Extension::StepCount, step_count),
            ConductError::ComponentMissing(ref digest) => {
                ApiError::new(Problem::ComponentUnavailable, e.to_string())
                    .with_status(StatusCode::NOT_FOUND)
                    .with(Extension::Digest, digest)
            }
            ConductError::ComponentLoad {
                ref digest,
                ref error,
            } => ApiError::new(Problem::ComponentUnavailable, e.to_string())
                .with(Extension::Digest, digest)
                .with(Extension::Reason, error.kind()),
            ConductError::Resolve(ref failure) => {
                tracing::warn!(
                    digest = %failure.digest,
                    reason = failure.kind(),
                    log = %failure.log,
                    "resolve failed"
                );
                let mut error = ApiError::new(Problem::ResolveFailed, e.to_string())
                    .with(Extension::Reason, failure.kind())
                    .with(Extension::Log, &failure.log);
                if let Some(fuel) = failure.fuel_used {
                    error = error.with(Extension::FuelUsed, fuel);
                }
                error
            }
            ConductError::Safety(ref violation) => {
                ApiError::new(Problem::SafetyViolation, e.to_string())
                    .with(Extension::StepIndex, violation.step_index)
                    .with(Extension::Channel, &*violation.channel)
                    .with(Extension::Rule, violation.rule.name())
            }
            ConductError::PinMissing(_) => ApiError::internal(e.to_string()),
            ConductError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashSet;

    use super::*;

    #[test]
    fn slugs_are_unique_and_type_uris_stable() {
        use strum::VariantArray;
        let slugs: HashSet<_> = Problem::VARIANTS.iter().map(|p| p.slug()).collect();
        assert_eq!(slugs.len(), Problem::VARIANTS.len());
        assert_eq!(
            Problem::SafetyViolation.type_uri(),
            "urn:baton:problem:safety-violation"
        );
    }

    #[test]
    fn refusals_map_by_kind() {
        use crate::domain::procedure::{ProcedureCommandKind, ProcedureStatus};
        let e: ApiError = ProcedureError::NotFound {
            command: ProcedureCommandKind::Hold,
        }
        .into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let e: ApiError = ProcedureError::WrongStatus {
            command: ProcedureCommandKind::Complete,
            status: ProcedureStatus::Held,
        }
        .into();
        assert_eq!(
            (e.status, e.problem),
            (StatusCode::CONFLICT, Problem::WrongStatus)
        );
        assert_eq!(e.extensions["current_status"], "Held");
        assert_eq!(e.extensions["command"], "complete");
        let e: ApiError = ConductError::BoundaryPastEnd {
            boundary: 9,
            step_count: 3,
        }
        .into();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e: ApiError = ConductError::ComponentMissing("ab".into()).into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn params_are_typed_against_the_declaration() {
        use serde_json::json;

        use crate::domain::Value;
        use crate::sandbox::{Info, ParamKind, ParamSpec};

        let info = Info {
            name: "scan".into(),
            version: "1".into(),
            doc: String::new(),
            params: vec![
                ParamSpec {
                    name: "start".into(),
                    kind: ParamKind::Float,
                    default: Some(Value::Float(0.0)),
                    doc: String::new(),
                },
                ParamSpec {
                    name: "points".into(),
                    kind: ParamKind::Int,
                    default: None,
                    doc: String::new(),
                },
            ],
        };
        let typed = |given: Json| {
            info.typed_params(given.as_object().unwrap())
                .map_err(ApiError::from)
        };
        let ok = typed(json!({"start": 1, "points": 5})).unwrap();
        assert!(ok.contains(&("start".into(), Value::Float(1.0))));
        assert!(ok.contains(&("points".into(), Value::Int(5))));
        let unknown = typed(json!({"stop": 1})).unwrap_err();
        assert_eq!(unknown.problem, Problem::InvalidParams);
        assert_eq!(unknown.extensions["param"], "stop");
        for bad in [
            json!({"start": "NaN"}),
            json!({"points": 1.5}),
            json!({"start": true}),
        ] {
            let e = typed(bad.clone()).unwrap_err();
            assert_eq!(e.problem, Problem::InvalidParams, "{bad}");
        }
    }

    /// No extension is named like a standard member, so every problem, with every extension
    /// it could carry, serializes to a body with one `status`: the HTTP code.
    #[test]
    fn no_problem_body_repeats_a_standard_member() {
        for extension in Extension::VARIANTS {
            assert!(
                !STANDARD_MEMBERS.contains(&extension.name()),
                "{extension:?} is named like a standard member"
            );
        }
        for problem in Problem::VARIANTS {
            let mut error = ApiError::new(*problem, "refused");
            for extension in Extension::VARIANTS {
                error = error.with(*extension, "x");
            }
            let text = serde_json::to_string(&error.body()).unwrap();
            let body: Json = serde_json::from_str(&text).unwrap();
            for member in STANDARD_MEMBERS {
                let key = format!("\"{member}\":");
                assert!(text.matches(&key).count() <= 1, "{problem:?}: {text}");
            }
            assert_eq!(body["status"], problem.status().as_u16(), "{problem:?}");
        }
    }

    /// The wrong-status refusals of procedures, runs and documents name the aggregate's status
    /// alike.
    #[test]
    fn wrong_status_names_the_current_status() {
        let procedure: ApiError = ProcedureError::AlreadyExists {
            status: ProcedureStatus::Defined,
        }
        .into();
        let run: ApiError = RunError::AlreadyExists {
            status: RunStatus::Running,
        }
        .into();
        for (error, status) in [(&procedure, "Defined"), (&run, "Running")] {
            let body = serde_json::to_value(error.body()).unwrap();
            assert_eq!(body["status"], 409);
            assert_eq!(body["current_status"], status);
            assert!(body["command"].is_string(), "{body}");
        }
    }

    /// The spec's `ProblemBody` lists every extension and parses as a utoipa schema.
    #[test]
    fn the_schema_lists_every_extension() {
        let schema = serde_json::to_value(ProblemBody::schema()).unwrap();
        for extension in Extension::VARIANTS {
            assert!(
                schema["properties"][extension.name()].is_object(),
                "{extension:?}: {schema}"
            );
        }
        assert_eq!(schema["properties"]["status"]["type"], "integer");
        assert_eq!(schema["additionalProperties"], true);
        assert!(
            schema["properties"]["current_status"]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("Defined"))
        );
    }

    #[test]
    fn the_body_is_problem_json_with_extensions_flattened() {
        let e = ApiError::new(Problem::SafetyViolation, "step 3 broke a rule")
            .with(Extension::StepIndex, 3)
            .with(Extension::Rule, "max_step");
        let body = serde_json::to_value(e.body()).unwrap();
        assert_eq!(body["type"], "urn:baton:problem:safety-violation");
        assert_eq!(body["status"], 422);
        assert_eq!(body["step_index"], 3);
        assert_eq!(body["rule"], "max_step");
        let response = e.into_response();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
