//! The conduct verbs over HTTP: 200 with the outcome whatever the steps did; refusals before
//! anything ran (404, 409, 400 boundary, 422 resolve or safety); `?wait=false` in the
//! background (202) followed to the end; of concurrent verbs on one procedure exactly one is
//! accepted (202), the others are refused (409), waited or not; a background verb refused at its
//! start records the refusal; hold and abort of a running conduct at a step boundary (202); a
//! component the sandbox never saw loads from the store.

use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};

use crate::harness::{Host, MY_DISCONNECTED, assert_problem, catalog, hello, script_bytes};

#[tokio::test]
async fn conduct_completes_and_a_second_conduct_is_refused() {
    let host = Host::start().await;
    let id = host.define(&hello(), json!({"position": 3})).await;
    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/conduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["procedure_id"], id);
    assert_eq!(outcome["verb"], "conduct");
    assert_eq!(outcome["status"], "Completed");
    assert_eq!(outcome["succeeded"], true);
    assert_eq!(outcome["held"], false);
    assert_eq!(outcome["completed_steps"], 2);
    assert_eq!(outcome["step_count"], 2);
    assert_eq!(outcome["actuation_kind"], "simulated");
    assert!(outcome["resolution"]["fuel_used"].as_u64().unwrap() > 0);
    assert!(outcome["resolution"]["resolve_seconds"].as_f64().unwrap() > 0.0);

    let again = host
        .call(Method::POST, &format!("/procedures/{id}/conduct"), None)
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "wrong-status");
    assert_eq!(again.1["current_status"], "Completed");
    assert_eq!(again.1["command"], "start");
    let missing = uuid::Uuid::new_v4();
    for verb in ["conduct", "try-conduct", "reconduct"] {
        assert_problem(
            &host
                .call(Method::POST, &format!("/procedures/{missing}/{verb}"), None)
                .await,
            StatusCode::NOT_FOUND,
            "not-found",
        );
    }
    host.shutdown().await;
}

#[tokio::test]
async fn a_step_failure_is_200_with_the_failure_in_the_body() {
    let host = Host::with_catalog(catalog(0.0, MY_DISCONNECTED)).await;
    let script = "set sim:mx 1; set sim:my 1; act sim:det acquire exposure_s=0.01";
    let aborting = host.define_script(script).await;
    let (status, outcome) = host
        .call(
            Method::POST,
            &format!("/procedures/{aborting}/conduct"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcome["status"], "Aborted");
    assert_eq!(outcome["succeeded"], false);
    assert_eq!(outcome["failure"]["step_index"], 1);
    assert_eq!(outcome["failure"]["class"], "disconnected");
    assert_eq!(outcome["failure"]["target"], "sim:my");

    let holding = host.define_script(script).await;
    let (status, outcome) = host
        .call(
            Method::POST,
            &format!("/procedures/{holding}/try-conduct"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcome["verb"], "try-conduct");
    assert_eq!(outcome["status"], "Held");
    assert_eq!(outcome["held"], true);
    assert_eq!(outcome["completed_steps"], 1);

    // Refusals of reconduct keep their own status and replay nothing.
    let reconduct = format!("/procedures/{holding}/reconduct");
    let past = host.post(&reconduct, json!({"boundary": 4})).await;
    assert_problem(&past, StatusCode::BAD_REQUEST, "boundary-past-end");
    assert_eq!(past.1["step_count"], 3);
    let past_bg = host
        .post(&format!("{reconduct}?wait=false"), json!({"boundary": 9}))
        .await;
    assert_problem(&past_bg, StatusCode::BAD_REQUEST, "boundary-past-end");
    let (_, still) = host.get(&format!("/procedures/{holding}")).await;
    assert_eq!(still["status"], "Held");
    assert_problem(
        &host
            .call(
                Method::POST,
                &format!("/procedures/{aborting}/reconduct"),
                None,
            )
            .await,
        StatusCode::CONFLICT,
        "wrong-status",
    );

    // The motor still refuses: the replay fails again, and reconduct aborts.
    let (status, failed) = host.post(&reconduct, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(failed["verb"], "reconduct");
    assert_eq!(failed["boundary"], 1);
    assert_eq!(failed["status"], "Aborted");
    host.shutdown().await;
}

#[tokio::test]
async fn reconduct_after_the_fault_is_lifted_completes() {
    let host = Host::with_catalog(catalog(0.0, MY_DISCONNECTED)).await;
    let id = host
        .define_script("set sim:mx 1; set sim:my 1; act sim:det acquire exposure_s=0.01")
        .await;
    let (_, held) = host
        .call(Method::POST, &format!("/procedures/{id}/try-conduct"), None)
        .await;
    assert_eq!(held["held"], true);
    let (status, cleared) = host.call(Method::DELETE, "/sim/faults", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cleared["cleared_ports"], 1);
    let (_, again) = host.call(Method::DELETE, "/sim/faults", None).await;
    assert_eq!(again["cleared_ports"], 0);

    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/reconduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["status"], "Completed");
    assert_eq!(outcome["boundary"], 1);
    assert_eq!(outcome["completed_steps"], 2);
    assert!(
        outcome.get("resolution").is_none(),
        "reconduct never calls the guest"
    );
    let (_, shown) = host.get(&format!("/procedures/{id}")).await;
    assert_eq!(shown["progress"]["done"], 3);
    host.shutdown().await;
}

#[tokio::test]
async fn refusals_before_anything_ran_are_422_and_leave_it_defined() {
    let host = Host::start().await;
    // sim:mx is limited to [-20, 20] by the built-in catalog.
    let unsafe_id = host.define_script("set sim:mx 1; set sim:mx 30").await;
    let (status, body) = host
        .call(
            Method::POST,
            &format!("/procedures/{unsafe_id}/conduct"),
            None,
        )
        .await;
    assert_problem(
        &(status, body.clone()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "safety-violation",
    );
    assert_eq!(body["step_index"], 1);
    assert_eq!(body["rule"], "out_of_limits");
    assert_eq!(body["channel"], "sim:mx");

    let bad_script = host.define_script("set sim:mx 1; teleport").await;
    let (status, body) = host
        .call(
            Method::POST,
            &format!("/procedures/{bad_script}/try-conduct"),
            None,
        )
        .await;
    assert_problem(
        &(status, body.clone()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "resolve-failed",
    );
    assert_eq!(body["reason"], "invalid_params");
    assert!(
        body["detail"].as_str().unwrap().contains("teleport"),
        "{body}"
    );

    for id in [unsafe_id, bad_script] {
        let (_, shown) = host.get(&format!("/procedures/{id}")).await;
        assert_eq!(shown["status"], "Defined");
        let (_, journal) = host.get(&format!("/procedures/{id}/journal")).await;
        assert!(
            journal["items"].as_array().unwrap().is_empty(),
            "no device was touched"
        );
    }
    host.shutdown().await;
}

#[tokio::test]
async fn a_background_conduct_is_followed_to_completion() {
    // Ten acquisitions of 0.5 simulated s at 1/10 real time: about half a second.
    let host = Host::with_catalog(catalog(0.1, "")).await;
    let script = ["act sim:det acquire exposure_s=0.5"; 10].join("; ");
    let id = host.define_script(&script).await;
    let response = host
        .request(
            Method::POST,
            &format!("/procedures/{id}/conduct?wait=false"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["location"], format!("/procedures/{id}"));
    let accepted: Json = response.json().await.unwrap();
    assert_eq!(accepted["stream"], format!("/procedures/{id}/stream"));

    // While it runs, a second conduct of it is refused.
    let second = host
        .call(
            Method::POST,
            &format!("/procedures/{id}/conduct?wait=false"),
            None,
        )
        .await;
    assert!(
        second.0 == StatusCode::CONFLICT,
        "a second conduct must be refused: {:?}",
        second
    );

    let done = host
        .wait_for(&id, |p| p["last_conduct"]["state"] == "finished")
        .await;
    assert_eq!(done["status"], "Completed");
    assert_eq!(done["last_conduct"]["outcome"]["succeeded"], true);
    assert_eq!(done["last_conduct"]["outcome"]["completed_steps"], 10);
    assert_eq!(
        done["progress"],
        json!({"done": 10, "total": 10, "conducting": false})
    );

    // A background conduct refused after the check (the guest rejects its script) says so.
    let refused = host.define_script("nonsense").await;
    let (status, _) = host
        .call(
            Method::POST,
            &format!("/procedures/{refused}/conduct?wait=false"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let after = host
        .wait_for(&refused, |p| p["last_conduct"]["state"] != "running")
        .await;
    assert_eq!(after["last_conduct"]["state"], "refused");
    assert_eq!(
        after["last_conduct"]["problem"]["type"],
        "urn:baton:problem:resolve-failed"
    );
    assert_eq!(after["status"], "Defined");
    host.shutdown().await;
}

/// Starts a slow conduct in the background and waits until it has done a step.
async fn running(host: &Host) -> String {
    let script = ["act sim:det acquire exposure_s=0.3"; 60].join("; ");
    let id = host.define_script(&script).await;
    let (status, _) = host
        .call(
            Method::POST,
            &format!("/procedures/{id}/conduct?wait=false"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    host.wait_for(&id, |p| p["progress"]["done"].as_u64().unwrap_or(0) >= 1)
        .await;
    id
}

#[tokio::test]
async fn hold_and_abort_of_a_running_conduct_land_at_a_step_boundary() {
    let host = Host::with_catalog(catalog(0.2, "")).await;
    let id = running(&host).await;
    let response = host
        .request(Method::POST, &format!("/procedures/{id}/hold"))
        .json(&json!({"reason": "beam dump"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Json = response.json().await.unwrap();
    assert_eq!(accepted["requested"], "hold");
    let held = host
        .wait_for(&id, |p| p["last_conduct"]["state"] == "finished")
        .await;
    assert_eq!(held["status"], "Held");
    assert_eq!(held["hold_claims"], json!(["operator"]));
    assert_eq!(held["status_reason"], "beam dump");
    let outcome = &held["last_conduct"]["outcome"];
    assert_eq!(outcome["stopped_by"], "held_by_operator");
    assert_eq!(outcome["held"], true);
    let done = outcome["completed_steps"].as_u64().unwrap();
    assert!((1..60).contains(&done), "{outcome}");
    // Every step it started finished: no in_flight marker is left dangling.
    let (_, journal) = host
        .get(&format!("/procedures/{id}/journal?limit=1000"))
        .await;
    let last = journal["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["result"], "ok");

    let other = running(&host).await;
    let response = host
        .request(Method::POST, &format!("/procedures/{other}/abort"))
        .json(&json!({"reason": "wrong sample"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let aborted = host
        .wait_for(&other, |p| p["last_conduct"]["state"] == "finished")
        .await;
    assert_eq!(aborted["status"], "Aborted");
    assert_eq!(
        aborted["last_conduct"]["outcome"]["stopped_by"],
        "aborted_by_operator"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn truncate_and_complete_refuse_while_conducting_here() {
    let host = Host::with_catalog(catalog(0.2, "")).await;
    let id = running(&host).await;
    for (verb, body) in [
        ("truncate", json!({"reason": "x"})),
        ("complete", json!({})),
    ] {
        assert_problem(
            &host.post(&format!("/procedures/{id}/{verb}"), body).await,
            StatusCode::CONFLICT,
            "already-conducting",
        );
    }
    host.post(
        &format!("/procedures/{id}/abort"),
        json!({"reason": "done testing"}),
    )
    .await;
    host.wait_for(&id, |p| p["status"] == "Aborted").await;
    host.shutdown().await;
}

#[tokio::test]
async fn a_restarted_host_conducts_a_component_it_only_has_in_the_store() {
    let host = Host::start().await;
    let id = host
        .define_script("set sim:mx 2; act sim:det acquire exposure_s=0.01")
        .await;
    let host = host.restart(catalog(0.0, "")).await;
    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/conduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["status"], "Completed");
    host.shutdown().await;
}

#[tokio::test]
async fn a_client_hanging_up_does_not_cancel_a_waited_conduct() {
    let host = Host::with_catalog(catalog(0.2, "")).await;
    let script = ["act sim:det acquire exposure_s=0.3"; 10].join("; ");
    let id = host.define_script(&script).await;
    let gave_up = host
        .request(Method::POST, &format!("/procedures/{id}/conduct"))
        .timeout(std::time::Duration::from_millis(200))
        .send()
        .await;
    assert!(gave_up.unwrap_err().is_timeout());
    let done = host
        .wait_for(&id, |p| p["last_conduct"]["state"] == "finished")
        .await;
    assert_eq!(done["status"], "Completed");
    assert_eq!(done["last_conduct"]["outcome"]["completed_steps"], 10);
    host.shutdown().await;
}

/// Sends `n` requests at once and joins them all; their statuses and bodies, in send order.
async fn at_once(host: &Host, paths: Vec<String>) -> Vec<(StatusCode, Json)> {
    let requests = paths
        .iter()
        .map(|path| host.call(Method::POST, path, None))
        .collect::<Vec<_>>();
    futures::future::join_all(requests).await
}

/// Exactly one of the answers is 202 and every other is 409 `already-conducting`.
fn assert_exactly_one_accepted(answers: &[(StatusCode, Json)]) {
    let accepted = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::ACCEPTED)
        .count();
    assert_eq!(accepted, 1, "exactly one 202: {answers:?}");
    for answer in answers.iter().filter(|(s, _)| *s != StatusCode::ACCEPTED) {
        assert_problem(answer, StatusCode::CONFLICT, "already-conducting");
    }
}

#[tokio::test]
async fn concurrent_background_conducts_are_accepted_exactly_once() {
    // A hundred acquisitions of 1 simulated s at 1/10 real time: ten seconds, far past the
    // answers even on a loaded machine, so every refusal meets the claim or the running
    // conduct (never a finished procedure). The winner is then aborted at its next boundary.
    let host = Host::with_catalog(catalog(0.1, "")).await;
    let script = ["act sim:det acquire exposure_s=1.0"; 100].join("; ");
    let digest = host.upload(script_bytes()).await;
    for _ in 0..20 {
        let id = host.define(&digest, json!({ "script": script })).await;
        let verbs = ["conduct", "try-conduct"];
        let paths = (0..20)
            .map(|i| format!("/procedures/{id}/{}?wait=false", verbs[i % 2]))
            .collect();
        assert_exactly_one_accepted(&at_once(&host, paths).await);
        let (aborted, body) = host
            .post(
                &format!("/procedures/{id}/abort"),
                json!({"reason": "one accepted conduct is enough"}),
            )
            .await;
        assert!(aborted.is_success(), "{aborted}: {body}");
        let done = host
            .wait_for(&id, |p| p["last_conduct"]["state"] != "running")
            .await;
        assert_eq!(done["last_conduct"]["state"], "finished", "{done}");
        assert_eq!(done["status"], "Aborted", "{done}");
    }
    host.shutdown().await;
}

#[tokio::test]
async fn concurrent_background_reconducts_are_accepted_exactly_once() {
    let host = Host::with_catalog(catalog(0.1, MY_DISCONNECTED)).await;
    // Thirty acquisitions of 1 simulated s at 1/10 real time: three seconds, far past the
    // answers, so no refusal meets a finished procedure.
    let acquisitions = ["act sim:det acquire exposure_s=1.0"; 30].join("; ");
    let id = host
        .define_script(&format!("set sim:mx 1; set sim:my 1; {acquisitions}"))
        .await;
    let (_, held) = host
        .call(Method::POST, &format!("/procedures/{id}/try-conduct"), None)
        .await;
    assert_eq!(held["held"], true, "{held}");
    host.call(Method::DELETE, "/sim/faults", None).await;

    let paths = (0..20)
        .map(|_| format!("/procedures/{id}/reconduct?wait=false"))
        .collect();
    assert_exactly_one_accepted(&at_once(&host, paths).await);
    let done = host
        .wait_for(&id, |p| p["last_conduct"]["state"] != "running")
        .await;
    assert_eq!(done["last_conduct"]["state"], "finished", "{done}");
    assert_eq!(done["status"], "Completed");
    assert_eq!(done["last_conduct"]["outcome"]["verb"], "reconduct");
    host.shutdown().await;
}

#[tokio::test]
async fn a_waited_verb_during_a_background_conduct_is_refused_the_same_way() {
    let host = Host::with_catalog(catalog(0.2, "")).await;
    let id = running(&host).await;
    for verb in ["conduct", "try-conduct", "reconduct"] {
        for wait in ["true", "false"] {
            assert_problem(
                &host
                    .call(
                        Method::POST,
                        &format!("/procedures/{id}/{verb}?wait={wait}"),
                        None,
                    )
                    .await,
                StatusCode::CONFLICT,
                "already-conducting",
            );
        }
    }
    // The refusals left the running conduct's record alone.
    let (_, shown) = host.get(&format!("/procedures/{id}?steps=false")).await;
    assert_eq!(shown["last_conduct"]["state"], "running");
    assert_eq!(shown["last_conduct"]["verb"], "conduct");
    host.post(
        &format!("/procedures/{id}/abort"),
        json!({"reason": "done testing"}),
    )
    .await;
    host.wait_for(&id, |p| p["last_conduct"]["state"] == "finished")
        .await;
    host.shutdown().await;
}

#[tokio::test]
async fn a_background_verb_refused_at_its_start_records_the_refusal() {
    let host = Host::start().await;
    // sim:mx is limited to [-20, 20]: the safety check, after the 202, refuses it.
    let unsafe_id = host.define_script("set sim:mx 1; set sim:mx 30").await;
    let (status, accepted) = host
        .call(
            Method::POST,
            &format!("/procedures/{unsafe_id}/try-conduct?wait=false"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let after = host
        .wait_for(&unsafe_id, |p| p["last_conduct"]["state"] != "running")
        .await;
    assert_eq!(after["last_conduct"]["state"], "refused", "{after}");
    let problem = &after["last_conduct"]["problem"];
    assert_eq!(problem["type"], "urn:baton:problem:safety-violation");
    assert_eq!(problem["step_index"], 1);
    assert_eq!(after["status"], "Defined");
    // The claim went with the refused verb: the procedure can be conducted again (and is
    // refused again, waited this time, with the same problem).
    assert_problem(
        &host
            .call(
                Method::POST,
                &format!("/procedures/{unsafe_id}/conduct"),
                None,
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "safety-violation",
    );
    host.shutdown().await;
}
