//! The OpenAPI 3.1 document served at `/openapi.json`: every route of
//! [`super::routes::ROUTES`] (a test compares the two), every body and refusal schema, and the
//! bearer security scheme with the scope each route needs.

use utoipa::openapi::OpenApi as Spec;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    components, conduct, documents, meta, procedures, runs, schemas, sim, state, stream, tokens,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "baton",
        description = "Conducts experimental procedures: upload a component, define a \
            procedure, conduct it, follow its progress, hold and reconduct it. Errors are \
            RFC 9457 problem+json with a stable `type` (urn:baton:problem:<slug>). Orchestration \
            results are always 200 with the outcome in the body.",
    ),
    paths(
        meta::health, meta::openapi, meta::metrics,
        components::upload, components::list, components::show, components::remove,
        runs::create, runs::list, runs::show, runs::hold, runs::resume, runs::complete,
        runs::abort, runs::stop, runs::truncate,
        procedures::define, procedures::list, procedures::show, procedures::events,
        procedures::journal, stream::stream, documents::documents, documents::stream,
        conduct::conduct, conduct::try_conduct, conduct::reconduct,
        procedures::hold, procedures::resume, procedures::abort, procedures::truncate,
        procedures::complete, procedures::start_iteration, procedures::end_iteration,
        sim::clear_faults,
        tokens::create, tokens::list, tokens::revoke,
    ),
    components(schemas(
        super::error::ProblemBody, super::auth::Scope, super::progress::Progress,
        state::LastConduct,
        stream::StatusEvent, stream::ProgressEvent,
    )),
    modifiers(&Additions),
    tags(
        (name = "components", description = "procedure components (wasm), content-addressed"),
        (name = "procedures", description = "define, inspect, follow"),
        (name = "conduct", description = "conduct, try-conduct, reconduct"),
        (name = "lifecycle", description = "hold, resume, abort, truncate, complete, iterations"),
        (name = "runs", description = "parent experiments"),
        (name = "sim", description = "the simulated beamline"),
        (name = "tokens", description = "bearer tokens (admin)"),
        (name = "meta", description = "health, spec, metrics"),
    )
)]
struct ApiDoc;

/// The bearer scheme and the schemas written by hand (domain types).
struct Additions;

impl Modify for Additions {
    fn modify(&self, openapi: &mut Spec) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("baton_<64 hex digits>")
                    .description(Some(
                        "A token from `baton serve` (printed once at first start), `baton token \
                         create` or POST /tokens. The security requirement of each operation \
                         names the scope it needs; `admin` implies every scope.",
                    ))
                    .build(),
            ),
        );
        for (name, schema) in schemas::all() {
            components.schemas.insert(name, schema);
        }
    }
}

/// The document.
pub fn spec() -> Spec {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use super::*;
    use crate::api::auth::Access;
    use crate::api::routes::ROUTES;

    /// Every route is in the spec with the same method, and the spec has no route the router
    /// lacks; each operation's security names the route's scope.
    #[test]
    fn the_spec_covers_exactly_the_routes() {
        let spec = serde_json::to_value(spec()).unwrap();
        assert_eq!(spec["openapi"], "3.1.0");
        let mut in_spec = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let method = method.to_ascii_uppercase();
                let scopes: Vec<String> = operation["security"]
                    .as_array()
                    .map(|s| {
                        s.iter()
                            .flat_map(|r| r["bearer"].as_array().cloned().unwrap_or_default())
                            .map(|v| v.as_str().unwrap().to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                in_spec.insert((method, path.clone(), scopes));
            }
        }
        let in_router: BTreeSet<_> = ROUTES
            .iter()
            .map(|r| {
                let scopes = match r.access {
                    Access::Public => vec![],
                    Access::Scope(s) => vec![s.as_str().to_owned()],
                };
                (r.verb.as_str().to_owned(), r.path.to_owned(), scopes)
            })
            .collect();
        let missing: Vec<_> = in_router.difference(&in_spec).collect();
        let extra: Vec<_> = in_spec.difference(&in_router).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the spec: {missing:?}"
        );
        assert!(extra.is_empty(), "spec operations with no route: {extra:?}");
    }

    /// Every `$ref` in the document points at a schema it defines.
    #[test]
    fn every_reference_resolves() {
        let spec = serde_json::to_value(spec()).unwrap();
        let defined: BTreeSet<String> = spec["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                        out.push(r.trim_start_matches("#/components/schemas/").to_owned());
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        refs(&spec, &mut found);
        assert!(found.len() > 30);
        let dangling: Vec<_> = found.iter().filter(|r| !defined.contains(*r)).collect();
        assert!(dangling.is_empty(), "dangling refs: {dangling:?}");
    }
}
