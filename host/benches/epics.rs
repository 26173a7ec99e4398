//! Per-step cost of the EPICS port against the real soft IOC (tests/epics/ioc.py), compared in one
//! run with a bare epics-ca loop over the same PVs: `BT:BENCH:SP` (a C `ao`, put with completion)
//! and `BT:BENCH:RBV` (the C `ai` its OUT link writes, read back).
//!
//! - `bare`: epics-ca put-callback on SP, then get of RBV (each await under a tokio timeout, as
//!   any caller of epics-ca must);
//! - `port`: `EpicsPort::write` then `EpicsPort::read`;
//! - `router`: `Router::write` of a setpoint with readback RBV and a tolerance: the path a
//!   conductor step takes (route, limits, deadline, put-callback, readback confirmed by a read);
//! - `conduct`: whole conducts through the `Conductor` of a procedure (the script guest) of
//!   `CONDUCT_STEPS` such setpoints, on a durable SQLite file store (WAL, `synchronous=NORMAL`, as
//!   `baton serve` runs) and on an in-memory one; per step = the conduct's wall time / steps, so
//!   resolve, pin, the journal write per step and complete are all in it. The stores are
//!   observed as `baton serve` observes them, so the mean journal append is printed too.
//!
//! After the criterion groups, an interleaved run (rounds of bare, router, port and conduct
//! steps, alternating) prints the medians and the ratios to bare. Needs `scripts/setup-epics.sh`. Run:
//! `cargo bench -p baton-host --features epics --bench epics`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/epics/harness.rs"]
mod harness;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_host::api::metrics::Metrics;
use baton_host::api::observe::ObservedStore;
use baton_host::app::execute;
use baton_host::conductor::{Conductor, Verb};
use baton_host::domain::procedure::{DefineProcedure, Procedure, ProcedureCommand};
use baton_host::domain::{ActuationKind, Setpoint, Value};
use baton_host::ports::epics::{EpicsConfig, EpicsPort};
use baton_host::ports::{Catalog, DevicePort, Router, RouterSettings};
use baton_host::sandbox::{Sandbox, SandboxConfig};
use baton_host::store::{AnyStore, NewComponent, SqliteOptions, SqliteStore, Store};
use criterion::{Criterion, Throughput};
use epics_ca::{Context, ValueChannel};
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use tokio::time::timeout;
use uuid::Uuid;

/// Setpoints per measured conduct.
const CONDUCT_STEPS: u64 = 1000;

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

/// A conductor routing the IOC's prefix to the EPICS port, on `store`, with the script guest
/// registered.
struct Conducted<S: Store> {
    conductor: Conductor<S>,
    digest: String,
    script: String,
}

impl<S: Store> Conducted<S> {
    async fn new(store: S, sandbox: &Sandbox) -> Conducted<S> {
        let ioc = harness::shared();
        let catalog = Catalog::parse(&format!(
            "writes_enabled = true\nmax_steps = 100000\n\
             [[routes]]\nprefix = \"{}:\"\nport = \"epics\"\n",
            ioc.prefix
        ))
        .unwrap();
        let router = catalog.router().unwrap();
        let wasm = baton_artifacts::guest_script_bytes();
        let loaded = sandbox.load(wasm).await.unwrap();
        let info = serde_json::to_value(loaded.info()).unwrap();
        store
            .put_component(&NewComponent::new(
                wasm.to_vec(),
                "guest-script",
                "bench",
                info,
                OffsetDateTime::now_utc(),
            ))
            .await
            .unwrap();
        let (sp, rbv) = (ioc.pv("BENCH:SP"), ioc.pv("BENCH:RBV"));
        let script = (0..CONDUCT_STEPS)
            .map(|i| format!("set {sp} {} rb={rbv} tol=1e-9", value(i + 1)))
            .collect::<Vec<_>>()
            .join("; ");
        Conducted {
            conductor: Conductor::new(store, sandbox.clone(), Arc::new(router), Arc::new(catalog)),
            digest: loaded.digest().to_owned(),
            script,
        }
    }

    /// Defines and conducts one procedure; the conduct's wall time per step.
    async fn per_step(&self) -> Duration {
        let id = Uuid::now_v7();
        let define = ProcedureCommand::Define(DefineProcedure {
            id,
            name: "bench".into(),
            component_digest: self.digest.clone(),
            params: vec![("script".into(), Value::Text(self.script.clone()))],
            parent_run: None,
            max_unconverged_iterations: None,
        });
        let store = self.conductor.store();
        execute::<Procedure, _>(store, id, &define, OffsetDateTime::now_utc(), &[])
            .await
            .unwrap();
        let start = Instant::now();
        let outcome = self.conductor.conduct(id, Verb::Conduct).await.unwrap();
        let elapsed = start.elapsed();
        assert!(outcome.succeeded, "{outcome:?}");
        assert_eq!(outcome.completed_steps, CONDUCT_STEPS);
        elapsed / CONDUCT_STEPS as u32
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

/// The conductors the interleaved run measures, each on a store observed as `baton serve`
/// observes it, so the journal appends' share of a step can be read off its metrics.
struct Conductors {
    file: Conducted<ObservedStore>,
    file_metrics: Arc<Metrics>,
    memory: Conducted<ObservedStore>,
    memory_metrics: Arc<Metrics>,
    _dir: tempfile::TempDir,
}

impl Conductors {
    async fn new() -> Conductors {
        let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = SqliteStore::open(dir.path().join("bench.db"), SqliteOptions::default())
            .await
            .unwrap();
        let memory = SqliteStore::memory().await.unwrap();
        let (file_metrics, memory_metrics) = (
            Arc::new(Metrics::new().unwrap()),
            Arc::new(Metrics::new().unwrap()),
        );
        let observe = |store: SqliteStore, metrics: &Arc<Metrics>| {
            ObservedStore::new(AnyStore::Sqlite(store), metrics.clone())
        };
        Conductors {
            file: Conducted::new(observe(file, &file_metrics), &sandbox).await,
            memory: Conducted::new(observe(memory, &memory_metrics), &sandbox).await,
            file_metrics,
            memory_metrics,
            _dir: dir,
        }
    }
}

/// Mean journal append time, as the conductor waited for it, and the number of appends.
fn journal_appends(metrics: &Metrics) -> (Duration, u64) {
    let histogram = &metrics.journal_append_seconds;
    let count = histogram.get_sample_count();
    let mean = histogram.get_sample_sum() / count.max(1) as f64;
    (Duration::from_secs_f64(mean), count)
}

/// Alternating rounds of bare, router, port and conduct steps, so drift on a shared machine
/// hits them alike.
fn interleaved(
    rt: &Runtime,
    subjects: &mut Subjects,
    conductors: &Conductors,
    rounds: usize,
    per_round: usize,
) {
    let (mut bare, mut routed, mut ported) = (Vec::new(), Vec::new(), Vec::new());
    let (mut on_file, mut in_memory) = (Vec::new(), Vec::new());
    let mut i = 0u64;
    rt.block_on(async {
        for _ in 0..rounds {
            on_file.push(conductors.file.per_step().await);
            in_memory.push(conductors.memory.per_step().await);
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
    let (f, m) = (median(&mut on_file), median(&mut in_memory));
    let ((fj, fn_), (mj, mn)) = (
        journal_appends(&conductors.file_metrics),
        journal_appends(&conductors.memory_metrics),
    );
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "interleaved, {rounds} rounds x {per_round} steps each (median, p90):\n  \
         bare epics-ca put-callback + get: {:.1} us, {:.1} us\n  \
         EpicsPort write + read:           {:.1} us, {:.1} us\n  \
         Router write with readback:       {:.1} us, {:.1} us\n  \
         and {rounds} conducts of {CONDUCT_STEPS} such setpoints each (median per step, p90):\n  \
         Conductor, SQLite file (durable): {:.1} us, {:.1} us\n  \
         Conductor, SQLite in memory:      {:.1} us, {:.1} us\n  \
         ratio port / bare:                {:.3}\n  \
         ratio router / bare:              {:.3}\n  \
         ratio conduct (file) / bare:      {:.3}\n  \
         ratio conduct (memory) / bare:    {:.3}\n  \
         journal append, file (mean of {fn_}):     {:.1} us\n  \
         journal append, memory (mean of {mn}):   {:.1} us",
        us(b),
        us(percentile(&bare, 0.9)),
        us(p),
        us(percentile(&ported, 0.9)),
        us(r),
        us(percentile(&routed, 0.9)),
        us(f),
        us(percentile(&on_file, 0.9)),
        us(m),
        us(percentile(&in_memory, 0.9)),
        us(p) / us(b),
        us(r) / us(b),
        us(f) / us(b),
        us(m) / us(b),
        us(fj),
        us(mj),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut subjects = rt.block_on(Subjects::new());
    let conductors = rt.block_on(Conductors::new());
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
        interleaved(&rt, &mut subjects, &conductors, 20, 250);
    } else {
        interleaved(&rt, &mut subjects, &conductors, 1, 10);
    }
}
