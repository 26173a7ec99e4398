//! A killed process loses nothing it acknowledged (SQLite, default `synchronous = NORMAL`).
//!
//! The test runs its own binary again as a child writer (selected by an environment variable):
//! the child appends events and journal entries and prints `ACK n` after each commit returns;
//! the parent SIGKILLs it mid-stream, reopens the file and finds every acknowledged write.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use baton_host::domain::StepKind;
use baton_host::store::{
    AppendRequest, EventStore, JournalEntry, JournalPage, NewEvent, SqliteOptions, SqliteStore,
    StepJournal, StepResult,
};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

const CHILD_ENV: &str = "BATON_STORE_DURABILITY_CHILD";
const STREAM: &str = "durable";
const KILL_AFTER: u64 = 300;

fn procedure() -> Uuid {
    Uuid::from_u128(0x0bad_cafe)
}

async fn child(path: &str) {
    let store = SqliteStore::open(path, SqliteOptions::default())
        .await
        .unwrap();
    for n in 0u64.. {
        let events = [NewEvent::new("Tick", json!({"n": n}))];
        store
            .append(AppendRequest::new(STREAM, n, &events))
            .await
            .unwrap();
        store
            .append_journal(&[JournalEntry {
                id: Uuid::new_v4(),
                procedure_id: procedure(),
                step_index: u32::try_from(n).unwrap(),
                step_kind: StepKind::Setpoint,
                result: StepResult::InFlight,
                message: None,
                detail: json!({"n": n}),
                at: OffsetDateTime::now_utc(),
            }])
            .await
            .unwrap();
        println!("ACK {n}");
    }
}

#[test]
fn killed_process_loses_no_acknowledged_write() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(child(&path));
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("durable.db");
    let mut writer = Command::new(std::env::current_exe().unwrap())
        .args([
            "durability::killed_process_loses_no_acknowledged_write",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = writer.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut acked = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("ACK ") {
            let n: u64 = n.parse().unwrap();
            acked = Some(n);
            if n >= KILL_AFTER {
                break;
            }
        }
    }
    // SIGKILL: no destructors, no flush, no checkpoint.
    writer.kill().unwrap();
    // Acknowledgements already in the pipe count too.
    for line in lines {
        if let Some(n) = line.unwrap().strip_prefix("ACK ") {
            acked = Some(n.parse().unwrap());
        }
    }
    let status = writer.wait().unwrap();
    assert!(!status.success(), "the writer was killed, not finished");
    let acked = acked.expect("the child acknowledged writes before it was killed");
    assert!(acked >= KILL_AFTER);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        let events = store.read_stream(STREAM).await.unwrap();
        assert!(
            events.len() as u64 > acked,
            "acknowledged {} events, found {}",
            acked + 1,
            events.len()
        );
        for (n, event) in events.iter().enumerate() {
            assert_eq!(event.payload, json!({"n": n}));
        }
        let journal = store
            .journal(procedure(), JournalPage::first(10_000))
            .await
            .unwrap();
        assert!(journal.len() as u64 > acked);
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(integrity, "ok");
    });
}
