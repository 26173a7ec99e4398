//! `/openapi.json`: public, OpenAPI 3.1, every route of the router in it; and the schemas
//! describe what the API really sends (real bodies checked against them).

use std::collections::BTreeSet;

use baton_host::api::ROUTES;
use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};

use crate::harness::{Host, check_problem, hello};

async fn spec(host: &Host) -> Json {
    let response = host
        .client
        .get(format!("{}/openapi.json", host.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_served_spec_has_every_route() {
    let host = Host::start().await;
    let spec = spec(&host).await;
    assert_eq!(spec["openapi"], "3.1.0");
    let operations: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(|m| (m.to_ascii_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.verb.as_str().to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(operations, routes);
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    host.shutdown().await;
}

/// Checks `value` against `schema` for what the spec promises: an object's required members
/// are there, every member is a declared property, enums hold, one of a `oneOf` fits, arrays'
/// items fit. Returns the first mismatch.
fn conforms(spec: &Json, schema: &Json, value: &Json, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return conforms(spec, &spec["components"]["schemas"][name], value, at);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        return if options.iter().any(|o| conforms(spec, o, value, at).is_ok()) {
            Ok(())
        } else {
            Err(format!("{at}: {value} fits no option"))
        };
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} not in {allowed:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Json::String(t) => vec![t.as_str()],
        Json::Array(ts) => ts.iter().filter_map(Json::as_str).collect(),
        _ => vec![],
    };
    if value.is_null() {
        return if types.is_empty() || types.contains(&"null") {
            Ok(())
        } else {
            Err(format!("{at}: null where {types:?}"))
        };
    }
    match value {
        Json::Object(map) if types.contains(&"object") => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                if !map.contains_key(name) {
                    return Err(format!("{at}: required {name} missing"));
                }
            }
            if let Some(properties) = schema["properties"].as_object() {
                for (key, member) in map {
                    let Some(property) = properties.get(key) else {
                        return Err(format!("{at}: {key} is not in the schema"));
                    };
                    conforms(spec, property, member, &format!("{at}.{key}"))?;
                }
            }
            Ok(())
        }
        Json::Array(items) if types.contains(&"array") => {
            if schema["items"].is_object() {
                for (i, item) in items.iter().enumerate() {
                    conforms(spec, &schema["items"], item, &format!("{at}[{i}]"))?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn response_schema(spec: &Json, path: &str, method: &str, status: &str) -> Json {
    spec["paths"][path][method]["responses"][status]["content"]
        .as_object()
        .and_then(|c| c.values().next())
        .map(|c| c["schema"].clone())
        .unwrap_or_else(|| panic!("no schema for {method} {path} {status}"))
}

#[tokio::test]
async fn real_bodies_fit_their_schemas() {
    let host = Host::start().await;
    let spec = spec(&host).await;
    let id = host.define(&hello(), json!({})).await;
    let (_, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/conduct"), None)
        .await;
    let (_, procedure) = host.get(&format!("/procedures/{id}")).await;
    let (_, page) = host.get("/procedures").await;
    let (_, journal) = host.get(&format!("/procedures/{id}/journal")).await;
    let (_, components) = host.get("/components").await;
    let (_, run) = host.post("/runs", json!({"name": "r"})).await;
    let problem = host
        .get(&format!("/procedures/{}", uuid::Uuid::new_v4()))
        .await
        .1;
    let checks = [
        ("/procedures/{id}/conduct", "post", "200", &outcome),
        ("/procedures/{id}", "get", "200", &procedure),
        ("/procedures/{id}", "get", "404", &problem),
        ("/procedures", "get", "200", &page),
        ("/procedures/{id}/journal", "get", "200", &journal),
        ("/components", "get", "200", &components),
        ("/runs", "post", "201", &run),
    ];
    for (path, method, status, body) in checks {
        let schema = response_schema(&spec, path, method, status);
        conforms(&spec, &schema, body, &format!("{method} {path} {status}"))
            .unwrap_or_else(|e| panic!("{e}\nbody: {body}"));
    }
    // The checker is not vacuous: a body with a stray member or a bad enum fails.
    let schema = response_schema(&spec, "/procedures/{id}/conduct", "post", "200");
    let mut stray = outcome.clone();
    stray["surprise"] = json!(1);
    assert!(conforms(&spec, &schema, &stray, "x").is_err());
    let mut bad_status = outcome.clone();
    bad_status["status"] = json!("Sleeping");
    assert!(conforms(&spec, &schema, &bad_status, "x").is_err());
    host.shutdown().await;
}

/// Every answer's problem body goes through `harness::check_problem`: it checks the schema the
/// server serves, and it is not vacuous (a second `status`, a mistyped extension, a missing
/// member each fail it).
#[tokio::test]
async fn problem_bodies_are_checked_against_the_served_schema() {
    let host = Host::start().await;
    let served = spec(&host).await;
    let library = serde_json::to_value(baton_host::api::openapi::spec()).unwrap();
    assert_eq!(served, library, "the harness compiles the served document");
    let problem = &served["components"]["schemas"]["ProblemBody"];
    assert_eq!(problem["properties"]["status"]["type"], "integer");
    assert!(problem["properties"]["current_status"]["enum"].is_array());
    assert_eq!(problem["additionalProperties"], true);

    check_problem(
        r#"{"type":"urn:baton:problem:wrong-status","title":"t","status":409,"detail":"d",
            "current_status":"Defined","command":"start"}"#,
    );
    for bad in [
        r#"{"type":"u","title":"t","status":409,"detail":"d","status":"Defined"}"#,
        r#"{"type":"u","title":"t","status":409,"detail":"d","current_status":"Sleeping"}"#,
        r#"{"type":"u","title":"t","status":409,"detail":"d","step_index":-1}"#,
        r#"{"type":"u","title":"t","status":"409","detail":"d"}"#,
        r#"{"type":"u","title":"t","status":409}"#,
    ] {
        let text = bad.to_owned();
        assert!(
            std::panic::catch_unwind(move || check_problem(&text)).is_err(),
            "accepted: {bad}"
        );
    }
    host.shutdown().await;
}
