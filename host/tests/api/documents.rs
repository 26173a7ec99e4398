//! A procedure's event-model documents over HTTP: `GET /procedures/{id}/documents` (NDJSON,
//! `?after=`), the live `GET /procedures/{id}/documents/stream` and `baton export`. Every document
//! of a grid scan, an energy scan, a held-then-reconducted scan, an aborted and a truncated scan
//! validates against the vendored schemas and event-model's own validators; the file loads with
//! a plain reader (tests/documents/load_jsonl.py) whose primary columns equal what the journal
//! says.

use std::collections::BTreeMap;
use std::time::Duration;

use baton_host::cli::demo::{SseEvent, parse_sse};
use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};

use crate::doc_python as python;
use crate::doc_schema::Schemas;
use crate::harness::{Host, assert_problem, catalog, digest, expect_problem};

/// `sim:my` disconnects after its first operation: a grid scan holds at its second row.
const MY_FAILS_AFTER_ONE: &str =
    "[[sim.faults]]\nchannel = \"sim:my\"\nmode = \"disconnect_after\"\nops = 1\n";

fn grid() -> String {
    digest(baton_artifacts::grid_scan_bytes())
}

fn energy() -> String {
    digest(baton_artifacts::energy_scan_bytes())
}

async fn define_grid(host: &Host) -> String {
    host.define(&grid(), json!({"x_points": 3, "y_points": 2}))
        .await
}

/// The NDJSON answer: status, headers of interest, the `[name, doc]` lines.
async fn documents(host: &Host, id: &str, after: Option<u64>) -> (StatusCode, String, Vec<Json>) {
    let path = match after {
        Some(n) => format!("/procedures/{id}/documents?after={n}"),
        None => format!("/procedures/{id}/documents"),
    };
    let response = host.request(Method::GET, &path).send().await.unwrap();
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/x-ndjson",
        "{path}"
    );
    let gaps = response.headers()["x-baton-document-gaps"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    assert!(text.is_empty() || text.ends_with('\n'));
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (status, gaps, lines)
}

async fn try_conduct(host: &Host, id: &str) -> Json {
    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/try-conduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    outcome
}

async fn conduct(host: &Host, id: &str) -> Json {
    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/conduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    outcome
}

/// A typed journal value (`{"type": …, "value": …}`) as the plain JSON the documents carry.
fn plain(value: &Json) -> Json {
    match value {
        Json::Object(map) if map.contains_key("type") => {
            map.get("value").cloned().unwrap_or(Json::Null)
        }
        other => other.clone(),
    }
}

/// Where the journal says each channel settled at every acquisition: (step index, channel →
/// value) per action `ok` row, in sequence order.
async fn acquisitions(host: &Host, id: &str) -> Vec<(u64, BTreeMap<String, Json>)> {
    let (status, page) = host
        .get(&format!("/procedures/{id}/journal?limit=10000"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut positions = BTreeMap::new();
    let mut rows = Vec::new();
    for row in page["items"].as_array().unwrap() {
        if row["result"] != "ok" {
            continue;
        }
        let detail = &row["detail"];
        match row["step_kind"].as_str().unwrap() {
            "setpoint" => {
                let observed = &detail["observed"];
                let settled = [
                    &observed["readback"]["value"],
                    &observed["target"],
                    &detail["value"],
                ]
                .into_iter()
                .find(|v| !v.is_null())
                .unwrap();
                positions.insert(
                    detail["channel"].as_str().unwrap().to_owned(),
                    plain(settled),
                );
            }
            "action" => rows.push((row["step_index"].as_u64().unwrap(), positions.clone())),
            _ => {}
        }
    }
    rows
}

fn same_number(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Validates every document (vendored schemas; event-model's validators when the venv is
/// there), loads the file with the plain reader and compares its primary stream with the
/// journal. Returns the documents.
async fn check(host: &Host, id: &str, name: &str, exit_status: &str) -> Vec<Json> {
    let (status, _, lines) = documents(host, id, None).await;
    assert_eq!(status, StatusCode::OK);
    let schemas = Schemas::load();
    for (i, pair) in lines.iter().enumerate() {
        let errors = schemas.errors_of(pair[0].as_str().unwrap(), &pair[1]);
        assert!(
            errors.is_empty(),
            "{name}: document {i}: {errors:?}\n{pair}"
        );
    }
    assert_eq!(lines.first().unwrap()[0], "start", "{name}");
    let stop = lines.last().unwrap();
    assert_eq!(stop[0], "stop", "{name}");
    assert_eq!(stop[1]["exit_status"], exit_status, "{name}: {stop}");

    // The primary stream as the journal says it should be.
    let expected = acquisitions(host, id).await;
    let descriptor_keys: BTreeMap<String, String> = lines
        .iter()
        .filter(|p| p[0] == "descriptor" && p[1]["name"] == "primary")
        .flat_map(|p| p[1]["data_keys"].as_object().unwrap().clone())
        .map(|(key, dk)| (dk["object_name"].as_str().unwrap().to_owned(), key))
        .collect();
    let primary_events = lines
        .iter()
        .filter(|p| p[0] == "event" && p[1]["data"].get("step_index").is_some())
        .count();
    assert_eq!(
        primary_events,
        expected.len(),
        "{name}: one event per acquisition"
    );
    assert_eq!(
        stop[1]["num_events"]["primary"].as_u64().unwrap_or(0),
        expected.len() as u64,
        "{name}"
    );

    let Some(python) = python::python() else {
        return lines;
    };
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = python::validate(&python, &text)
        .unwrap_or_else(|e| panic!("{name}: event-model refused a document: {e}"));
    assert!(
        out.contains(&format!("{} documents valid", lines.len())),
        "{out}"
    );
    let file = host.dir.path().join(format!("{id}.jsonl"));
    std::fs::write(&file, &text).unwrap();
    let summary: Json = serde_json::from_str(
        &python::load_jsonl(&python, &file).unwrap_or_else(|e| panic!("{name}: {e}")),
    )
    .unwrap();
    assert_eq!(summary["documents"], lines.len(), "{name}");
    assert_eq!(summary["stop"], exit_status, "{name}");
    let primary = &summary["streams"]["primary"];
    if expected.is_empty() {
        assert!(primary.is_null(), "{name}: {summary}");
        return lines;
    }
    assert_eq!(primary["rows"], expected.len(), "{name}: {summary}");
    let columns = &primary["columns"];
    let indices: Vec<u64> = expected.iter().map(|(i, _)| *i).collect();
    let got: Vec<u64> = columns["step_index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(got, indices, "{name}: step_index column");
    for (row, (_, positions)) in expected.iter().enumerate() {
        for (channel, value) in positions {
            let key = &descriptor_keys[channel];
            let cell = &columns[key][row];
            assert!(
                same_number(cell, value),
                "{name}: row {row}, {channel} ({key}): the file says {cell}, the journal {value}"
            );
        }
    }
    lines
}

#[tokio::test]
async fn grid_and_energy_scans_export_valid_documents_matching_the_journal() {
    let host = Host::start().await;
    let id = define_grid(&host).await;
    assert_eq!(conduct(&host, &id).await["status"], "Completed");
    let lines = check(&host, &id, "grid scan", "success").await;
    // Six grid points: six primary events, the start names both motors.
    assert_eq!(lines[0][1]["num_points"], 6);
    assert_eq!(
        lines[0][1]["motors"],
        json!(["sim_my", "sim_mx"]),
        "Y is the slow axis"
    );

    let id = host.define(&energy(), json!({})).await;
    assert_eq!(conduct(&host, &id).await["status"], "Completed");
    let lines = check(&host, &id, "energy scan", "success").await;
    assert_eq!(lines[0][1]["plan_name"], "energy-scan");
    host.shutdown().await;
}

#[tokio::test]
async fn a_held_then_reconducted_scan_is_one_run_with_its_interruptions() {
    let host = Host::with_catalog(catalog(0.0, MY_FAILS_AFTER_ONE)).await;
    let id = define_grid(&host).await;
    assert_eq!(try_conduct(&host, &id).await["status"], "Held");

    // Held: the documents so far, without a stop; `?after=` gives exactly the rest later.
    let (status, _, held) = documents(&host, &id, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(held.iter().all(|p| p[0] != "stop"));
    assert!(
        held.iter()
            .any(|p| p[1]["data"]["interruption"].is_string())
    );

    host.call(Method::DELETE, "/sim/faults", None).await;
    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/reconduct"), None)
        .await;
    assert_eq!(
        (status, &outcome["status"]),
        (StatusCode::OK, &json!("Completed"))
    );
    let lines = check(&host, &id, "held then reconducted", "success").await;
    let (_, _, rest) = documents(&host, &id, Some(held.len() as u64)).await;
    assert_eq!(
        &lines[..held.len()],
        &held[..],
        "the held export is a prefix"
    );
    assert_eq!(
        &lines[held.len()..],
        &rest[..],
        "?after= gives exactly the rest"
    );
    let (_, _, none) = documents(&host, &id, Some(lines.len() as u64 + 5)).await;
    assert!(none.is_empty());
    let stop = &lines.last().unwrap()[1];
    assert_eq!(stop["num_events"]["interruptions"], 2, "{stop}");
    host.shutdown().await;
}

#[tokio::test]
async fn aborted_and_truncated_scans_export_valid_documents() {
    let host = Host::with_catalog(catalog(0.0, MY_FAILS_AFTER_ONE)).await;
    let aborted = define_grid(&host).await;
    assert_eq!(try_conduct(&host, &aborted).await["status"], "Held");
    let (status, body) = host
        .post(
            &format!("/procedures/{aborted}/abort"),
            json!({"reason": "sample moved"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let lines = check(&host, &aborted, "aborted", "abort").await;
    assert_eq!(lines.last().unwrap()[1]["reason"], "sample moved");

    host.shutdown().await;

    // A host of its own, so the scan holds mid-way again.
    let host = Host::with_catalog(catalog(0.0, MY_FAILS_AFTER_ONE)).await;
    let truncated = define_grid(&host).await;
    assert_eq!(try_conduct(&host, &truncated).await["status"], "Held");
    let (status, body) = host
        .post(
            &format!("/procedures/{truncated}/truncate"),
            json!({"reason": "host lost"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let lines = check(&host, &truncated, "truncated", "fail").await;
    assert_eq!(lines.last().unwrap()[1]["reason"], "truncated: host lost");
    host.shutdown().await;
}

#[tokio::test]
async fn documents_refusals() {
    let host = Host::start().await;
    let missing = uuid::Uuid::new_v4();
    let response = host
        .request(Method::GET, &format!("/procedures/{missing}/documents"))
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::NOT_FOUND, "not-found").await;

    let id = define_grid(&host).await;
    let response = host
        .request(Method::GET, &format!("/procedures/{id}/documents"))
        .send()
        .await
        .unwrap();
    // As the other wrong-status refusals: the `current_status` extension names it.
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let got = crate::harness::answer(response).await;
    assert_problem(&got, StatusCode::CONFLICT, "wrong-status");
    assert_eq!(got.1["current_status"], "Defined");
    assert!(
        got.1["detail"].as_str().unwrap().contains("Defined"),
        "{}",
        got.1
    );

    for bad in ["after=-1", "after=seven", "after=1&x=2"] {
        let got = host.get(&format!("/procedures/{id}/documents?{bad}")).await;
        assert_problem(&got, StatusCode::BAD_REQUEST, "malformed-request");
    }
    let response = host
        .request(Method::GET, &format!("/procedures/{id}/documents/stream"))
        .header("Last-Event-ID", "seven")
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::BAD_REQUEST, "malformed-request").await;
    let response = host
        .request(
            Method::GET,
            &format!("/procedures/{missing}/documents/stream"),
        )
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::NOT_FOUND, "not-found").await;
    host.shutdown().await;
}

/// Reads the document stream (see [`crate::stream::read_sse`]).
async fn read(
    host: &Host,
    id: &str,
    last_event_id: Option<&str>,
    stop: impl Fn(&[SseEvent]) -> bool,
) -> (Vec<SseEvent>, bool) {
    let path = format!("/procedures/{id}/documents/stream");
    crate::stream::read_sse(host, &path, last_event_id, stop).await
}

fn document_events(events: &[SseEvent]) -> Vec<(u64, Json)> {
    events
        .iter()
        .filter(|e| e.event == "document")
        .map(|e| {
            (
                e.id.as_deref().unwrap().parse().unwrap(),
                serde_json::from_str(&e.data).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_live_client_sees_start_events_stop_and_a_reconnect_loses_nothing() {
    let host = Host::with_catalog(catalog(0.25, "")).await;
    let script = ["set sim:mx 1; act sim:det acquire exposure_s=0.2"; 12].join("; ");
    let id = host.define_script(&script).await;

    // Connected while Defined: the stream waits for the start.
    let url = format!("{}/procedures/{id}/documents/stream", host.url);
    let early = host
        .client
        .get(url)
        .bearer_auth(&host.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), StatusCode::OK);
    let (status, _) = host
        .call(
            Method::POST,
            &format!("/procedures/{id}/conduct?wait=false"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // Drop the connection after a few documents, mid-conduct.
    let (first, ended) = read(&host, &id, None, |events| {
        document_events(events).len() >= 4
    })
    .await;
    assert!(!ended);
    let first = document_events(&first);
    let last = first.last().unwrap().0.to_string();
    let (rest, ended) = read(&host, &id, Some(&last), |_| false).await;
    assert!(ended, "a terminal procedure ends the stream");
    assert_eq!(rest.last().unwrap().event, "end");
    let mut all = first.clone();
    all.extend(document_events(&rest));
    let ids: Vec<u64> = all.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        ids,
        (1..=all.len() as u64).collect::<Vec<_>>(),
        "no gap, no repeat"
    );
    let names: Vec<&str> = all.iter().map(|(_, d)| d[0].as_str().unwrap()).collect();
    assert_eq!(names.first(), Some(&"start"));
    assert_eq!(names.last(), Some(&"stop"));
    assert_eq!(names.iter().filter(|n| **n == "event").count(), 12);

    // The same documents as the NDJSON route, and as the client connected while Defined saw.
    let (_, _, lines) = documents(&host, &id, None).await;
    let streamed: Vec<Json> = all.into_iter().map(|(_, d)| d).collect();
    assert_eq!(streamed, lines);
    let mut text = tokio::time::timeout(Duration::from_secs(30), early.text())
        .await
        .unwrap()
        .unwrap();
    let early: Vec<Json> = document_events(&parse_sse(&mut text))
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(early, lines);
    host.shutdown().await;
}

#[tokio::test]
async fn baton_export_writes_the_same_file_from_a_host_and_from_its_data_dir() {
    let host = Host::start().await;
    let id = define_grid(&host).await;
    assert_eq!(conduct(&host, &id).await["status"], "Completed");
    let (_, _, lines) = documents(&host, &id, None).await;
    let parsed = |file: &std::path::Path| -> Vec<Json> {
        std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };

    let out = tempfile::tempdir().unwrap();
    let from_host = out.path().join("host.jsonl");
    let token = host.token(&["read"]).await;
    let args = baton_host::cli::export::ExportArgs {
        id: id.parse().unwrap(),
        out: from_host.clone(),
        data_dir: out.path().join("nowhere"),
        database: None,
        url: Some(host.url.clone()),
        token: Some(token),
    };
    let mut said = Vec::new();
    let written = baton_host::cli::export::run(&args, &mut said)
        .await
        .unwrap();
    assert_eq!(written.documents, lines.len());
    assert_eq!(written.status, "Completed");
    assert_eq!(parsed(&from_host), lines);
    assert!(String::from_utf8(said).unwrap().starts_with("wrote "));

    // The binary, reading the stopped host's data directory.
    let data_dir = host.dir.path().to_path_buf();
    let Host { dir, .. } = {
        let mut host = host;
        if let Some(server) = host.server.take() {
            server.shutdown().await.unwrap();
        }
        host
    };
    let from_dir = out.path().join("dir.jsonl");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["export", &id, "--out"])
        .arg(&from_dir)
        .arg("--data-dir")
        .arg(&data_dir)
        .env_remove("BATON_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(parsed(&from_dir), lines);
    assert_eq!(
        std::fs::read(&from_dir).unwrap(),
        std::fs::read(&from_host).unwrap(),
        "the same bytes either way"
    );

    // A missing procedure and a missing store are errors, not empty files.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["export", &uuid::Uuid::new_v4().to_string(), "--out"])
        .arg(out.path().join("none.jsonl"))
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not found"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["export", &id, "--out"])
        .arg(out.path().join("none.jsonl"))
        .arg("--data-dir")
        .arg(out.path().join("nowhere"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(!out.path().join("none.jsonl").exists());
    drop(dir);
}
