//! Host-side cost of device dispatch on the simulated beamline with zero simulated latency:
//! what the router and the sim add to every step, and what the safety check costs per step.
//! Run: `cargo bench -p baton-host --bench ports`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use baton_host::domain::{Action, Criterion as Judge, Name, Setpoint, Step, Value};
use baton_host::ports::{Catalog, safety};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn setpoint(channel: &str, value: f64, readback: Option<&str>) -> Setpoint {
    Setpoint {
        channel: Name::from(channel),
        value: Value::Float(value),
        readback: readback.map(Name::from),
        tolerance: readback.map(|_| 0.001),
        settle_ms: None,
    }
}

fn dispatch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let catalog = Catalog::builtin().unwrap().with_time_scale(0.0).unwrap();
    let router = catalog.router().unwrap();
    let mut group = c.benchmark_group("router");
    group.throughput(Throughput::Elements(1));

    let plain = setpoint("sim:mx", 1.0, None);
    group.bench_function("write", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(router.write(&plain).await) })
    });
    let confirmed = setpoint("sim:my", 1.0, Some("sim:my.rbv"));
    group.bench_function("write_with_readback", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(router.write(&confirmed).await) })
    });
    group.bench_function("read", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(router.read("sim:mx.rbv").await) })
    });
    let acquire = Action {
        device: Name::from("sim:det"),
        command: Name::from("acquire"),
        args: vec![(Name::from("exposure_s"), Value::Float(0.1))],
        timeout_ms: None,
    };
    group.bench_function("acquire", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(router.act(&acquire).await) })
    });
    group.finish();
}

fn safety_check(c: &mut Criterion) {
    let catalog = Catalog::builtin().unwrap();
    let steps: Vec<Step> = (0..100_000)
        .map(|i| match i % 3 {
            0 => Step::Setpoint(setpoint("sim:mx", f64::from(i % 7), Some("sim:mx.rbv"))),
            1 => Step::Action(Action {
                device: Name::from("sim:det"),
                command: Name::from("acquire"),
                args: vec![(Name::from("exposure_s"), Value::Float(0.1))],
                timeout_ms: None,
            }),
            _ => Step::Check(baton_host::domain::Check {
                channel: Name::from("sim:temp:rbv"),
                criterion: Judge::Between {
                    low: 0.0,
                    high: 100.0,
                },
                timeout_ms: None,
            }),
        })
        .collect();
    let mut group = c.benchmark_group("safety");
    group.throughput(Throughput::Elements(steps.len() as u64));
    group.sample_size(20);
    group.bench_function("check_100k_steps", |b| {
        b.iter(|| black_box(safety::check(&catalog, &steps)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, dispatch, safety_check);
criterion_main!(benches);
