//! `baton demo`: a scripted tour against a host started in-process on 127.0.0.1 (a port of its
//! own, a temporary data directory, a fast simulated beamline whose Y motor disconnects after
//! its first move). It talks to the host over HTTP like any client: upload grid-scan, define a
//! scan, try-conduct it while following the live progress stream, watch it hold at the faulty
//! motor, read the journal, lift the fault ("the technician fixes the motor"), reconduct from
//! the interrupted step, and follow it to Completed. Exit 0 when the story ends Completed.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value as Json, json};

use super::conduct::StepBar;
use crate::api::server::{Server, ServerConfig, ServerError};
use crate::ports::catalog::DEFAULT_CATALOG;
use crate::ports::{Catalog, CatalogError};

/// Arguments of `baton demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// Real seconds per simulated second of the beamline (small, so the tour is quick, but not
    /// zero, so the progress moves).
    #[arg(long, default_value_t = 0.1)]
    pub time_scale: f64,
    /// Keep the temporary data directory (printed at the start) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the host answered {status} to {what}: {body}")]
    Unexpected {
        what: String,
        status: StatusCode,
        body: String,
    },
    #[error("the tour went off script: {0}")]
    OffScript(String),
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
}

/// The channel whose fault the tour injects and lifts.
pub const FAULTY_MOTOR: &str = "sim:my";

/// The built-in catalog with `time_scale` and the Y motor failing after its first move.
pub fn demo_catalog(time_scale: f64) -> Result<Catalog, CatalogError> {
    let text = format!(
        "{DEFAULT_CATALOG}\n[[sim.faults]]\nchannel = \"{FAULTY_MOTOR}\"\nmode = \
         \"disconnect_after\"\nops = 1\n"
    );
    Catalog::parse(&text)?.with_time_scale(time_scale)
}

struct Api {
    client: Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Json>,
        expect: &[StatusCode],
    ) -> Result<Json, DemoError> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !expect.contains(&status) {
            return Err(DemoError::Unexpected {
                what: format!("{method} {path}"),
                status,
                body: text,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Json::Null))
    }

    /// GETs `path` and returns its `[name, doc]` lines (the documents route answers NDJSON).
    async fn documents(&self, path: &str) -> Result<Vec<(String, Json)>, DemoError> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if status != StatusCode::OK {
            return Err(DemoError::Unexpected {
                what: format!("GET {path}"),
                status,
                body: text,
            });
        }
        text.lines()
            .map(|line| {
                serde_json::from_str::<(String, Json)>(line)
                    .map_err(|e| DemoError::OffScript(format!("a document line: {e}")))
            })
            .collect()
    }

    async fn upload(&self, wasm: &'static [u8]) -> Result<Json, DemoError> {
        let response = self
            .client
            .post(format!("{}/components", self.base))
            .bearer_auth(&self.token)
            .body(wasm)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if status != StatusCode::CREATED {
            return Err(DemoError::Unexpected {
                what: "POST /components".into(),
                status,
                body: text,
            });
        }
        serde_json::from_str(&text).map_err(|e| DemoError::OffScript(e.to_string()))
    }
}

/// One Server-Sent Event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Splits complete events off the front of `buffer` (the rest waits for more bytes).
pub fn parse_sse(buffer: &mut String) -> Vec<SseEvent> {
    let mut events = Vec::new();
    while let Some(end) = buffer.find("\n\n") {
        let block: String = buffer.drain(..end + 2).collect();
        let mut event = SseEvent::default();
        let mut data = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event.event = v.trim_start().to_owned();
            } else if let Some(v) = line.strip_prefix("id:") {
                event.id = Some(v.trim_start().to_owned());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
            }
        }
        if event.event.is_empty() && data.is_empty() {
            continue; // a keep-alive comment
        }
        event.data = data.join("\n");
        events.push(event);
    }
    events
}

/// Follows a procedure's progress stream until `stop` says so for a status; draws the bar and
/// returns the last status and the last journal sequence seen.
async fn follow(
    api: &Api,
    id: &str,
    after: Option<&str>,
    label: &str,
    stop: impl Fn(&str) -> bool,
    tty: bool,
    out: &mut dyn Write,
) -> Result<(String, Option<String>), DemoError> {
    let mut request = api
        .client
        .get(format!("{}/procedures/{id}/stream", api.base))
        .bearer_auth(&api.token);
    if let Some(after) = after {
        request = request.header("Last-Event-ID", after);
    }
    let response = request.send().await?;
    if response.status() != StatusCode::OK {
        return Err(DemoError::Unexpected {
            what: "GET stream".into(),
            status: response.status(),
            body: response.text().await?,
        });
    }
    let mut bytes = response.bytes_stream();
    let mut buffer = String::new();
    let mut bar: Option<StepBar> = None;
    let mut done = 0;
    let mut last_id = after.map(str::to_owned);
    let mut status = String::new();
    while let Some(chunk) = bytes.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk?));
        for event in parse_sse(&mut buffer) {
            let data: Json = serde_json::from_str(&event.data).unwrap_or(Json::Null);
            match event.event.as_str() {
                "journal" => last_id = event.id.clone(),
                "progress" => {
                    let total = data["total"].as_u64().unwrap_or(0);
                    done = data["done"].as_u64().unwrap_or(0);
                    if total > 0 {
                        let bar = bar.get_or_insert_with(|| StepBar::new(label, total, tty));
                        bar.set(done, data["eta_seconds"].as_f64(), out)?;
                    }
                }
                "status" | "end" => {
                    status = data["status"].as_str().unwrap_or_default().to_owned();
                    if event.event == "end" || stop(&status) {
                        if let Some(bar) = bar.take() {
                            bar.finish(done, &status, out)?;
                        }
                        return Ok((status, last_id));
                    }
                }
                _ => {}
            }
        }
    }
    Err(DemoError::OffScript(format!(
        "the progress stream ended early (last status {status:?})"
    )))
}

/// Waits until the conduct of `id` has a result, and returns the procedure.
async fn finished(api: &Api, id: &str) -> Result<Json, DemoError> {
    for _ in 0..200 {
        let procedure = api
            .call(
                Method::GET,
                &format!("/procedures/{id}?steps=false"),
                None,
                &[StatusCode::OK],
            )
            .await?;
        if procedure["last_conduct"]["state"] != "running" {
            return Ok(procedure);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(DemoError::OffScript("the conduct did not finish".into()))
}

fn journal_line(entry: &Json) -> String {
    let detail = &entry["detail"];
    let target = detail["channel"]
        .as_str()
        .or_else(|| detail["device"].as_str())
        .unwrap_or("?");
    let what = match (
        detail["value"]["value"].as_f64(),
        detail["command"].as_str(),
    ) {
        (Some(v), _) => format!("{target} ← {v}"),
        (None, Some(c)) => format!("{target} {c}"),
        _ => target.to_owned(),
    };
    let mut line = format!(
        "    {:>4}  {:>4}  {:<8}  {:<9}  {what}",
        entry["sequence"].as_u64().unwrap_or(0),
        entry["step_index"].as_u64().unwrap_or(0),
        entry["step_kind"].as_str().unwrap_or(""),
        entry["result"].as_str().unwrap_or("")
    );
    if let Some(message) = entry["message"].as_str() {
        line.push_str(&format!("  ({message})"));
    }
    line
}

/// Runs the tour; Ok(true) when it ended Completed.
pub async fn run(args: &DemoArgs, tty: bool, out: &mut dyn Write) -> Result<bool, DemoError> {
    let dir = std::env::temp_dir().join(format!("baton-demo-{}", uuid::Uuid::new_v4().simple()));
    let result = tour(args, &dir, tty, out).await;
    if !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn tour(
    args: &DemoArgs,
    dir: &PathBuf,
    tty: bool,
    out: &mut dyn Write,
) -> Result<bool, DemoError> {
    writeln!(
        out,
        "baton demo: a grid scan meets a faulty motor, holds, and is reconducted\n"
    )?;
    writeln!(
        out,
        "[1/8] A host starts in this process with a simulated beamline at time scale {},",
        args.time_scale
    )?;
    writeln!(
        out,
        "      and a fault: the Y motor {FAULTY_MOTOR} disconnects after its first move."
    )?;
    let mut config = ServerConfig::new(
        dir,
        demo_catalog(args.time_scale)?,
        ([127, 0, 0, 1], 0).into(),
    );
    config.register_examples = false;
    let started = Server::start(config).await?;
    let server = started.server;
    let token = started
        .admin_token
        .ok_or_else(|| DemoError::OffScript("a fresh host made no admin token".into()))?;
    writeln!(
        out,
        "      listening on {} (data in {})\n",
        server.url(),
        dir.display()
    )?;
    let api = Api {
        client: Client::new(),
        base: server.url(),
        token,
    };
    let outcome = story(&api, tty, out).await;
    server.shutdown().await?;
    outcome
}

async fn story(api: &Api, tty: bool, out: &mut dyn Write) -> Result<bool, DemoError> {
    let grid = baton_artifacts::Example::named("grid-scan")
        .ok_or_else(|| DemoError::OffScript("grid-scan is not among the examples".into()))?;
    let component = api.upload(grid.bytes).await?;
    let digest = component["digest"].as_str().unwrap_or_default().to_owned();
    writeln!(
        out,
        "[2/8] POST /components grid-scan.wasm ({} bytes) → 201, sha256 {}…",
        grid.bytes.len(),
        &digest[..digest.len().min(12)]
    )?;
    writeln!(
        out,
        "      {} {}: {} ({} declared parameters)\n",
        component["name"].as_str().unwrap_or(""),
        component["version"].as_str().unwrap_or(""),
        component["info"]["doc"].as_str().unwrap_or(""),
        component["info"]["params"].as_array().map_or(0, Vec::len)
    )?;

    let params = json!({"x_points": 5, "y_points": 4, "x_start": -1.0, "x_stop": 1.0,
                        "y_start": -0.6, "y_stop": 0.6, "exposure_s": 0.1});
    let procedure = api
        .call(
            Method::POST,
            "/procedures",
            Some(json!({"name": "demo raster", "component": digest, "params": params})),
            &[StatusCode::CREATED],
        )
        .await?;
    let id = procedure["id"].as_str().unwrap_or_default().to_owned();
    writeln!(
        out,
        "[3/8] POST /procedures: a 5 × 4 raster over sim:mx and sim:my → 201"
    )?;
    writeln!(
        out,
        "      procedure {id} is {}\n",
        procedure["status"].as_str().unwrap_or("")
    )?;

    writeln!(
        out,
        "[4/8] POST /procedures/{{id}}/try-conduct?wait=false → 202; following GET /procedures/{{id}}/stream"
    )?;
    api.call(
        Method::POST,
        &format!("/procedures/{id}/try-conduct?wait=false"),
        None,
        &[StatusCode::ACCEPTED],
    )
    .await?;
    let is_settled = |s: &str| matches!(s, "Held" | "Completed" | "Aborted" | "Truncated");
    let (status, last_id) = follow(api, &id, None, "try-conduct", is_settled, tty, out).await?;
    let procedure = finished(api, &id).await?;
    let outcome = &procedure["last_conduct"]["outcome"];
    if status != "Held" || outcome["held"] != true {
        return Err(DemoError::OffScript(format!(
            "expected the try-conduct to hold, it ended {status}: {outcome}"
        )));
    }
    let failure = &outcome["failure"];
    let interrupted = failure["step_index"].as_u64().unwrap_or(0);
    writeln!(
        out,
        "      Held at step {interrupted} ({} {}): {}: {}",
        failure["kind"].as_str().unwrap_or(""),
        failure["target"].as_str().unwrap_or(""),
        failure["class"].as_str().unwrap_or(""),
        failure["message"].as_str().unwrap_or("")
    )?;
    writeln!(
        out,
        "      The procedure is Held (cause {}); its {} pinned steps are kept, and the guest is never asked again.\n",
        procedure["hold_claims"][0].as_str().unwrap_or("?"),
        outcome["step_count"]
    )?;

    let journal = api
        .call(
            Method::GET,
            &format!("/procedures/{id}/journal"),
            None,
            &[StatusCode::OK],
        )
        .await?;
    let entries = journal["items"].as_array().cloned().unwrap_or_default();
    writeln!(
        out,
        "[5/8] GET /procedures/{{id}}/journal: {} entries; the last ones:",
        entries.len()
    )?;
    writeln!(out, "     seq  step  kind      result     what")?;
    for entry in entries.iter().skip(entries.len().saturating_sub(6)) {
        writeln!(out, "{}", journal_line(entry))?;
    }
    writeln!(out)?;

    let cleared = api
        .call(Method::DELETE, "/sim/faults", None, &[StatusCode::OK])
        .await?;
    writeln!(
        out,
        "[6/8] The technician fixes the motor: DELETE /sim/faults → faults lifted on {} port(s).\n",
        cleared["cleared_ports"]
    )?;

    writeln!(
        out,
        "[7/8] POST /procedures/{{id}}/reconduct {{\"boundary\": {interrupted}}}: replay the pinned steps from the interrupted one"
    )?;
    api.call(
        Method::POST,
        &format!("/procedures/{id}/reconduct?wait=false"),
        Some(json!({ "boundary": interrupted })),
        &[StatusCode::ACCEPTED],
    )
    .await?;
    let (status, _) = follow(
        api,
        &id,
        last_id.as_deref(),
        "reconduct",
        |s| s != "Held" && is_settled(s),
        tty,
        out,
    )
    .await?;
    let procedure = finished(api, &id).await?;
    let outcome = &procedure["last_conduct"]["outcome"];
    writeln!(
        out,
        "      {status}: {} of {} steps done, actuation {}",
        procedure["progress"]["done"],
        procedure["progress"]["total"],
        outcome["actuation_kind"].as_str().unwrap_or("?")
    )?;
    let completed = status == "Completed" && outcome["succeeded"] == true;
    if !completed {
        writeln!(out, "\nThe reconduct ended {status}: {outcome}")?;
        return Ok(false);
    }
    documents(api, &id, out).await?;
    writeln!(
        out,
        "\nThe story: try-conduct → Held at the faulty motor → fix → reconduct → Completed."
    )?;
    Ok(true)
}

/// The last step of the story: the measurements as bluesky event-model documents.
async fn documents(api: &Api, id: &str, out: &mut dyn Write) -> Result<(), DemoError> {
    let documents = api
        .documents(&format!("/procedures/{id}/documents"))
        .await?;
    // Which stream each descriptor opens, so events can be counted per stream.
    let mut streams = std::collections::HashMap::new();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let mut exit = String::from("none");
    for (name, doc) in &documents {
        match name.as_str() {
            "descriptor" => {
                streams.insert(
                    doc["uid"].as_str().unwrap_or_default().to_owned(),
                    doc["name"].as_str().unwrap_or("?").to_owned(),
                );
            }
            "event" => {
                let stream = streams
                    .get(doc["descriptor"].as_str().unwrap_or_default())
                    .cloned()
                    .unwrap_or_else(|| "?".into());
                *counts.entry(stream).or_default() += 1;
            }
            "stop" => exit = doc["exit_status"].as_str().unwrap_or("?").to_owned(),
            _ => {}
        }
    }
    let events: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    writeln!(
        out,
        "\n[8/8] GET /procedures/{{id}}/documents: {} event-model documents (events: {}; stop: {exit})",
        documents.len(),
        events.join(", ")
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn sse_events_split_on_blank_lines_and_keep_partial_ones() {
        let mut buffer = String::from(
            ": keep-alive\n\nevent: journal\nid: 7\ndata: {\"a\":1}\n\nevent: progress\ndata: {\"done\"",
        );
        let events = parse_sse(&mut buffer);
        assert_eq!(
            events,
            [SseEvent {
                event: "journal".into(),
                id: Some("7".into()),
                data: "{\"a\":1}".into()
            }]
        );
        assert_eq!(buffer, "event: progress\ndata: {\"done\"");
        buffer.push_str(":3}\n\n");
        let events = parse_sse(&mut buffer);
        assert_eq!(events[0].event, "progress");
        assert_eq!(events[0].data, "{\"done\":3}");
        assert!(buffer.is_empty());
    }

    #[test]
    fn the_demo_catalog_has_the_fault_and_the_time_scale() {
        let catalog = demo_catalog(0.25).unwrap();
        assert_eq!(catalog.sim().time_scale, 0.25);
        assert_eq!(catalog.sim().faults.len(), 1);
        assert_eq!(catalog.sim().faults[0].channel, FAULTY_MOTOR);
    }
}
