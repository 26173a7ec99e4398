//! `/runs`: start, show, list, and every lifecycle command with its refusals; a Held run
//! keeps its phases from resuming.

use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};

use crate::harness::{Host, MY_DISCONNECTED, assert_problem, catalog};

#[tokio::test]
async fn runs_start_list_and_end() {
    let host = Host::start().await;
    let response = host
        .request(Method::POST, "/runs")
        .json(&json!({"name": "beamtime 42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let run: Json = response.json().await.unwrap();
    let id = run["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/runs/{id}"));
    assert_eq!(run["status"], "Running");
    assert_eq!(host.get(&location).await.1["name"], "beamtime 42");
    let path = |verb: &str| format!("/runs/{id}/{verb}");

    let (status, held) = host
        .post(&path("hold"), json!({"reason": "beam lost"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(held["status"], "Held");
    assert_eq!(held["status_reason"], "beam lost");
    assert_problem(
        &host.post(&path("hold"), json!({"reason": "again"})).await,
        StatusCode::CONFLICT,
        "wrong-status",
    );
    assert_problem(
        &host.post(&path("complete"), json!({})).await,
        StatusCode::CONFLICT,
        "wrong-status",
    );
    let (status, resumed) = host.call(Method::POST, &path("resume"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resumed["status"], "Running");
    let (status, done) = host
        .post(&path("complete"), json!({"actuation_kind": "simulated"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "Completed");
    assert_eq!(done["actuation_kind"], "simulated");

    for (verb, status) in [
        ("abort", "Aborted"),
        ("stop", "Stopped"),
        ("truncate", "Truncated"),
    ] {
        let (_, run) = host.post("/runs", json!({"name": verb})).await;
        let other = run["id"].as_str().unwrap();
        let (code, ended) = host
            .post(
                &format!("/runs/{other}/{verb}"),
                json!({"reason": "end of shift"}),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{ended}");
        assert_eq!(ended["status"], status);
        assert_problem(
            &host
                .post(&format!("/runs/{other}/{verb}"), json!({"reason": "again"}))
                .await,
            StatusCode::CONFLICT,
            "wrong-status",
        );
    }
    assert_problem(
        &host.post("/runs", json!({"name": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-command",
    );
    assert_problem(
        &host.post("/runs", json!({"id": id, "name": "dup"})).await,
        StatusCode::CONFLICT,
        "wrong-status",
    );
    let missing = uuid::Uuid::new_v4();
    assert_problem(
        &host.get(&format!("/runs/{missing}")).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    assert_problem(
        &host
            .call(Method::POST, &format!("/runs/{missing}/resume"), None)
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );

    // Oldest first, a page at a time.
    let (_, first) = host.get("/runs?limit=2").await;
    let names: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["beamtime 42", "abort"]);
    let cursor = first["next_cursor"].as_u64().unwrap();
    let (_, second) = host.get(&format!("/runs?limit=2&cursor={cursor}")).await;
    let names: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["stop", "truncate"]);
    let cursor = second["next_cursor"].as_u64().unwrap();
    let (_, third) = host.get(&format!("/runs?limit=2&cursor={cursor}")).await;
    assert!(third["items"].as_array().unwrap().is_empty());
    assert_eq!(third["next_cursor"], Json::Null);
    host.shutdown().await;
}

#[tokio::test]
async fn a_held_run_keeps_its_phase_from_resuming() {
    let host = Host::with_catalog(catalog(0.0, MY_DISCONNECTED)).await;
    let (_, run) = host.post("/runs", json!({"name": "beamtime"})).await;
    let run = run["id"].as_str().unwrap().to_owned();
    let digest = host.upload(crate::harness::script_bytes()).await;
    let (status, phase) = host
        .post(
            "/procedures",
            json!({"component": digest, "parent_run": run,
                   "params": {"script": "set sim:my 1; act sim:det acquire exposure_s=0.01"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{phase}");
    let id = phase["id"].as_str().unwrap().to_owned();
    let (_, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/try-conduct"), None)
        .await;
    assert_eq!(outcome["held"], true, "{outcome}");
    host.post(
        &format!("/runs/{run}/hold"),
        json!({"reason": "safety walk"}),
    )
    .await;
    host.call(Method::DELETE, "/sim/faults", None).await;
    let refused = host
        .call(Method::POST, &format!("/procedures/{id}/reconduct"), None)
        .await;
    assert_problem(&refused, StatusCode::CONFLICT, "wrong-status");
    assert!(
        refused.1["detail"].as_str().unwrap().contains("parent run"),
        "{}",
        refused.1
    );
    host.call(Method::POST, &format!("/runs/{run}/resume"), None)
        .await;
    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/reconduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcome["status"], "Completed");
    host.shutdown().await;
}
