//! `/procedures`: define (typed parameters, unknown parameter 422), show (pinned steps, hold
//! claims, actuation kind, progress), list (filters, cursor), events, the journal (paged), and
//! the lifecycle commands with their refusals.

use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};

use crate::harness::{Host, MY_DISCONNECTED, assert_problem, catalog, hello};

#[tokio::test]
async fn define_types_params_against_the_component() {
    let host = Host::start().await;
    let response = host
        .request(Method::POST, "/procedures")
        .json(&json!({"component": hello(), "params": {"position": 2, "exposure_s": 0.5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Json = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, format!("/procedures/{id}"));
    assert_eq!(body["name"], "hello");
    assert_eq!(body["status"], "Defined");
    // 2 was given as a JSON integer; the component declares a float, so it is a float.
    assert_eq!(
        body["params"]["position"],
        json!({"type": "float", "value": 2.0})
    );
    assert_eq!(
        body["progress"],
        json!({"done": 0, "total": 0, "conducting": false})
    );
    assert_eq!(body["pin"], Json::Null);

    let unknown = host
        .post(
            "/procedures",
            json!({"component": hello(), "params": {"speed": 3}}),
        )
        .await;
    assert_problem(&unknown, StatusCode::UNPROCESSABLE_ENTITY, "invalid-params");
    assert_eq!(unknown.1["param"], "speed");
    assert!(
        unknown.1["detail"].as_str().unwrap().contains("position"),
        "{}",
        unknown.1
    );
    let mistyped = host
        .post(
            "/procedures",
            json!({"component": hello(), "params": {"position": "far"}}),
        )
        .await;
    assert_problem(
        &mistyped,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-params",
    );
    let tagged_wrong = host
        .post(
            "/procedures",
            json!({"component": hello(), "params": {"position": {"type": "int", "value": 3}}}),
        )
        .await;
    assert_problem(
        &tagged_wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-params",
    );
    let no_component = host
        .post("/procedures", json!({"component": "ab".repeat(32)}))
        .await;
    assert_problem(
        &no_component,
        StatusCode::UNPROCESSABLE_ENTITY,
        "component-unavailable",
    );
    let no_run = host
        .post(
            "/procedures",
            json!({"component": hello(), "parent_run": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_problem(&no_run, StatusCode::UNPROCESSABLE_ENTITY, "invalid-command");
    let blank_name = host
        .post("/procedures", json!({"component": hello(), "name": "   "}))
        .await;
    assert_problem(
        &blank_name,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-command",
    );

    // A caller-chosen id: a retried define is refused, never a second procedure.
    let chosen = uuid::Uuid::new_v4();
    let first = host
        .post("/procedures", json!({"id": chosen, "component": hello()}))
        .await;
    assert_eq!(first.0, StatusCode::CREATED);
    let again = host
        .post("/procedures", json!({"id": chosen, "component": hello()}))
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "wrong-status");
    assert_eq!(again.1["current_status"], "Defined");

    let (_, page) = host.get("/procedures").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    host.shutdown().await;
}

#[tokio::test]
async fn show_events_and_journal_after_a_conduct() {
    let host = Host::start().await;
    let id = host.define(&hello(), json!({"position": 1.5})).await;
    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/conduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");

    let (_, shown) = host.get(&format!("/procedures/{id}")).await;
    assert_eq!(shown["status"], "Completed");
    assert_eq!(shown["actuation_kind"], "simulated");
    assert_eq!(shown["pin"]["step_count"], 2);
    assert_eq!(
        shown["pin"]["params"]["exposure_s"],
        json!({"type": "float", "value": 0.1})
    );
    assert_eq!(shown["steps"][0]["kind"], "setpoint");
    assert_eq!(shown["steps"][0]["channel"], "sim:mx");
    assert_eq!(
        shown["steps"][0]["value"],
        json!({"type": "float", "value": 1.5})
    );
    assert_eq!(shown["steps"][1]["kind"], "action");
    assert_eq!(shown["progress"]["done"], 2);
    assert_eq!(shown["progress"]["total"], 2);
    let (_, without) = host.get(&format!("/procedures/{id}?steps=false")).await;
    assert!(without.get("steps").is_none());

    let (_, events) = host.get(&format!("/procedures/{id}/events")).await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ProcedureDefined",
            "ProcedureStarted",
            "ResolvedStepsRecorded",
            "ProcedureCompleted"
        ]
    );
    assert_eq!(events[0]["version"], 1);

    // in_flight + ok for the setpoint and for the action.
    let (_, all) = host.get(&format!("/procedures/{id}/journal")).await;
    let results: Vec<(u64, &str)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["step_index"].as_u64().unwrap(),
                e["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [(0, "in_flight"), (0, "ok"), (1, "in_flight"), (1, "ok")]
    );
    assert_eq!(all["next_after"], Json::Null);
    let (_, page) = host.get(&format!("/procedures/{id}/journal?limit=3")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["next_after"], 3);
    let (_, rest) = host
        .get(&format!("/procedures/{id}/journal?after=3&limit=3"))
        .await;
    assert_eq!(rest["items"][0]["sequence"], 4);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);

    let missing = uuid::Uuid::new_v4();
    for path in ["", "/events", "/journal"] {
        assert_problem(
            &host.get(&format!("/procedures/{missing}{path}")).await,
            StatusCode::NOT_FOUND,
            "not-found",
        );
    }
    assert_problem(
        &host.get(&format!("/procedures/{id}/journal?limit=0")).await,
        StatusCode::BAD_REQUEST,
        "malformed-request",
    );
    host.shutdown().await;
}

#[tokio::test]
async fn list_filters_and_pages_newest_first() {
    let host = Host::start().await;
    let run = host.post("/runs", json!({"name": "beamtime"})).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = json!({"component": hello(), "name": format!("p{i}")});
        if i % 2 == 0 {
            body["parent_run"] = json!(run);
        }
        let (status, created) = host.post("/procedures", body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    host.call(
        Method::POST,
        &format!("/procedures/{}/conduct", ids[1]),
        None,
    )
    .await;

    let (_, first) = host.get("/procedures?limit=2").await;
    let names = |page: &Json| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["p4", "p3"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = host
        .get(&format!("/procedures?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(names(&second), ["p2", "p1"]);
    let cursor = second["next_cursor"].as_str().unwrap();
    let (_, third) = host
        .get(&format!("/procedures?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(names(&third), ["p0"]);
    assert_eq!(third["next_cursor"], Json::Null);

    let (_, completed) = host.get("/procedures?status=Completed").await;
    assert_eq!(names(&completed), ["p1"]);
    let (_, phases) = host.get(&format!("/procedures?parent_run={run}")).await;
    assert_eq!(names(&phases), ["p4", "p2", "p0"]);
    let (_, both) = host
        .get(&format!(
            "/procedures?parent_run={run}&status=Defined&limit=1"
        ))
        .await;
    assert_eq!(names(&both), ["p4"]);
    host.shutdown().await;
}

/// A procedure Held by a step fault (try-conduct against a motor that will not move).
async fn held(host: &Host) -> String {
    let id = host
        .define_script("set sim:mx 1; set sim:my 1; act sim:det acquire exposure_s=0.01")
        .await;
    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/try-conduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcome["held"], true, "{outcome}");
    id
}

#[tokio::test]
async fn lifecycle_commands_and_their_refusals() {
    let host = Host::with_catalog(catalog(0.0, MY_DISCONNECTED)).await;
    let id = held(&host).await;
    let path = |verb: &str| format!("/procedures/{id}/{verb}");

    let (_, shown) = host.get(&format!("/procedures/{id}")).await;
    assert_eq!(shown["status"], "Held");
    assert_eq!(shown["hold_claims"], json!(["step-fault"]));
    assert!(shown["status_reason"].as_str().unwrap().contains("sim:my"));

    // Resume by hand (no replay), then the iteration commands on the Running procedure.
    assert_problem(
        &host.post(&path("complete"), json!({})).await,
        StatusCode::CONFLICT,
        "wrong-status",
    );
    let (status, resumed) = host.post(&path("resume"), json!({"boundary": 1})).await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["status"], "Running");
    assert_eq!(resumed["hold_claims"], json!([]));
    assert_problem(
        &host.post(&path("resume"), json!({"boundary": 1})).await,
        StatusCode::CONFLICT,
        "wrong-status",
    );
    assert_problem(
        &host
            .post(&path("iterations/start"), json!({"index": 2}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-command",
    );
    let (status, started) = host
        .post(&path("iterations/start"), json!({"index": 1}))
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["iterations"]["open"], 1);
    assert_problem(
        &host
            .post(&path("iterations/start"), json!({"index": 2}))
            .await,
        StatusCode::CONFLICT,
        "wrong-status",
    );
    let (status, ended) = host
        .post(
            &path("iterations/end"),
            json!({"index": 1, "converged": true, "reason": "ok"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["iterations"]["count"], 1);
    assert_eq!(ended["iterations"]["open"], Json::Null);

    // Hold by an operator; a second operator hold is refused; resume; complete.
    assert_problem(
        &host.post(&path("hold"), json!({"reason": "  "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-command",
    );
    let (status, held_now) = host.post(&path("hold"), json!({"reason": "coffee"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(held_now["hold_claims"], json!(["operator"]));
    assert_eq!(held_now["status_reason"], "coffee");
    assert_problem(
        &host.post(&path("hold"), json!({"reason": "again"})).await,
        StatusCode::CONFLICT,
        "wrong-status",
    );
    host.post(&path("resume"), json!({"boundary": 3})).await;
    let (status, done) = host.post(&path("complete"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(done["status"], "Completed");
    for (verb, body) in [
        ("hold", json!({"reason": "late"})),
        ("abort", json!({"reason": "late"})),
        ("truncate", json!({"reason": "late"})),
        ("complete", json!({})),
    ] {
        assert_problem(
            &host.post(&path(verb), body).await,
            StatusCode::CONFLICT,
            "wrong-status",
        );
    }

    // Abort and truncate end Held procedures.
    let other = held(&host).await;
    let (status, aborted) = host
        .post(
            &format!("/procedures/{other}/abort"),
            json!({"reason": "sample lost"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(aborted["status"], "Aborted");
    let third = held(&host).await;
    assert_problem(
        &host
            .post(
                &format!("/procedures/{third}/truncate"),
                json!({"reason": "dead", "interrupted_at": "2999-01-01T00:00:00Z"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-command",
    );
    let (status, truncated) = host
        .post(
            &format!("/procedures/{third}/truncate"),
            json!({"reason": "dead", "interrupted_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{truncated}");
    assert_eq!(truncated["status"], "Truncated");

    let missing = uuid::Uuid::new_v4();
    assert_problem(
        &host
            .post(
                &format!("/procedures/{missing}/hold"),
                json!({"reason": "x"}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    host.shutdown().await;
}
