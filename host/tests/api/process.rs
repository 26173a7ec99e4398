//! The `baton` binary as a user runs it: `baton demo` tells its story, `baton serve` shuts
//! down gracefully on SIGTERM and a restart finds the interrupted conduct Held, `baton token
//! create` prints only the token, `baton conduct` exits 0 on Completed and 1 otherwise.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value as Json, json};

const BATON: &str = env!("CARGO_BIN_EXE_baton");

#[test]
fn demo_tells_the_held_reconduct_completed_story() {
    let output = Command::new(BATON).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let held = stdout.find("Held at step").expect("the try-conduct holds");
    let fixed = stdout.find("The technician fixes the motor").unwrap();
    let reconduct = stdout.find("/reconduct").unwrap();
    let completed = stdout.rfind("Completed").unwrap();
    assert!(
        held < fixed && fixed < reconduct && reconduct < completed,
        "{stdout}"
    );
    assert!(stdout.contains("disconnected"), "{stdout}");
    assert!(stdout.contains("step-fault"), "{stdout}");
    // Not a terminal: plain progress lines, no escape sequences.
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    assert!(
        stdout.contains("reconduct: 44/44 steps, Completed"),
        "{stdout}"
    );
    // The measurements leave as documents: 20 acquisitions of the 5 × 4 raster, one hold and
    // one resume, and a successful stop.
    assert!(
        stdout.contains("events: 2 interruptions, 20 primary; stop: success"),
        "{stdout}"
    );
}

/// A `baton serve` child and the lines it printed until it was listening.
struct Serve {
    child: Child,
    url: String,
    lines: Vec<String>,
}

fn serve(data_dir: &std::path::Path) -> Serve {
    let mut child = Command::new(BATON)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("BATON_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(120)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("baton serve never said it was listening; it printed {lines:?}");
        };
        if let Some(url) = line.strip_prefix("listening on ") {
            let url = url.to_owned();
            lines.push(line);
            // Keep draining so the child never blocks on a full pipe.
            std::thread::spawn(move || while rx.recv().is_ok() {});
            return Serve { child, url, lines };
        }
        lines.push(line);
    }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("baton serve did not exit within 30 s of SIGTERM");
}

async fn get(client: &Client, url: &str, token: &str) -> (StatusCode, Json) {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    crate::harness::answer(response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_shuts_down_gracefully_and_a_restart_finds_the_conduct_held() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = serve(dir.path());
    let token = first
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("admin token (shown once; keep it): "))
        .expect("the first start prints an admin token")
        .to_owned();
    let client = Client::new();
    let url = first.url.clone();
    // The built-in beamline runs in real time: a 4 x 4 raster takes seconds.
    let grid = baton_host::sandbox::sha256_hex(baton_artifacts::grid_scan_bytes());
    let defined: Json = client
        .post(format!("{url}/procedures"))
        .bearer_auth(&token)
        .json(&json!({"component": grid, "params": {"x_points": 4, "y_points": 4}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = defined["id"].as_str().unwrap().to_owned();
    let accepted = client
        .post(format!("{url}/procedures/{id}/conduct?wait=false"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let mut done = 0;
    for _ in 0..400 {
        let (_, p) = get(
            &client,
            &format!("{url}/procedures/{id}?steps=false"),
            &token,
        )
        .await;
        done = p["progress"]["done"].as_u64().unwrap_or(0);
        if done >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(done >= 2, "the conduct did not get going");

    let status = terminate(&mut first.child);
    assert_eq!(status.code(), Some(0), "a graceful shutdown exits 0");

    let second = serve(dir.path());
    assert!(
        !second.lines.iter().any(|l| l.starts_with("admin token")),
        "the admin token is printed once only"
    );
    let url = second.url.clone();
    let (_, held) = get(
        &client,
        &format!("{url}/procedures/{id}?steps=false"),
        &token,
    )
    .await;
    assert_eq!(held["status"], "Held", "{held}");
    assert_eq!(held["hold_claims"], json!(["host-restart"]));
    assert_eq!(held["status_reason"], "host shutting down");
    let total = held["progress"]["total"].as_u64().unwrap();
    assert_eq!(total, 4 + 2 * 16);
    let before = held["progress"]["done"].as_u64().unwrap();
    assert!(before < total);
    // The journal ends on an outcome: the shutdown waited for the step boundary.
    let (_, journal) = get(&client, &format!("{url}/procedures/{id}/journal"), &token).await;
    assert_eq!(
        journal["items"].as_array().unwrap().last().unwrap()["result"],
        "ok"
    );

    let response = client
        .post(format!("{url}/procedures/{id}/reconduct"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let outcome: Json = response.json().await.unwrap();
    assert_eq!(outcome["status"], "Completed", "{outcome}");
    assert_eq!(outcome["boundary"], before);
    let mut second = second;
    assert_eq!(terminate(&mut second.child).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_create_prints_only_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BATON)
        .args([
            "token",
            "create",
            "--scope",
            "read",
            "--scope",
            "operate",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("BATON_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.strip_suffix('\n').unwrap();
    assert!(!token.contains('\n'), "{stdout:?}");
    assert!(token.starts_with("baton_"));
    assert_eq!(token.len(), 70);
    assert!(token[6..].bytes().all(|b| b.is_ascii_hexdigit()));

    let bad = Command::new(BATON)
        .args(["token", "create", "--scope", "root", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(bad.stdout.is_empty());

    // A host on that store knows the token and its scopes (and makes no admin token, since
    // the store already has one).
    let mut host = serve(dir.path());
    assert!(!host.lines.iter().any(|l| l.starts_with("admin token")));
    let client = Client::new();
    let (status, _) = get(&client, &format!("{}/procedures", host.url), token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&client, &format!("{}/tokens", host.url), token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(terminate(&mut host.child).code(), Some(0));
}

#[test]
fn conduct_exits_0_on_completed_and_1_otherwise() {
    let ok = Command::new(BATON)
        .args(["conduct", baton_artifacts::HELLO, "--param", "position=2.5"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        stdout.contains("conduct → Completed (2 of 2 steps"),
        "{stdout}"
    );
    assert!(stdout.contains("\"succeeded\": true"), "{stdout}");

    // Out of the catalog's limits: refused before anything moves.
    let refused = Command::new(BATON)
        .args(["conduct", baton_artifacts::HELLO, "--param", "position=45"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("out of limits"));

    // A fault in the catalog and --try: held, exit 1.
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("faulty.toml");
    std::fs::write(
        &catalog,
        format!(
            "{}\n[[sim.faults]]\nchannel = \"sim:mx\"\nmode = \"disconnect_after\"\nops = 0\n",
            baton_host::ports::catalog::DEFAULT_CATALOG
        ),
    )
    .unwrap();
    let held = Command::new(BATON)
        .args([
            "conduct",
            baton_artifacts::HELLO,
            "--try",
            "--time-scale",
            "0",
            "--catalog",
        ])
        .arg(&catalog)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&held.stdout);
    assert_eq!(held.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("try-conduct → Held"), "{stdout}");

    let unknown = Command::new(BATON)
        .args(["conduct", baton_artifacts::HELLO, "--param", "speed=3"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("speed"));
    let missing = Command::new(BATON)
        .args(["conduct", "/nonexistent.wasm"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}
