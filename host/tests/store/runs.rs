//! Conformance tests of the `run_summary` projection: live after every kind of run event,
//! rebuilt, listed with its filter and keyset paging, and equal to what `GET /runs` computed by
//! walking the global log before the projection existed. Runs are written as raw domain events
//! through `EventStore::append`, so these tests depend on the store and the domain only.

use baton_host::domain::ActuationKind;
use baton_host::domain::codec::DomainEvent;
use baton_host::domain::run::{
    self, RunAborted, RunCompleted, RunEvent, RunHeld, RunResumed, RunStarted, RunStatus,
    RunStopped, RunTruncated,
};
use baton_host::store::{
    AppendRequest, MAX_READ_ALL, NewEvent, RunPage, RunQuery, RunSummary, StoreError, run_stream,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::harness::Backend;

/// Times with nanoseconds: the projection must keep them (a fold does).
fn t(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
        + Duration::seconds(seconds)
        + Duration::nanoseconds(987_654_321)
}

async fn append_run<S: Backend>(store: &S, id: Uuid, expected: u64, events: &[RunEvent]) {
    let new: Vec<NewEvent> = events
        .iter()
        .map(|e| {
            let (event_type, payload) = e.to_stored().unwrap();
            NewEvent::new(event_type, payload)
        })
        .collect();
    store
        .append(AppendRequest::new(&run_stream(id), expected, &new))
        .await
        .unwrap();
}

fn started(id: Uuid, name: &str, at: i64) -> RunEvent {
    RunEvent::Started(RunStarted {
        id,
        name: name.into(),
        started_at: t(at),
    })
}

fn held(reason: &str, at: i64) -> RunEvent {
    RunEvent::Held(RunHeld {
        reason: reason.into(),
        at: t(at),
    })
}

/// The summary a fold of the run's stream gives: the projection must equal it.
async fn folded<S: Backend>(store: &S, id: Uuid) -> Option<RunSummary> {
    let recorded = store.read_stream(&run_stream(id)).await.unwrap();
    let first_position = recorded.first()?.position;
    let events: Vec<RunEvent> = recorded.iter().map(|e| e.decode().unwrap()).collect();
    let state = run::fold(&events).unwrap()?;
    Some(RunSummary::from_state(&state, first_position))
}

/// Runs in every status, some started in one append with later events.
async fn populate<S: Backend>(store: &S) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let scripts: Vec<Vec<RunEvent>> = vec![
        vec![],
        vec![held("beam dump", 1)],
        vec![
            held("beam dump", 1),
            RunEvent::Resumed(RunResumed { at: t(2) }),
        ],
        vec![RunEvent::Completed(RunCompleted {
            actuation_kind: ActuationKind::Physical,
            at: t(3),
        })],
        vec![RunEvent::Aborted(RunAborted {
            reason: "vacuum".into(),
            actuation_kind: ActuationKind::Simulated,
            at: t(4),
        })],
        vec![RunEvent::Stopped(RunStopped {
            reason: "enough".into(),
            actuation_kind: ActuationKind::None,
            at: t(5),
        })],
        vec![RunEvent::Truncated(RunTruncated {
            reason: "host died".into(),
            interrupted_at: t(5),
            at: t(6),
        })],
    ];
    for (n, script) in scripts.into_iter().enumerate() {
        let id = Uuid::new_v4();
        append_run(store, id, 0, &[started(id, &format!("run {n}"), 0)]).await;
        for (version, event) in (1..).zip(script) {
            append_run(store, id, version, &[event]).await;
        }
        ids.push(id);
    }
    // One run whose start and hold land in a single append.
    let id = Uuid::new_v4();
    append_run(
        store,
        id,
        0,
        &[started(id, "batched", 0), held("at once", 1)],
    )
    .await;
    ids.push(id);
    ids
}

async fn all_runs<S: Backend>(store: &S, query: RunQuery) -> Vec<RunSummary> {
    let mut items = Vec::new();
    let mut query = query;
    loop {
        let page = store.list_runs(&query).await.unwrap();
        items.extend(page.items);
        match page.next {
            Some(next) => query = query.after(next),
            None => return items,
        }
    }
}

pub async fn run_projection_follows_every_status<S: Backend>(store: &S) {
    let ids = populate(store).await;
    let mut statuses = Vec::new();
    for id in &ids {
        let row = store.run_summary(*id).await.unwrap().unwrap();
        assert_eq!(Some(row.clone()), folded(store, *id).await, "run {id}");
        statuses.push(row.status);
    }
    assert_eq!(
        statuses,
        [
            RunStatus::Running,
            RunStatus::Held,
            RunStatus::Running,
            RunStatus::Completed,
            RunStatus::Aborted,
            RunStatus::Stopped,
            RunStatus::Truncated,
            RunStatus::Held,
        ]
    );
    let held = store.run_summary(ids[1]).await.unwrap().unwrap();
    assert_eq!(held.status_reason.as_deref(), Some("beam dump"));
    assert_eq!((held.version, held.last_changed_at), (2, t(1)));
    assert_eq!(held.started_at, t(0), "nanoseconds are kept");
    let completed = store.run_summary(ids[3]).await.unwrap().unwrap();
    assert_eq!(completed.actuation_kind, ActuationKind::Physical);
    assert!(store.run_summary(Uuid::new_v4()).await.unwrap().is_none());
}

pub async fn run_projection_rebuild_equals_live<S: Backend>(store: &S) {
    populate(store).await;
    let live = all_runs(store, RunQuery::first(1000)).await;
    assert_eq!(live.len(), 8);
    let rebuilt = store.rebuild_run_summaries().await.unwrap();
    assert_eq!(rebuilt, live.len() as u64);
    assert_eq!(all_runs(store, RunQuery::first(1000)).await, live);
    // Rebuilding twice changes nothing either, and the procedure rebuild leaves runs alone.
    store.rebuild_run_summaries().await.unwrap();
    store.rebuild_summaries().await.unwrap();
    assert_eq!(all_runs(store, RunQuery::first(1000)).await, live);
}

/// `GET /runs` before the projection: walk the global log for run geneses, oldest first, fold
/// each, and cut a page at `limit` with the genesis position as the cursor.
async fn runs_by_walking_the_log<S: Backend>(store: &S, cursor: u64, limit: usize) -> RunPage {
    let mut after = cursor;
    let mut items = Vec::new();
    loop {
        let events = store.read_all(after, MAX_READ_ALL).await.unwrap();
        let Some(last) = events.last() else {
            return RunPage { items, next: None };
        };
        let last_position = last.position;
        for event in &events {
            if event.version != 1 || !event.stream.starts_with("run-") {
                continue;
            }
            let id = event.stream["run-".len()..].parse().unwrap();
            if let Some(run) = folded(store, id).await {
                items.push(run);
            }
            if items.len() == limit {
                return RunPage {
                    items,
                    next: Some(event.position),
                };
            }
        }
        after = last_position;
    }
}

pub async fn run_list_filters_and_keyset_paging<S: Backend>(store: &S) {
    let ids = populate(store).await;
    // Events of other streams between the runs do not disturb the listing.
    let other = NewEvent::new("Noted", serde_json::json!({}));
    store
        .append(AppendRequest::new("note-1", 0, &[other]))
        .await
        .unwrap();

    // Oldest first, every page exactly what walking the log gives, for every page size.
    let all = all_runs(store, RunQuery::first(1000)).await;
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    for limit in [1, 2, 3, 8, 9] {
        let mut cursor = 0;
        loop {
            let page = store
                .list_runs(&RunQuery::first(limit).after(cursor))
                .await
                .unwrap();
            assert_eq!(
                page,
                runs_by_walking_the_log(store, cursor, limit as usize).await,
                "limit {limit} after {cursor}"
            );
            match page.next {
                Some(next) => cursor = next,
                None => break,
            }
        }
    }
    // A full last page still says where to continue; the page after it is empty.
    let eight = store.list_runs(&RunQuery::first(8)).await.unwrap();
    let next = eight.next.unwrap();
    assert_eq!(next, all[7].started_position);
    let empty = store
        .list_runs(&RunQuery::first(8).after(next))
        .await
        .unwrap();
    assert_eq!((empty.items.len(), empty.next), (0, None));

    // The status filter, paged.
    let held = all_runs(store, RunQuery::first(1).with_status(RunStatus::Held)).await;
    assert_eq!(
        held.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[1], ids[7]]
    );
    let completed = store
        .list_runs(&RunQuery::first(10).with_status(RunStatus::Completed))
        .await
        .unwrap();
    assert_eq!(completed.items.len(), 1);
    assert_eq!(completed.next, None);

    for bad in [0, RunQuery::MAX_LIMIT + 1] {
        assert!(matches!(
            store.list_runs(&RunQuery::first(bad)).await,
            Err(StoreError::InvalidQuery(_))
        ));
    }
}
