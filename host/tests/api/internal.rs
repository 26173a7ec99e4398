//! A 500 tells the client "internal error" and the request id, never the host's own text; the
//! detail goes to the log under that id.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;
use uuid::Uuid;

use crate::harness::{Host, expect_problem};

#[tokio::test]
async fn an_internal_error_names_the_request_id_and_nothing_else() {
    let host = Host::start().await;
    let (status, run) = host.post("/runs", json!({"name": "to corrupt"})).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let id = run["id"].as_str().unwrap().to_owned();

    // An event no decoder knows, written to the run's stream behind the store's back.
    let db = host.dir.path().join("baton.db");
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (id, stream, version, type, payload, recorded_at) \
         VALUES (?, ?, 2, 'SecretEventType', '{\"secret\": \"database internals\"}', ?)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(format!("run-{id}"))
    .bind("2026-01-01T00:00:00.000000Z")
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let response = host
        .request(Method::GET, &format!("/runs/{id}"))
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!request_id.is_empty());
    let body = expect_problem(response, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let text = body.to_string();
    for internal in ["SecretEventType", "secret", "run-", "stream", "decode"] {
        assert!(!text.contains(internal), "{internal:?} leaked: {body}");
    }
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.starts_with("internal error"), "{body}");
    assert!(detail.contains(&request_id), "{body}");
    host.shutdown().await;
}
