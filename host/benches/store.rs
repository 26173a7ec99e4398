//! Store benchmarks: appends per second (one event; one journal entry; a batch of journal
//! entries) on SQLite and PostgreSQL, the time to fold a procedure stream, and the time to list
//! 10 000 procedures by status. PostgreSQL runs when `BATON_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use baton_host::app::{execute, load};
use baton_host::domain::procedure::{
    DefineProcedure, Pin, Procedure, ProcedureCommand, ProcedureStatus,
};
use baton_host::domain::{ActuationKind, HoldCause, Setpoint, Step, StepKind, Value};
use baton_host::store::{
    AppendRequest, EventStore, JournalEntry, NewComponent, NewEvent, PgOptions, PgStore,
    PinnedSteps, SqliteOptions, SqliteStore, StepJournal, StepResult, Store, SummaryQuery,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use uuid::Uuid;

struct Backends {
    sqlite: SqliteStore,
    postgres: Option<PgStore>,
    /// (url, schema) to drop when done.
    pg_schema: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Backends {
    fn drop(&mut self) {
        let Some((url, schema)) = self.pg_schema.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use sqlx::{Connection, Executor};
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA \"{schema}\" CASCADE"
                )))
                .await
                .unwrap();
            })
        })
        .join();
    }
}

fn backends(rt: &Runtime) -> Backends {
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("bench.db"), SqliteOptions::default())
            .await
            .unwrap();
        let (postgres, pg_schema) = match std::env::var("BATON_TEST_POSTGRES_URL") {
            Ok(url) => {
                let schema = format!("baton_bench_{}", Uuid::new_v4().simple());
                let store = PgStore::connect(
                    &url,
                    PgOptions {
                        schema: Some(schema.clone()),
                        max_connections: 4,
                    },
                )
                .await
                .unwrap();
                (Some(store), Some((url, schema)))
            }
            Err(_) => {
                eprintln!("BATON_TEST_POSTGRES_URL not set: PostgreSQL benchmarks skipped");
                (None, None)
            }
        };
        Backends {
            sqlite,
            postgres,
            pg_schema,
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

fn steps() -> Vec<Step> {
    (0..10)
        .map(|i| {
            Step::Setpoint(Setpoint {
                channel: "mono:energy".into(),
                value: Value::Float(8.0 + f64::from(i) * 0.01),
                readback: None,
                tolerance: None,
                settle_ms: None,
            })
        })
        .collect()
}

/// Defines a procedure and, if `iterations` is given, starts it and runs that many
/// iterations with a hold and resume in each: a stream of 3 + 4 * iterations events.
async fn procedure<S: Store>(store: &S, digest: &str, iterations: Option<u32>) -> uuid::Uuid {
    let id = Uuid::new_v4();
    let now = OffsetDateTime::now_utc();
    let define = ProcedureCommand::Define(DefineProcedure {
        id,
        name: "bench".into(),
        component_digest: digest.to_owned(),
        params: vec![("energy".into(), Value::Float(8.0))],
        parent_run: None,
        max_unconverged_iterations: None,
    });
    execute::<Procedure, _>(store, id, &define, now, &[])
        .await
        .unwrap();
    let Some(iterations) = iterations else {
        return id;
    };
    let pinned = PinnedSteps::new(steps()).unwrap();
    let pin = Pin::for_steps(
        pinned.steps(),
        digest.to_owned(),
        vec![],
        vec![],
        "r1".into(),
    )
    .unwrap();
    execute::<Procedure, _>(store, id, &ProcedureCommand::Start { pin }, now, &[pinned])
        .await
        .unwrap();
    for index in 1..=iterations {
        let commands = [
            ProcedureCommand::StartIteration { index },
            ProcedureCommand::Hold {
                cause: HoldCause::Operator,
                reason: "look".into(),
                actuation_kind: ActuationKind::Simulated,
            },
            ProcedureCommand::Resume {
                cause: HoldCause::Operator,
                boundary: 0,
            },
            ProcedureCommand::EndIteration {
                index,
                converged: Some(false),
                reason: None,
            },
        ];
        for command in &commands {
            execute::<Procedure, _>(store, id, command, now, &[])
                .await
                .unwrap();
        }
    }
    id
}

async fn component<S: Store>(store: &S) -> String {
    let c = NewComponent::new(
        format!("\0asm {}", Uuid::new_v4()).into_bytes(),
        "bench",
        "1",
        json!({}),
        OffsetDateTime::now_utc(),
    );
    store.put_component(&c).await.unwrap();
    c.digest
}

fn fold(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let b = backends(&rt);
    let mut group = c.benchmark_group("load_procedure");
    for iterations in [0u32, 25, 250] {
        let events = 3 + 4 * iterations;
        let digest = rt.block_on(component(&b.sqlite));
        let id = rt.block_on(procedure(&b.sqlite, &digest, Some(iterations)));
        group.bench_function(format!("sqlite/{events}_events"), |bench| {
            bench
                .to_async(&rt)
                .iter(|| async { load::<Procedure, _>(&b.sqlite, id).await.unwrap() })
        });
        if let Some(pg) = &b.postgres {
            let digest = rt.block_on(component(pg));
            let id = rt.block_on(procedure(pg, &digest, Some(iterations)));
            group.bench_function(format!("postgres/{events}_events"), |bench| {
                bench
                    .to_async(&rt)
                    .iter(|| async { load::<Procedure, _>(pg, id).await.unwrap() })
            });
        }
    }
    group.finish();
}

/// 10 000 Running procedures among 2 000 Defined ones, listed by status in pages of 1 000.
async fn list_all_running<S: Store>(store: &S) -> usize {
    let mut query = SummaryQuery::first(1_000).with_status(ProcedureStatus::Running);
    let mut seen = 0;
    loop {
        let page = store.list_procedures(&query).await.unwrap();
        seen += page.items.len();
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => return seen,
        }
    }
}

async fn populate<S: Store>(store: &S) {
    let digest = component(store).await;
    for i in 0..12_000 {
        procedure(store, &digest, (i % 6 != 0).then_some(0)).await;
    }
    assert_eq!(list_all_running(store).await, 10_000);
}

fn list(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let b = backends(&rt);
    let mut group = c.benchmark_group("list_10000_by_status");
    group.sample_size(20);
    rt.block_on(populate(&b.sqlite));
    group.bench_function("sqlite", |bench| {
        bench
            .to_async(&rt)
            .iter(|| async { assert_eq!(list_all_running(&b.sqlite).await, 10_000) })
    });
    if let Some(pg) = &b.postgres {
        rt.block_on(populate(pg));
        group.bench_function("postgres", |bench| {
            bench
                .to_async(&rt)
                .iter(|| async { assert_eq!(list_all_running(pg).await, 10_000) })
        });
    }
    group.finish();
}

criterion_group!(benches, appends, fold, list);
criterion_main!(benches);
