//! `GET /procedures/{id}/stream`: journal entries as events with the sequence as id, progress
//! with an ETA, status changes, and the end; a reconnect with `Last-Event-ID` misses nothing
//! and repeats nothing; a Held procedure keeps the stream open until it ends.

use std::time::Duration;

use baton_host::cli::demo::{SseEvent, parse_sse};
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};

use crate::harness::{Host, MY_DISCONNECTED, catalog, check_problem, expect_problem};

/// Reads a procedure's progress stream (see [`read_sse`]).
async fn read(
    host: &Host,
    id: &str,
    last_event_id: Option<&str>,
    stop: impl Fn(&[SseEvent]) -> bool,
) -> (Vec<SseEvent>, bool) {
    read_sse(
        host,
        &format!("/procedures/{id}/stream"),
        last_event_id,
        stop,
    )
    .await
}

/// Reads the events of the SSE route at `path` until `stop` says so, the stream ends, or 30 s
/// pass; whether it ended.
pub(crate) async fn read_sse(
    host: &Host,
    path: &str,
    last_event_id: Option<&str>,
    stop: impl Fn(&[SseEvent]) -> bool,
) -> (Vec<SseEvent>, bool) {
    let mut request = host.request(Method::GET, path);
    if let Some(last) = last_event_id {
        request = request.header("Last-Event-ID", last);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut bytes = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let chunk = tokio::time::timeout_at(deadline, bytes.next())
            .await
            .expect("the stream stalled");
        let Some(chunk) = chunk else {
            return (events, true);
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        for event in parse_sse(&mut buffer) {
            // An `error` event carries a problem body: it must fit the spec like any other.
            if event.event == "error" {
                check_problem(&event.data);
            }
            events.push(event);
        }
        if stop(&events) {
            return (events, false);
        }
    }
}

fn journal_ids(events: &[SseEvent]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e.event == "journal")
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect()
}

fn data(event: &SseEvent) -> Json {
    serde_json::from_str(&event.data).unwrap()
}

async fn slow_conduct(host: &Host, steps: usize) -> String {
    let script = vec!["act sim:det acquire exposure_s=0.2"; steps].join("; ");
    let id = host.define_script(&script).await;
    let (status, _) = host
        .call(
            Method::POST,
            &format!("/procedures/{id}/conduct?wait=false"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    id
}

#[tokio::test]
async fn the_stream_follows_a_conduct_to_its_end() {
    let host = Host::with_catalog(catalog(0.25, "")).await;
    let id = slow_conduct(&host, 20).await;
    let (events, ended) = read(&host, &id, None, |_| false).await;
    assert!(ended, "a terminal procedure ends the stream");
    // Every entry, in order, ids = journal sequences: in_flight and ok for 20 actions.
    assert_eq!(journal_ids(&events), (1..=40).collect::<Vec<u64>>());
    let first_entry = events.iter().find(|e| e.event == "journal").unwrap();
    let entry = data(first_entry);
    assert_eq!(entry["sequence"], 1);
    assert_eq!(entry["step_kind"], "action");
    assert_eq!(entry["result"], "in_flight");

    let statuses: Vec<String> = events
        .iter()
        .filter(|e| e.event == "status")
        .map(|e| data(e)["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses.last().unwrap(), "Completed");
    let progress: Vec<Json> = events
        .iter()
        .filter(|e| e.event == "progress")
        .map(data)
        .collect();
    assert!(progress.iter().all(|p| p.get("id").is_none()));
    let last = progress.last().unwrap();
    assert_eq!(
        (last["done"].as_u64(), last["total"].as_u64()),
        (Some(20), Some(20))
    );
    let with_eta: Vec<&Json> = progress
        .iter()
        .filter(|p| p["status"] == "Running" && p["eta_seconds"].is_number())
        .collect();
    assert!(
        !with_eta.is_empty(),
        "a running conduct reports an ETA: {progress:?}"
    );
    assert!(
        with_eta
            .iter()
            .all(|p| p["eta_seconds"].as_f64().unwrap() >= 0.0)
    );
    // Progress only grows.
    let dones: Vec<u64> = progress
        .iter()
        .map(|p| p["done"].as_u64().unwrap())
        .collect();
    assert!(dones.windows(2).all(|w| w[0] <= w[1]), "{dones:?}");
    let end = events.last().unwrap();
    assert_eq!(end.event, "end");
    assert_eq!(data(end)["status"], "Completed");
    assert!(progress.iter().all(|p| p["conducting"].is_boolean()));
    host.shutdown().await;
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_misses_nothing() {
    let host = Host::with_catalog(catalog(0.25, "")).await;
    let id = slow_conduct(&host, 20).await;
    // Drop the connection after a few entries, mid-conduct.
    let (first, ended) = read(&host, &id, None, |events| journal_ids(events).len() >= 7).await;
    assert!(!ended);
    let seen = journal_ids(&first);
    let last = seen.last().unwrap().to_string();
    let (rest, ended) = read(&host, &id, Some(&last), |_| false).await;
    assert!(ended);
    let resumed = journal_ids(&rest);
    assert_eq!(resumed.first().copied(), Some(seen.last().unwrap() + 1));
    let mut all = seen.clone();
    all.extend(&resumed);
    assert_eq!(all, (1..=40).collect::<Vec<u64>>(), "no gap, no repeat");

    // `?after=` does the same for clients that cannot set headers.
    let response = host
        .request(Method::GET, &format!("/procedures/{id}/stream?after=38"))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    let mut buffer = text;
    assert_eq!(journal_ids(&parse_sse(&mut buffer)), [39, 40]);
    host.shutdown().await;
}

#[tokio::test]
async fn a_held_procedure_keeps_the_stream_open_until_it_ends() {
    let host = Host::with_catalog(catalog(0.0, MY_DISCONNECTED)).await;
    let id = host
        .define_script("set sim:mx 1; set sim:my 1; act sim:det acquire exposure_s=0.01")
        .await;
    host.call(Method::POST, &format!("/procedures/{id}/try-conduct"), None)
        .await;
    // in_flight + ok of the first setpoint, in_flight + failed of the second.
    let held = |events: &[SseEvent]| {
        journal_ids(events).len() == 4
            && events
                .iter()
                .any(|e| e.event == "status" && data(e)["status"] == "Held")
    };
    let (events, ended) = read(&host, &id, None, held).await;
    assert!(!ended);
    let status = events.iter().find(|e| e.event == "status").unwrap();
    assert_eq!(data(status)["hold_claims"], json!(["step-fault"]));
    let last = journal_ids(&events).last().copied().unwrap();

    // Still open while Held; it goes on with the reconduct and ends at Completed.
    let follower = {
        let url = format!("{}/procedures/{id}/stream", host.url);
        let client = host.client.clone();
        let token = host.admin.clone();
        tokio::spawn(async move {
            let response = client
                .get(url)
                .bearer_auth(token)
                .header("Last-Event-ID", last.to_string())
                .send()
                .await
                .unwrap();
            response.text().await.unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !follower.is_finished(),
        "the stream of a Held procedure stays open"
    );
    host.call(Method::DELETE, "/sim/faults", None).await;
    let (status, _) = host
        .call(Method::POST, &format!("/procedures/{id}/reconduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut text = tokio::time::timeout(Duration::from_secs(10), follower)
        .await
        .unwrap()
        .unwrap();
    let events = parse_sse(&mut text);
    let ids = journal_ids(&events);
    assert_eq!(ids.first().copied(), Some(last + 1));
    assert_eq!(events.last().unwrap().event, "end");
    assert_eq!(data(events.last().unwrap())["status"], "Completed");
    host.shutdown().await;
}

#[tokio::test]
async fn stream_refusals() {
    let host = Host::start().await;
    let missing = uuid::Uuid::new_v4();
    let response = host
        .request(Method::GET, &format!("/procedures/{missing}/stream"))
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::NOT_FOUND, "not-found").await;
    let id = host.define(&crate::harness::hello(), json!({})).await;
    let response = host
        .request(Method::GET, &format!("/procedures/{id}/stream"))
        .header("Last-Event-ID", "seven")
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::BAD_REQUEST, "malformed-request").await;
    host.shutdown().await;
}
