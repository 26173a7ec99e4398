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
