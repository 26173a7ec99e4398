//! Conductor benchmark: host overhead per step on the simulated beamline with zero simulated
//! latency, including the durable journal (SQLite file in WAL mode; PostgreSQL when
//! `BATON_TEST_POSTGRES_URL` is set). Each iteration defines a grid-scan of `STEPS` steps and
//! conducts it; the measured time covers resolve, safety check, start + pin, every step with its
//! journal writes, and complete. Criterion's throughput line reads as steps per second.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_host::app::execute;
use baton_host::conductor::{Conductor, Verb};
use baton_host::domain::Value;
use baton_host::domain::procedure::{DefineProcedure, Procedure, ProcedureCommand};
use baton_host::ports::Catalog;
use baton_host::sandbox::{Sandbox, SandboxConfig};
use baton_host::store::{NewComponent, PgOptions, PgStore, SqliteOptions, SqliteStore, Store};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use uuid::Uuid;

/// 50 × 50 points: a slow-axis setpoint per row, then a fast-axis setpoint and an acquisition
/// per point.
const POINTS: i64 = 50;
const STEPS: u64 = (POINTS + POINTS * POINTS * 2) as u64;

async fn prepare<S: Store>(store: S, sandbox: &Sandbox) -> (Conductor<S>, String) {
    let catalog = Catalog::builtin().unwrap().with_time_scale(0.0).unwrap();
    let router = catalog.router().unwrap();
    let wasm = baton_artifacts::grid_scan_bytes();
    let loaded = sandbox.load(wasm).await.unwrap();
    let info = serde_json::to_value(loaded.info()).unwrap();
    store
        .put_component(&NewComponent::new(
            wasm.to_vec(),
            "grid-scan",
            "bench",
            info,
            OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
    let conductor = Conductor::new(store, sandbox.clone(), Arc::new(router), Arc::new(catalog));
    (conductor, loaded.digest().to_owned())
}

async fn conduct_once<S: Store>(conductor: &Conductor<S>, digest: &str) -> Duration {
    let id = Uuid::now_v7();
    let define = ProcedureCommand::Define(DefineProcedure {
        id,
        name: "bench".into(),
        component_digest: digest.to_owned(),
        params: vec![
            ("x_points".into(), Value::Int(POINTS)),
            ("y_points".into(), Value::Int(POINTS)),
        ],
        parent_run: None,
        max_unconverged_iterations: None,
    });
    execute::<Procedure, _>(
        conductor.store(),
        id,
        &define,
        OffsetDateTime::now_utc(),
        &[],
    )
    .await
    .unwrap();
    let start = Instant::now();
    let outcome = conductor.conduct(id, Verb::Conduct).await.unwrap();
    let elapsed = start.elapsed();
    assert!(outcome.succeeded, "{outcome:?}");
    assert_eq!(
        (outcome.step_count, outcome.completed_steps),
        (STEPS, STEPS)
    );
    elapsed
}

fn bench<S: Store>(
    c: &mut Criterion,
    rt: &Runtime,
    name: &str,
    conductor: &Conductor<S>,
    digest: &str,
) {
    let mut group = c.benchmark_group("conduct");
    group.throughput(Throughput::Elements(STEPS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(format!("{name}/grid-scan {STEPS} steps"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += conduct_once(conductor, digest).await;
                }
                total
            })
        })
    });
    group.finish();
}

fn conductor_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = rt
        .block_on(SqliteStore::open(
            dir.path().join("bench.db"),
            SqliteOptions::default(),
        ))
        .unwrap();
    let (conductor, digest) = rt.block_on(prepare(sqlite, &sandbox));
    bench(c, &rt, "sqlite", &conductor, &digest);

    match std::env::var("BATON_TEST_POSTGRES_URL") {
        Ok(url) => {
            let schema = format!("baton_bench_{}", Uuid::new_v4().simple());
            let pg = rt
                .block_on(PgStore::connect(
                    &url,
                    PgOptions {
                        schema: Some(schema.clone()),
                        max_connections: 4,
                    },
                ))
                .unwrap();
            let (conductor, digest) = rt.block_on(prepare(pg.clone(), &sandbox));
            bench(c, &rt, "postgres", &conductor, &digest);
            rt.block_on(async {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA \"{schema}\" CASCADE"
                )))
                .execute(pg.pool())
                .await
                .unwrap();
            });
        }
        Err(_) => {
            eprintln!("BATON_TEST_POSTGRES_URL not set: PostgreSQL conduct benchmark skipped")
        }
    }
}

criterion_group!(benches, conductor_benches);
criterion_main!(benches);
