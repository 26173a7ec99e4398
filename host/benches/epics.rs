//! Per-step cost of the EPICS port against the real soft IOC (tests/epics/ioc.py), compared in one
//! run with a bare epics-ca loop over the same PVs: `BT:BENCH:SP` (a C `ao`, put with completion)
//! and `BT:BENCH:RBV` (the C `ai` its OUT link writes, read back).
//!
//! - `bare`: epics-ca put-callback on SP, then get of RBV (each await under a tokio timeout, as
//!   any caller of epics-ca must);
//! - `port`: `EpicsPort::write` then `EpicsPort::read`;
//! - `router`: `Router::write` of a setpoint with readback RBV and a tolerance: the path a
//!   conductor step takes (route, limits, deadline, put-callback, readback confirmed by a read).
//!
//! After the criterion groups, an interleaved run (rounds of bare and router steps, alternating)
//! prints the medians and the ratio router / bare. Needs `scripts/setup-epics.sh`. Run:
//! `cargo bench -p baton-host --features epics --bench epics`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/epics/harness.rs"]
mod harness;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_host::domain::{ActuationKind, Setpoint, Value};
use baton_host::ports::epics::{EpicsConfig, EpicsPort};
use baton_host::ports::{DevicePort, Router, RouterSettings};
use criterion::{Criterion, Throughput};
use epics_ca::{Context, ValueChannel};
use tokio::runtime::Runtime;
use tokio::time::timeout;

const TMO: Duration = Duration::from_secs(5);

struct Bare {
    sp: ValueChannel<f64>,
    rbv: ValueChannel<f64>,
    _context: Context,
}

impl Bare {
    async fn connect(sp: &str, rbv: &str) -> Bare {
        let context = Context::new().unwrap();
        let sp = std::ffi::CString::new(sp).unwrap();
        let rbv = std::ffi::CString::new(rbv).unwrap();
        let sp = timeout(TMO, context.connect::<f64>(&sp))
            .await
            .unwrap()
            .unwrap();
        let rbv = timeout(TMO, context.connect::<f64>(&rbv))
            .await
            .unwrap()
            .unwrap();
        Bare {
            sp,
            rbv,
            _context: context,
        }
    }

    async fn step(&mut self, x: f64) -> f64 {
        timeout(TMO, self.sp.put(x).unwrap())
            .await
            .unwrap()
            .unwrap();
        timeout(TMO, self.rbv.get()).await.unwrap().unwrap()
    }
}

struct Subjects {
    bare: Bare,
    port: Arc<EpicsPort>,
    router: Router,
    sp: String,
    rbv: String,
}

impl Subjects {
    async fn new() -> Subjects {
        let ioc = harness::shared();
        let (sp, rbv) = (ioc.pv("BENCH:SP"), ioc.pv("BENCH:RBV"));
        let bare = Bare::connect(&sp, &rbv).await;
        let port = Arc::new(EpicsPort::new(EpicsConfig::default()).unwrap());
        let mut router = Router::new(RouterSettings::default());
        router
            .add_route(
                &format!("{}:", ioc.prefix),
                ActuationKind::Physical,
                false,
                port.clone(),
            )
            .unwrap();
        Subjects {
            bare,
            port,
            router,
            sp,
            rbv,
        }
    }

    fn setpoint(&self, x: f64, readback: bool) -> Setpoint {
        Setpoint {
            channel: self.sp.as_str().into(),
            value: Value::Float(x),
            readback: readback.then(|| self.rbv.as_str().into()),
            tolerance: readback.then_some(1e-9),
            settle_ms: None,
        }
    }

    async fn port_step(&self, x: f64) -> Value {
        self.port.write(&self.setpoint(x, false)).await.unwrap();
        self.port.read(&self.rbv).await.unwrap().value
    }

    async fn router_step(&self, x: f64) {
        let (kind, result) = self.router.write(&self.setpoint(x, true)).await;
        assert_eq!(kind, ActuationKind::Physical);
        result.unwrap();
    }
}

/// A value that changes every step and stays a short decimal.
fn value(i: u64) -> f64 {
    (i % 1000) as f64 * 0.5
}

fn criterion_groups(c: &mut Criterion, rt: &Runtime, subjects: &mut Subjects) {
    let mut group = c.benchmark_group("epics_step");
    group.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function("bare", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(async { black_box(subjects.bare.step(value(i)).await) })
        })
    });
    let s = &*subjects;
    let mut i = 0u64;
    group.bench_function("port", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(async { black_box(s.port_step(value(i)).await) })
        })
    });
    let mut i = 0u64;
    group.bench_function("router", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(s.router_step(value(i)))
        })
    });
    group.finish();
}

fn median(xs: &mut [Duration]) -> Duration {
    xs.sort_unstable();
    xs[xs.len() / 2]
}

fn percentile(xs: &[Duration], p: f64) -> Duration {
    xs[((xs.len() - 1) as f64 * p) as usize]
}

/// Alternating rounds of bare and router steps, so drift on a shared machine hits both alike.
fn interleaved(rt: &Runtime, subjects: &mut Subjects, rounds: usize, per_round: usize) {
    let (mut bare, mut routed, mut ported) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0u64;
    rt.block_on(async {
        for _ in 0..rounds {
            for _ in 0..per_round {
                i += 1;
                let t = Instant::now();
                black_box(subjects.bare.step(value(i)).await);
                bare.push(t.elapsed());
            }
            for _ in 0..per_round {
                i += 1;
                let t = Instant::now();
                subjects.router_step(value(i)).await;
                routed.push(t.elapsed());
            }
            for _ in 0..per_round {
                i += 1;
                let t = Instant::now();
                black_box(subjects.port_step(value(i)).await);
                ported.push(t.elapsed());
            }
        }
    });
    let (b, r, p) = (median(&mut bare), median(&mut routed), median(&mut ported));
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "interleaved, {rounds} rounds x {per_round} steps each (median, p90):\n  \
         bare epics-ca put-callback + get: {:.1} us, {:.1} us\n  \
         EpicsPort write + read:           {:.1} us, {:.1} us\n  \
         Router write with readback:       {:.1} us, {:.1} us\n  \
         ratio port / bare:   {:.3}\n  \
         ratio router / bare: {:.3}",
        us(b),
        us(percentile(&bare, 0.9)),
        us(p),
        us(percentile(&ported, 0.9)),
        us(r),
        us(percentile(&routed, 0.9)),
        us(p) / us(b),
        us(r) / us(b),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut subjects = rt.block_on(Subjects::new());
    // Warm the port's channel cache and the IOC.
    for i in 0..50 {
        rt.block_on(subjects.router_step(value(i)));
        rt.block_on(subjects.port_step(value(i)));
    }
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    criterion_groups(&mut c, &rt, &mut subjects);
    c.final_summary();
    if benchmarking {
        interleaved(&rt, &mut subjects, 20, 250);
    } else {
        interleaved(&rt, &mut subjects, 1, 10);
    }
}
