//! `store::open`: the URLs the serve command accepts, and the ones it refuses.

use baton_host::store::{AnyStore, AppendRequest, EventStore, NewEvent, StoreError, open};
use serde_json::json;

#[tokio::test]
async fn opens_a_sqlite_file_and_keeps_its_events_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.db");
    let url = format!("sqlite://{}?mode=rwc&synchronous=full", path.display());
    let store = open(&url).await.unwrap();
    assert!(matches!(store, AnyStore::Sqlite(_)));
    store
        .append(AppendRequest::new(
            "s",
            0,
            &[NewEvent::new("Created", json!({"k": 1}))],
        ))
        .await
        .unwrap();
    store.close().await;

    // Reopening runs the (already applied) migrations again and finds the event.
    let store = open(&format!("sqlite://{}", path.display())).await.unwrap();
    let events = store.read_stream("s").await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload, json!({"k": 1}));
    assert!(path.exists());
}

#[tokio::test]
async fn opens_private_memory_databases() {
    let a = open("sqlite::memory:").await.unwrap();
    let b = open("sqlite::memory:").await.unwrap();
    a.append(AppendRequest::new(
        "s",
        0,
        &[NewEvent::new("Created", json!({}))],
    ))
    .await
    .unwrap();
    assert_eq!(a.stream_version("s").await.unwrap(), 1);
    assert_eq!(
        b.stream_version("s").await.unwrap(),
        0,
        "memory stores are private"
    );
}

#[tokio::test]
async fn refuses_bad_urls() {
    for url in [
        "mysql://localhost/db",
        "sqlite://x.db?synchronous=sometimes",
        "",
    ] {
        match open(url).await {
            Err(StoreError::InvalidUrl { url: u, .. }) => assert_eq!(u, url),
            other => panic!("{url:?} should be refused as an invalid url, got {other:?}"),
        }
    }
    // A file that does not exist without mode=rwc is an error, not a silent new database.
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}?mode=rw", dir.path().join("none.db").display());
    assert!(open(&missing).await.is_err());
    assert!(!dir.path().join("none.db").exists());
}

/// A database made by the migrations before the journal's CHECKs were rebuilt (000003) keeps its
/// journal through the upgrade: the rows, their dense sequence, and the rules (append-only,
/// valid kinds and classes).
#[tokio::test]
async fn an_older_database_keeps_its_journal_through_the_check_rebuild() {
    use baton_host::domain::StepKind;
    use baton_host::store::{
        JournalEntry, JournalPage, SqliteOptions, SqliteStore, StepJournal, StepResult,
    };
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
    use time::OffsetDateTime;
    use uuid::Uuid;

    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("migrations");
    std::fs::create_dir(&before).unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
    for file in std::fs::read_dir(&all).unwrap() {
        let file = file.unwrap();
        let name = file.file_name().into_string().unwrap();
        if name.as_str() < "20260101000003" {
            std::fs::copy(file.path(), before.join(&name)).unwrap();
        }
    }
    let path = dir.path().join("old.db");
    let pool = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::migrate::Migrator::new(before.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let procedure = Uuid::now_v7();
    for (sequence, result, class) in [(1, "in_flight", None), (2, "failed", Some("timeout"))] {
        sqlx::query(
            "INSERT INTO step_journal (id, procedure_id, sequence, step_index, step_kind, \
             result, failure_class, message, detail, at) \
             VALUES (?, ?, ?, 4, 'setpoint', ?, ?, NULL, '{\"channel\": \"m\"}', ?)",
        )
        .bind(Uuid::now_v7().hyphenated().to_string())
        .bind(procedure.hyphenated().to_string())
        .bind(sequence)
        .bind(result)
        .bind(class)
        .bind(OffsetDateTime::now_utc())
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let journal = store
        .journal(
            procedure,
            JournalPage {
                after: 0,
                limit: 10,
            },
        )
        .await
        .unwrap();
    let kept: Vec<_> = journal
        .iter()
        .map(|r| (r.sequence, r.entry.step_index, r.entry.result))
        .collect();
    assert_eq!(
        kept,
        [
            (1, 4, StepResult::InFlight),
            (
                2,
                4,
                StepResult::Failed(baton_host::domain::FailureClass::Timeout)
            )
        ]
    );
    assert_eq!(journal[0].entry.detail, json!({"channel": "m"}));

    // Appends continue the dense sequence; the rebuilt table keeps every rule.
    let next = JournalEntry::new(
        procedure,
        5,
        StepKind::Setpoint,
        StepResult::Ok,
        OffsetDateTime::now_utc(),
    );
    let appended = store.append_journal(&[next]).await.unwrap();
    assert_eq!(appended[0].sequence, 3);
    let update = sqlx::query("UPDATE step_journal SET message = 'x'")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = sqlx::query("DELETE FROM step_journal")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    for (kind, result, class) in [
        ("nope", "ok", None),
        ("setpoint", "maybe", None),
        ("setpoint", "failed", Some("gremlins")),
        ("setpoint", "ok", Some("timeout")),
    ] {
        let refused = sqlx::query(
            "INSERT INTO step_journal (id, procedure_id, sequence, step_index, step_kind, \
             result, failure_class, message, detail, at) \
             VALUES (?, ?, 99, 0, ?, ?, ?, NULL, '{}', '2026-11-24')",
        )
        .bind(Uuid::now_v7().hyphenated().to_string())
        .bind(procedure.hyphenated().to_string())
        .bind(kind)
        .bind(result)
        .bind(class)
        .execute(store.pool())
        .await
        .unwrap_err();
        assert!(
            refused.to_string().contains("CHECK constraint failed"),
            "{kind} {result} {class:?}: {refused}"
        );
    }
}

/// Appends three runs (the second held) as raw events, and returns their listing.
async fn write_runs<S: baton_host::store::Store>(store: &S) -> baton_host::store::RunPage {
    use baton_host::domain::codec::DomainEvent;
    use baton_host::domain::run::{RunEvent, RunHeld, RunStarted, RunStatus};
    use baton_host::store::{AppendRequest, NewEvent, RunQuery, run_stream};
    use time::OffsetDateTime;
    use uuid::Uuid;

    let mut ids = Vec::new();
    for n in 0..3 {
        let id = Uuid::new_v4();
        let mut events = vec![RunEvent::Started(RunStarted {
            id,
            name: format!("run {n}"),
            started_at: OffsetDateTime::now_utc(),
        })];
        if n == 1 {
            events.push(RunEvent::Held(RunHeld {
                reason: "beam dump".into(),
                at: OffsetDateTime::now_utc(),
            }));
        }
        let new: Vec<NewEvent> = events
            .iter()
            .map(|e| {
                let (event_type, payload) = e.to_stored().unwrap();
                NewEvent::new(event_type, payload)
            })
            .collect();
        store
            .append(AppendRequest::new(&run_stream(id), 0, &new))
            .await
            .unwrap();
        ids.push(id);
    }
    let live = store.list_runs(&RunQuery::first(10)).await.unwrap();
    assert_eq!(live.items.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    assert_eq!(live.items[1].status, RunStatus::Held);
    live
}

/// Puts a database back to its schema before the run projection: no run_summary, and its
/// migration (`version`) not applied.
const FORGET_RUN_PROJECTION: [&str; 2] = [
    "DROP TABLE run_summary",
    "DELETE FROM _sqlx_migrations WHERE version = $1",
];

/// A SQLite database from before the run projection (000004) gains the table with its runs:
/// the first open after the upgrade folds every run stream into it.
#[tokio::test]
async fn an_older_sqlite_database_gains_the_run_projection_with_its_runs() {
    use baton_host::store::{RunQuery, SqliteOptions, SqliteStore, SummaryStore};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let live = write_runs(&store).await;
    for statement in FORGET_RUN_PROJECTION {
        let query = sqlx::query(statement);
        let query = if statement.contains("$1") {
            query.bind(20260101000004_i64)
        } else {
            query
        };
        query.execute(store.pool()).await.unwrap();
    }
    store.close().await;

    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    assert_eq!(store.list_runs(&RunQuery::first(10)).await.unwrap(), live);
    // Opening again finds the rows there and keeps them.
    store.close().await;
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    assert_eq!(store.list_runs(&RunQuery::first(10)).await.unwrap(), live);
}

/// The same upgrade on PostgreSQL (its migration 000003).
#[tokio::test]
async fn an_older_postgres_database_gains_the_run_projection_with_its_runs() {
    use baton_host::store::{RunQuery, SummaryStore};

    let Some(db) = crate::harness::postgres().await else {
        return;
    };
    let live = write_runs(&db.store).await;
    for statement in FORGET_RUN_PROJECTION {
        let query = sqlx::query(statement);
        let query = if statement.contains("$1") {
            query.bind(20260101000003_i64)
        } else {
            query
        };
        query.execute(db.store.pool()).await.unwrap();
    }
    let reopened = db.reopen().await;
    assert_eq!(
        reopened.list_runs(&RunQuery::first(10)).await.unwrap(),
        live
    );
    reopened.close().await;
}
