//! The conformance suite: every test is written once, generic over the backend, and run against
//! file SQLite, in-memory SQLite and PostgreSQL by the `conformance!` macro in `store.rs`.

use std::sync::Arc;

use baton_host::domain::{Action, Check, Criterion, FailureClass, Setpoint, Step, StepKind, Value};
use baton_host::store::{
    AppendRequest, JournalEntry, JournalPage, NewComponent, NewEvent, PinnedSteps, StepResult,
    StoreError,
};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::harness::Backend;
pub use super::procedures::*;
pub use super::runs::*;

fn stream(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::new_v4())
}

fn event(event_type: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent::new(event_type, payload)
}

pub async fn append_and_read<S: Backend>(store: &S) {
    let s = stream("thing");
    assert_eq!(store.stream_version(&s).await.unwrap(), 0);
    assert!(store.read_stream(&s).await.unwrap().is_empty());

    let first = [
        event("Created", json!({"name": "a", "n": 1})),
        event("Renamed", json!({"name": "b"})),
    ];
    let recorded = store
        .append(AppendRequest::new(&s, 0, &first))
        .await
        .unwrap();
    assert_eq!(recorded.len(), 2);
    assert_eq!((recorded[0].version, recorded[1].version), (1, 2));
    assert!(recorded[0].position < recorded[1].position);
    assert_eq!(recorded[0].id, first[0].id);

    let second = [event(
        "Renamed",
        json!({"name": "c", "list": [1, 2.5, "x", null]}),
    )];
    let more = store
        .append(AppendRequest::new(&s, 2, &second))
        .await
        .unwrap();
    assert_eq!(more[0].version, 3);

    let read = store.read_stream(&s).await.unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(read[..2], recorded[..]);
    assert_eq!(read[2], more[0]);
    assert_eq!(
        read[2].payload,
        json!({"name": "c", "list": [1, 2.5, "x", null]})
    );
    assert_eq!(read[0].event_type, "Created");
    assert_eq!(read[0].stream, s);
    assert_eq!(store.stream_version(&s).await.unwrap(), 3);
}

pub async fn stale_version_is_a_typed_conflict<S: Backend>(store: &S) {
    let s = stream("thing");
    store
        .append(AppendRequest::new(&s, 0, &[event("Created", json!({}))]))
        .await
        .unwrap();
    for expected in [0, 2, 7] {
        let err = store
            .append(AppendRequest::new(
                &s,
                expected,
                &[event("Again", json!({}))],
            ))
            .await
            .unwrap_err();
        match err {
            StoreError::Conflict {
                stream,
                expected: e,
                actual,
            } => {
                assert_eq!((stream.as_str(), e, actual), (s.as_str(), expected, 1));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
    let read = store.read_stream(&s).await.unwrap();
    assert_eq!(read.len(), 1, "a refused append writes nothing");
    assert_eq!(read[0].event_type, "Created");
}

pub async fn racing_appends_one_wins<S: Backend>(store: &S) {
    let s = Arc::new(stream("race"));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            let events = [event("Claimed", json!({"by": i}))];
            store.append(AppendRequest::new(&s, 0, &events)).await
        }));
    }
    let mut wins = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(recorded) => wins.push(recorded),
            Err(StoreError::Conflict {
                expected, actual, ..
            }) => {
                assert_eq!((expected, actual), (0, 1));
                conflicts += 1;
            }
            Err(other) => panic!("a racing append failed with {other:?}, not a conflict"),
        }
    }
    assert_eq!(wins.len(), 1, "exactly one racing append wins");
    assert_eq!(conflicts, 49);
    let read = store.read_stream(&s).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].payload, wins[0][0].payload);
}

pub async fn read_all_is_in_position_order<S: Backend>(store: &S) {
    let start = store
        .read_all(0, 10_000)
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.position);
    let streams = [stream("a"), stream("b"), stream("c")];
    let mut appended = Vec::new();
    for round in 0..4u64 {
        for s in &streams {
            let events = [event("Tick", json!({"round": round, "stream": s}))];
            let r = store
                .append(AppendRequest::new(s, round, &events))
                .await
                .unwrap();
            appended.extend(r);
        }
    }
    let all = store.read_all(start, 10_000).await.unwrap();
    let ours: Vec<_> = all
        .iter()
        .filter(|e| streams.contains(&e.stream))
        .cloned()
        .collect();
    assert_eq!(
        ours, appended,
        "read_all returns events in the order they committed"
    );
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));

    // Paging by position visits the same events.
    let mut paged = Vec::new();
    let mut after = start;
    loop {
        let page = store.read_all(after, 5).await.unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 5);
        after = last.position;
        paged.extend(page);
    }
    assert_eq!(paged, all);

    assert!(matches!(
        store.read_all(0, 0).await,
        Err(StoreError::InvalidQuery(_))
    ));
    assert!(matches!(
        store.read_all(0, 10_001).await,
        Err(StoreError::InvalidQuery(_))
    ));
}

pub async fn bad_appends_are_refused<S: Backend>(store: &S) {
    let s = stream("bad");
    // The shape a doubly encoded payload would have: a JSON string holding JSON.
    let doubly = event("Created", json!("{\"name\": \"a\"}"));
    match store.append(AppendRequest::new(&s, 0, &[doubly])).await {
        Err(StoreError::PayloadNotObject {
            event_type, kind, ..
        }) => assert_eq!((event_type.as_str(), kind), ("Created", "a string")),
        other => panic!("expected PayloadNotObject, got {other:?}"),
    }
    let array = event("Created", json!([1, 2]));
    assert!(matches!(
        store.append(AppendRequest::new(&s, 0, &[array])).await,
        Err(StoreError::PayloadNotObject {
            kind: "an array",
            ..
        })
    ));
    assert!(matches!(
        store.append(AppendRequest::new(&s, 0, &[])).await,
        Err(StoreError::EmptyAppend { .. })
    ));
    assert!(matches!(
        store
            .append(AppendRequest::new("", 0, &[event("Created", json!({}))]))
            .await,
        Err(StoreError::InvalidStream(_))
    ));
    assert!(matches!(
        store
            .append(AppendRequest::new(&s, 0, &[event("", json!({}))]))
            .await,
        Err(StoreError::EmptyEventType { .. })
    ));
    // A valid event followed by an invalid one: nothing of the batch lands.
    let mixed = [event("Created", json!({})), event("Broken", json!(3))];
    assert!(
        store
            .append(AppendRequest::new(&s, 0, &mixed))
            .await
            .is_err()
    );
    assert_eq!(store.stream_version(&s).await.unwrap(), 0);

    // A reused event id violates the unique id; the whole append rolls back.
    let ok = [event("Created", json!({}))];
    store.append(AppendRequest::new(&s, 0, &ok)).await.unwrap();
    let other = stream("bad");
    let reuse = [event("Created", json!({})), ok[0].clone()];
    assert!(matches!(
        store.append(AppendRequest::new(&other, 0, &reuse)).await,
        Err(StoreError::Database(_))
    ));
    assert_eq!(store.stream_version(&other).await.unwrap(), 0);
}

pub async fn history_is_append_only<S: Backend>(store: &S) {
    let s = stream("history");
    store
        .append(AppendRequest::new(&s, 0, &[event("Created", json!({}))]))
        .await
        .unwrap();
    let err = store.try_update_event(&s).await.unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    assert_eq!(
        store.read_stream(&s).await.unwrap()[0].event_type,
        "Created"
    );
}

/// The test a doubly encoded payload fails: the database's own JSON operators must see the
/// payload's fields.
pub async fn payloads_are_queryable_in_the_database<S: Backend>(store: &S) {
    let s = stream("json");
    let events = [event(
        "Measured",
        json!({"field": "value", "count": 42, "nested": {"deep": true}}),
    )];
    store
        .append(AppendRequest::new(&s, 0, &events))
        .await
        .unwrap();
    assert_eq!(
        store.payload_field(&s, "field").await.as_deref(),
        Some("value")
    );
    assert_eq!(
        store.payload_field(&s, "count").await.as_deref(),
        Some("42")
    );
    assert_eq!(store.payload_field(&s, "missing").await, None);
}

fn sample_steps() -> Vec<Step> {
    vec![
        Step::Setpoint(Setpoint {
            channel: "mono:energy".into(),
            value: Value::Float(8.333),
            readback: Some("mono:energy:rbv".into()),
            tolerance: Some(0.001),
            settle_ms: Some(250),
        }),
        Step::Check(Check {
            channel: "ring:current".into(),
            criterion: Criterion::Between {
                low: 100.0,
                high: 500.0,
            },
            timeout_ms: None,
        }),
        Step::Action(Action {
            device: "det1".into(),
            command: "acquire".into(),
            args: vec![
                ("exposure".into(), Value::Float(0.1)),
                ("frames".into(), Value::Int(10)),
                ("label".into(), Value::Text("scan \"1\"".into())),
                ("dark".into(), Value::Flag(false)),
                ("roi".into(), Value::Floats(vec![0.0, 1e-300, 1e300])),
            ],
            timeout_ms: Some(5_000),
        }),
    ]
}

pub async fn pinned_steps_round_trip<S: Backend>(store: &S) {
    let pin = PinnedSteps::new(sample_steps()).unwrap();
    assert_eq!(pin.hash().len(), 64);
    assert!(store.pinned_steps(pin.hash()).await.unwrap().is_none());

    let s = stream("pinned");
    let pinned = || {
        [event(
            "Pinned",
            json!({"content_hash": pin.hash(), "step_count": 3}),
        )]
    };
    let events = pinned();
    let pins = [pin.clone()];
    store
        .append(AppendRequest::new(&s, 0, &events).with_pins(&pins))
        .await
        .unwrap();
    let back = store.pinned_steps(pin.hash()).await.unwrap().unwrap();
    assert_eq!(back, pin);
    assert_eq!(back.steps(), &sample_steps()[..]);

    // The same list pinned by another stream is stored once and still reads back.
    let other = stream("pinned");
    store
        .append(AppendRequest::new(&other, 0, &pinned()).with_pins(&pins))
        .await
        .unwrap();
    assert_eq!(store.pinned_steps(pin.hash()).await.unwrap().unwrap(), pin);

    // A pin whose append is refused is not written either.
    let lost = PinnedSteps::new(sample_steps()[..1].to_vec()).unwrap();
    let refused = store
        .append(AppendRequest::new(&s, 0, &pinned()).with_pins(std::slice::from_ref(&lost)))
        .await;
    assert!(refused.unwrap_err().is_conflict());
    assert!(store.pinned_steps(lost.hash()).await.unwrap().is_none());

    // An empty list is a valid pin too.
    let empty = PinnedSteps::new(Vec::new()).unwrap();
    let third = stream("pinned");
    store
        .append(AppendRequest::new(&third, 0, &pinned()).with_pins(std::slice::from_ref(&empty)))
        .await
        .unwrap();
    assert!(
        store
            .pinned_steps(empty.hash())
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    );
}

fn entry(procedure: Uuid, step_index: u32, kind: StepKind, result: StepResult) -> JournalEntry {
    JournalEntry::new(
        procedure,
        step_index,
        kind,
        result,
        OffsetDateTime::now_utc(),
    )
}

pub async fn journal_is_idempotent_and_dense<S: Backend>(store: &S) {
    let p = Uuid::new_v4();
    let q = Uuid::new_v4();
    let first = entry(p, 0, StepKind::Setpoint, StepResult::InFlight)
        .with_detail(json!({"target": 8.333, "channel": "mono:energy"}))
        .with_message("driving mono:energy");
    assert_eq!(
        entry(p, 0, StepKind::Check, StepResult::Ok).detail,
        json!({})
    );
    let appended = store
        .append_journal(std::slice::from_ref(&first))
        .await
        .unwrap();
    assert_eq!(appended.len(), 1);
    assert!(appended[0].inserted);
    assert_eq!(appended[0].sequence, 1);

    // The same entry again (a retried write) stores nothing new.
    let again = store
        .append_journal(std::slice::from_ref(&first))
        .await
        .unwrap();
    assert!(!again[0].inserted);
    assert_eq!(again[0].sequence, 1);

    // A batch lands in order with dense sequences; another procedure counts from 1.
    let batch = vec![
        entry(p, 0, StepKind::Setpoint, StepResult::Ok),
        entry(q, 0, StepKind::Check, StepResult::Ok),
        entry(p, 1, StepKind::Action, StepResult::InFlight),
        first.clone(),
        entry(
            p,
            1,
            StepKind::Action,
            StepResult::Failed(FailureClass::Timeout),
        ),
    ];
    let appended = store.append_journal(&batch).await.unwrap();
    let seqs: Vec<(u64, bool)> = appended.iter().map(|a| (a.sequence, a.inserted)).collect();
    assert_eq!(
        seqs,
        [(2, true), (1, true), (3, true), (1, false), (4, true)]
    );

    let journal = store.journal(p, JournalPage::first(100)).await.unwrap();
    assert_eq!(journal.len(), 4);
    assert_eq!(
        journal.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    // Read back exactly what was written, at microsecond precision.
    assert_eq!(journal[0].entry.detail, first.detail);
    assert_eq!(journal[0].entry.message, first.message);
    assert_eq!(journal[0].entry.id, first.id);
    assert_eq!(
        journal[0].entry.at.unix_timestamp_nanos() / 1_000,
        first.at.unix_timestamp_nanos() / 1_000
    );
    assert_eq!(
        journal[3].entry.result,
        StepResult::Failed(FailureClass::Timeout)
    );
    assert_eq!(journal[2].entry.step_kind, StepKind::Action);

    // Paging.
    let page = store
        .journal(p, JournalPage { after: 1, limit: 2 })
        .await
        .unwrap();
    assert_eq!(page.iter().map(|r| r.sequence).collect::<Vec<_>>(), [2, 3]);
    let tail = store
        .journal(p, JournalPage { after: 4, limit: 2 })
        .await
        .unwrap();
    assert!(tail.is_empty());
    assert_eq!(
        store
            .journal(q, JournalPage::first(10))
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn journal_refuses_bad_entries<S: Backend>(store: &S) {
    let p = Uuid::new_v4();
    let mut bad = entry(p, 0, StepKind::Check, StepResult::Ok);
    bad.detail = json!("{\"doubly\": \"encoded\"}");
    let good = entry(p, 1, StepKind::Check, StepResult::Ok);
    assert!(matches!(
        store.append_journal(&[good.clone(), bad.clone()]).await,
        Err(StoreError::InvalidJournalEntry { id, .. }) if id == bad.id
    ));
    assert!(
        store
            .journal(p, JournalPage::first(10))
            .await
            .unwrap()
            .is_empty(),
        "a refused batch writes nothing"
    );

    // An entry id already used by another procedure is not silently accepted.
    store
        .append_journal(std::slice::from_ref(&good))
        .await
        .unwrap();
    let mut stolen = good.clone();
    stolen.procedure_id = Uuid::new_v4();
    assert!(matches!(
        store.append_journal(&[stolen]).await,
        Err(StoreError::InvalidJournalEntry { .. })
    ));

    for limit in [0, JournalPage::MAX_LIMIT + 1] {
        assert!(matches!(
            store.journal(p, JournalPage { after: 0, limit }).await,
            Err(StoreError::InvalidQuery(_))
        ));
    }
    assert!(store.append_journal(&[]).await.unwrap().is_empty());
}

pub async fn interrupted_step_is_the_last_open_marker<S: Backend>(store: &S) {
    let p = Uuid::new_v4();
    assert!(store.interrupted_step(p).await.unwrap().is_none());
    assert_eq!(store.completed_steps(p).await.unwrap(), 0);

    let marker = entry(p, 2, StepKind::Action, StepResult::InFlight);
    store
        .append_journal(&[
            entry(p, 0, StepKind::Setpoint, StepResult::InFlight),
            entry(p, 0, StepKind::Setpoint, StepResult::Ok),
            entry(p, 1, StepKind::Check, StepResult::Ok),
            marker.clone(),
        ])
        .await
        .unwrap();
    let interrupted = store.interrupted_step(p).await.unwrap().unwrap();
    assert_eq!(interrupted.entry.id, marker.id);
    assert_eq!(interrupted.entry.step_index, 2);
    assert_eq!(interrupted.sequence, 4);
    assert_eq!(store.completed_steps(p).await.unwrap(), 2);

    // An outcome closes the marker.
    store
        .append_journal(&[entry(
            p,
            2,
            StepKind::Action,
            StepResult::Failed(FailureClass::Disconnected),
        )])
        .await
        .unwrap();
    assert!(store.interrupted_step(p).await.unwrap().is_none());

    // A replay from step 1 re-runs step 1 and leaves step 2 open again.
    store
        .append_journal(&[
            entry(p, 1, StepKind::Check, StepResult::Ok),
            entry(p, 2, StepKind::Action, StepResult::InFlight),
        ])
        .await
        .unwrap();
    let interrupted = store.interrupted_step(p).await.unwrap().unwrap();
    assert_eq!((interrupted.entry.step_index, interrupted.sequence), (2, 7));
    assert_eq!(
        store.completed_steps(p).await.unwrap(),
        2,
        "a step completed twice counts once"
    );
    assert!(
        store
            .interrupted_step(Uuid::new_v4())
            .await
            .unwrap()
            .is_none()
    );
}

fn component(bytes: &[u8], name: &str) -> NewComponent {
    NewComponent::new(
        bytes.to_vec(),
        name,
        "0.1.0",
        json!({"name": name, "params": [{"name": "energy", "kind": "float"}]}),
        OffsetDateTime::now_utc(),
    )
}

pub async fn components_by_digest<S: Backend>(store: &S) {
    let wasm = format!("\0asm component {}", Uuid::new_v4()).into_bytes();
    let c = component(&wasm, "energy-scan");
    assert!(store.component(&c.digest).await.unwrap().is_none());
    assert!(store.put_component(&c).await.unwrap());
    assert!(!store.put_component(&c).await.unwrap(), "insert-if-absent");

    let got = store.component(&c.digest).await.unwrap().unwrap();
    assert_eq!(got.wasm, wasm);
    assert_eq!(got.meta.name, "energy-scan");
    assert_eq!(got.meta.info, c.info);
    assert_eq!(got.meta.size, wasm.len() as u64);
    assert!(
        store
            .list_components()
            .await
            .unwrap()
            .iter()
            .any(|m| m.digest == c.digest && m.size == wasm.len() as u64)
    );

    let mut forged = component(b"other bytes", "forged");
    forged.digest = c.digest.clone();
    assert!(matches!(
        store.put_component(&forged).await,
        Err(StoreError::DigestMismatch { .. })
    ));
    let mut no_info = component(b"no info", "x");
    no_info.info = json!(["not", "an", "object"]);
    assert!(matches!(
        store.put_component(&no_info).await,
        Err(StoreError::InfoNotObject { .. })
    ));

    assert!(store.delete_component(&c.digest).await.unwrap());
    assert!(!store.delete_component(&c.digest).await.unwrap());
    assert!(store.component(&c.digest).await.unwrap().is_none());
}

pub async fn concurrent_journal_writers_keep_sequences_dense<S: Backend>(store: &S) {
    let p = Uuid::new_v4();
    let mut tasks = Vec::new();
    for writer in 0..8u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10u32 {
                let e = entry(p, writer * 10 + i, StepKind::Setpoint, StepResult::Ok);
                if i % 3 == 0 {
                    // Mix batches with single entries.
                    let e2 = entry(p, writer * 10 + i, StepKind::Check, StepResult::Ok);
                    store.append_journal(&[e, e2]).await.unwrap();
                } else {
                    store.append_journal(&[e]).await.unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let journal = store.journal(p, JournalPage::first(1000)).await.unwrap();
    let expected = 8 * (10 + 4);
    assert_eq!(journal.len(), expected);
    let seqs: Vec<u64> = journal.iter().map(|r| r.sequence).collect();
    assert_eq!(seqs, (1..=expected as u64).collect::<Vec<_>>());
    assert_eq!(store.completed_steps(p).await.unwrap(), 80);
}
