//! Sandbox benchmarks (criterion): cold compile of grid-scan, load from the on-disk cache after a
//! restart, instantiate from the in-memory cache, and a 100 000-step grid-scan resolve end to end
//! (instantiate, call, lift, convert to domain steps, drop). Run with
//! `cargo bench -p baton-host --bench sandbox` (a release build).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use baton_host::domain::Value;
use baton_host::sandbox::{Limits, LoadSource, NoReads, Sandbox, SandboxConfig};
use criterion::{Criterion, criterion_group, criterion_main};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sandbox(cache_dir: Option<PathBuf>) -> Sandbox {
    Sandbox::new(SandboxConfig {
        cache_dir,
        limits: Limits::default(),
    })
    .unwrap()
}

fn cache_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-bench-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn grid_100k() -> Vec<(String, Value)> {
    // 250 x 200 points: one X move and one acquisition per point, one Y move per row.
    vec![
        ("x_points".into(), Value::Int(250)),
        ("y_points".into(), Value::Int(200)),
    ]
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let wasm = baton_artifacts::grid_scan_bytes();

    // Cold: every iteration compiles (no disk cache, evicted from memory), then links and
    // describes.
    let cold = sandbox(None);
    c.bench_function("sandbox/load cold compile grid-scan", |b| {
        b.to_async(&rt).iter(|| async {
            let loaded = cold.load(wasm).await.unwrap();
            assert_eq!(loaded.source(), LoadSource::Compiled);
            cold.evict(loaded.digest());
        })
    });
    drop(cold);

    // Restart: the artifact is on disk; every iteration deserializes it (after checking its
    // checksum), links and describes.
    let dir = cache_dir();
    rt.block_on(sandbox(Some(dir.clone())).load(wasm)).unwrap();
    let warm = sandbox(Some(dir.clone()));
    c.bench_function("sandbox/load from disk cache grid-scan", |b| {
        b.to_async(&rt).iter(|| async {
            let loaded = warm.load(wasm).await.unwrap();
            assert_eq!(loaded.source(), LoadSource::DiskCache);
            warm.evict(loaded.digest());
        })
    });

    let loaded = rt.block_on(warm.load(wasm)).unwrap();
    c.bench_function("sandbox/instantiate from memory grid-scan", |b| {
        b.to_async(&rt)
            .iter(|| async { warm.instantiate(&loaded).await.unwrap() })
    });

    let params = grid_100k();
    let steps = rt
        .block_on(warm.resolve(&loaded, &params, &NoReads))
        .unwrap()
        .steps
        .len();
    assert_eq!(steps, 100_200);
    let mut group = c.benchmark_group("sandbox");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("resolve grid-scan 100 200 steps end to end", |b| {
        b.to_async(&rt).iter(|| async {
            let r = warm.resolve(&loaded, &params, &NoReads).await.unwrap();
            assert_eq!(r.steps.len(), 100_200);
            r
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(sandbox_benches, benches);
criterion_main!(sandbox_benches);
