//! Bad bodies and bad requests: malformed JSON (400), unknown fields (422), NaN and huge
//! exponents, a negative boundary, a body over the limit (413), an unknown route (404), a
//! wrong method (405). Every refusal is problem+json and nothing is written.

use std::time::Duration;

use baton_host::api::ApiConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Host, Options, assert_problem, expect_problem, hello};

#[tokio::test]
async fn malformed_and_mistyped_bodies() {
    let host = Host::start().await;
    let raw = |method: Method, path: &str, body: &'static str| {
        host.request(method, path)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    expect_problem(
        raw(Method::POST, "/runs", "{\"name\": ").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed-request",
    )
    .await;
    expect_problem(
        raw(Method::POST, "/runs", "").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed-request",
    )
    .await;
    let unknown = expect_problem(
        raw(
            Method::POST,
            "/runs",
            "{\"name\": \"r\", \"colour\": \"red\"}",
        )
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-body",
    )
    .await;
    assert!(
        unknown["detail"].as_str().unwrap().contains("colour"),
        "{unknown}"
    );
    expect_problem(
        raw(Method::POST, "/runs", "{\"name\": 42}").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-body",
    )
    .await;
    // No run was started by any of these.
    let (_, runs) = host.get("/runs").await;
    assert!(runs["items"].as_array().unwrap().is_empty());

    // NaN cannot travel in JSON: as a bare token it is malformed, as a string it is not a
    // number; a huge exponent does not fit a float.
    let id = host.define(&hello(), json!({})).await;
    host.call(Method::POST, &format!("/procedures/{id}/conduct"), None)
        .await;
    let nan_param = host
        .post(
            "/procedures",
            json!({"component": hello(), "params": {"position": "NaN"}}),
        )
        .await;
    assert_problem(
        &nan_param,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-params",
    );
    assert_eq!(nan_param.1["param"], "position");
    expect_problem(
        raw(
            Method::POST,
            "/procedures",
            "{\"component\": \"x\", \"params\": {\"position\": NaN}}",
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed-request",
    )
    .await;
    expect_problem(
        raw(
            Method::POST,
            "/procedures",
            "{\"component\": \"x\", \"params\": {\"position\": 1e999}}",
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed-request",
    )
    .await;
    let path = format!("/procedures/{id}/reconduct");
    for (body, status, slug) in [
        (
            "{\"boundary\": -1}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ),
        (
            "{\"boundary\": \"NaN\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ),
        (
            "{\"boundary\": 1.5}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ),
        (
            "{\"boundary\": 1e999}",
            StatusCode::BAD_REQUEST,
            "malformed-request",
        ),
        (
            "{\"boundary\": 0, \"from\": 1}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ),
    ] {
        let response = host
            .request(Method::POST, &path)
            .body(body)
            .send()
            .await
            .unwrap();
        expect_problem(response, status, slug).await;
    }
    // A body over the JSON limit (1 MiB).
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(2 << 20));
    let response = host
        .request(Method::POST, "/runs")
        .body(big)
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
    host.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_methods_and_path_parameters() {
    let host = Host::start().await;
    assert_problem(
        &host.get("/nowhere").await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let response = host
        .request(Method::PUT, "/procedures")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST, GET");
    expect_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    )
    .await;
    assert_problem(
        &host.get("/procedures/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        "malformed-request",
    );
    assert_problem(
        &host.get("/procedures?limit=0").await,
        StatusCode::BAD_REQUEST,
        "malformed-request",
    );
    assert_problem(
        &host.get("/procedures?status=Sleeping").await,
        StatusCode::BAD_REQUEST,
        "malformed-request",
    );
    assert_problem(
        &host.get("/procedures?cursor=garbage").await,
        StatusCode::BAD_REQUEST,
        "malformed-request",
    );
    assert_problem(
        &host.get("/procedures?colour=red").await,
        StatusCode::BAD_REQUEST,
        "malformed-request",
    );
    host.shutdown().await;
}

/// A JSON body sent in two halves with a pause between them.
fn slow_body(first: &'static str, second: &'static str, pause: Duration) -> reqwest::Body {
    let parts = futures::stream::unfold(0, move |n| async move {
        match n {
            0 => Some((Ok::<_, std::io::Error>(bytes::Bytes::from(first)), 1)),
            1 => {
                tokio::time::sleep(pause).await;
                Some((Ok(bytes::Bytes::from(second)), 2))
            }
            _ => None,
        }
    });
    reqwest::Body::wrap_stream(parts)
}

#[tokio::test]
async fn ordinary_requests_have_a_deadline_and_conducts_do_not() {
    let host = Host::with(Options {
        api: ApiConfig {
            request_timeout: Duration::from_millis(300),
            ..ApiConfig::default()
        },
        ..Options::default()
    })
    .await;
    let id = host.define(&hello(), json!({})).await;
    // A client that takes longer than the deadline to send its body is cut off...
    let response = host
        .request(Method::POST, "/runs")
        .body(slow_body(
            "{\"name\": ",
            "\"late\"}",
            Duration::from_millis(900),
        ))
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::SERVICE_UNAVAILABLE, "timeout").await;
    let (_, runs) = host.get("/runs").await;
    assert!(runs["items"].as_array().unwrap().is_empty());
    // ...but a conduct has no deadline, however long it takes.
    let response = host
        .request(Method::POST, &format!("/procedures/{id}/conduct"))
        .body(slow_body("{", "}", Duration::from_millis(900)))
        .send()
        .await
        .unwrap();
    let (status, outcome) = crate::harness::answer(response).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["status"], "Completed");
    host.shutdown().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let host = Host::start().await;
    let response = host
        .request(Method::GET, "/procedures")
        .send()
        .await
        .unwrap();
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 36, "a uuid: {generated}");
    let response = host
        .request(Method::GET, "/nowhere")
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    host.shutdown().await;
}
