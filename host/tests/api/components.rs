//! `/components`: upload (201 new, 200 again), refusals naming the check (422), the size cap
//! (413), list, show, delete (409 while referenced, 404 after).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Host, answer, assert_problem, digest, expect_problem, hello};

#[tokio::test]
async fn upload_list_show_and_delete() {
    let host = Host::start().await;
    let bytes = baton_artifacts::guest_script_bytes();
    let response = host
        .request(Method::POST, "/components")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (_, body) = answer(response).await;
    let d = digest(bytes);
    assert_eq!(body["digest"], d);
    assert_eq!(location, format!("/components/{d}"));
    assert_eq!(body["name"], "guest-script");
    assert_eq!(body["info"]["params"][0]["name"], "script");
    assert_eq!(body["size_bytes"], bytes.len());

    // The same bytes again: the same component, 200.
    let again = host
        .request(Method::POST, "/components")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);

    let (status, list) = host.get("/components").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // The five examples `serve` registers, and the upload.
    for name in [
        "hello",
        "grid-scan",
        "energy-scan",
        "temperature-ramp",
        "align",
        "guest-script",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let (status, shown) = host.get(&format!("/components/{d}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["digest"], d);

    let deleted = host
        .call(Method::DELETE, &format!("/components/{d}"), None)
        .await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT);
    assert_problem(
        &host.get(&format!("/components/{d}")).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    assert_problem(
        &host
            .call(Method::DELETE, &format!("/components/{d}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    host.shutdown().await;
}

#[tokio::test]
async fn a_referenced_component_cannot_be_deleted() {
    let host = Host::start().await;
    host.define(&hello(), json!({})).await;
    let refused = host
        .call(Method::DELETE, &format!("/components/{}", hello()), None)
        .await;
    assert_problem(&refused, StatusCode::CONFLICT, "component-in-use");
    assert_eq!(refused.1["procedures"], 1);
    assert_eq!(
        host.get(&format!("/components/{}", hello())).await.0,
        StatusCode::OK
    );
    host.shutdown().await;
}

#[tokio::test]
async fn refused_uploads_name_the_problem() {
    let host = Host::start().await;
    let upload = |bytes: Vec<u8>| host.request(Method::POST, "/components").body(bytes).send();

    let text = expect_problem(
        upload(b"hello, not wasm".to_vec()).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-component",
    )
    .await;
    assert_eq!(text["reason"], "invalid_component");
    assert!(
        text["detail"].as_str().unwrap().contains("not WebAssembly"),
        "{text}"
    );

    let core = wat::parse_str("(module)").unwrap();
    let core = expect_problem(
        upload(core).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-component",
    )
    .await;
    assert!(
        core["detail"]
            .as_str()
            .unwrap()
            .contains("core WebAssembly module"),
        "{core}"
    );

    let sockets = expect_problem(
        upload(baton_artifacts::guest_sockets_bytes().to_vec())
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-component",
    )
    .await;
    assert_eq!(sockets["reason"], "import_not_allowed");
    assert!(
        sockets["detail"].as_str().unwrap().contains("wasi:sockets"),
        "{sockets}"
    );

    let empty = expect_problem(
        upload(Vec::new()).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-component",
    )
    .await;
    assert!(
        empty["detail"].as_str().unwrap().contains("empty"),
        "{empty}"
    );

    // Over the 16 MiB cap: 413 before the sandbox sees a byte.
    let huge = vec![0u8; (16 << 20) + 1];
    expect_problem(
        upload(huge).await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    )
    .await;

    // Nothing refused was stored.
    let (_, list) = host.get("/components").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        baton_artifacts::EXAMPLES.len()
    );
    host.shutdown().await;
}
