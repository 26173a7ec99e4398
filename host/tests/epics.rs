//! The EPICS port against a real IOC (`tests/epics/ioc.py`, pythonSoftIOC), started by the
//! harness on a free loopback port; and (`e2e`) procedures conducted against it end to end
//! through the HTTP API. Needs `scripts/setup-epics.sh`; run with
//! `cargo test -p baton-host --features epics --test epics`.
//!
//! The IOC is shared by the tests of this binary, so each test uses its own records. Ordering
//! claims (a put did not complete before the record finished) are checked with counters and
//! flags the IOC keeps, never with wall-clock limits.

#![cfg(feature = "epics")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "epics/harness.rs"]
mod harness;

// The HTTP API test host, shared with the api binary.
#[allow(dead_code)]
#[path = "api/harness.rs"]
mod api_host;
#[path = "epics/e2e.rs"]
mod e2e;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use baton_host::domain::{
    Action, ActuationKind, Check, Criterion, FailureClass, Setpoint, Step, Value,
};
use baton_host::ports::epics::{EpicsConfig, EpicsPort};
use baton_host::ports::{Catalog, DevicePort, Quality, Reading, Router, RouterSettings, safety};

/// Generous: only a port that never answers would hit it.
const OUTER: Duration = Duration::from_secs(60);

fn port_with(config: EpicsConfig) -> EpicsPort {
    harness::env();
    EpicsPort::new(config).expect("a CA context")
}

fn port() -> EpicsPort {
    port_with(EpicsConfig::default())
}

fn setpoint(channel: &str, value: Value) -> Setpoint {
    Setpoint {
        channel: channel.into(),
        value,
        readback: None,
        tolerance: None,
        settle_ms: None,
    }
}

async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(OUTER, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} never answered: the port's own deadline is missing"))
}

async fn read(port: &EpicsPort, pv: &str) -> Reading {
    bounded(pv, port.read(pv))
        .await
        .unwrap_or_else(|e| panic!("read {pv}: {e}"))
}

async fn value(port: &EpicsPort, pv: &str) -> Value {
    read(port, pv).await.value
}

async fn int(port: &EpicsPort, pv: &str) -> i64 {
    match value(port, pv).await {
        Value::Int(i) => i,
        other => panic!("{pv}: expected an int, got {other:?}"),
    }
}

async fn float(port: &EpicsPort, pv: &str) -> f64 {
    match value(port, pv).await {
        Value::Float(x) => x,
        other => panic!("{pv}: expected a float, got {other:?}"),
    }
}

async fn write(port: &EpicsPort, pv: &str, v: Value) {
    bounded(pv, port.write(&setpoint(pv, v)))
        .await
        .unwrap_or_else(|e| panic!("write {pv}: {e}"));
}

/// Reads `pv` until it equals `want` (bounded by `OUTER`).
async fn await_value(port: &EpicsPort, pv: &str, want: Value) {
    bounded(pv, async {
        while value(port, pv).await != want {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

fn router_for(prefix: &str, port: Arc<dyn DevicePort>) -> Router {
    let mut router = Router::new(RouterSettings::default());
    router
        .add_route(prefix, ActuationKind::Physical, false, port)
        .unwrap();
    router
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_with_completion_waits_for_the_busy_detector() {
    let ioc = harness::shared();
    let port = Arc::new(port());
    let device = ioc.pv("DET");
    let counter = ioc.pv("DET:ArrayCounter_RBV");
    let busy = ioc.pv("DET:Busy");
    let before = int(&port, &counter).await;

    // Refused actions touch nothing.
    let unknown = Action {
        device: device.clone().into(),
        command: "explode".into(),
        args: vec![],
        timeout_ms: None,
    };
    let err = bounded("act", port.act(&unknown)).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Unrouted, "{err}");
    assert!(err.message.contains("acquire"), "names what exists: {err}");
    let bad_arg = Action {
        command: "acquire".into(),
        args: vec![("gain".into(), Value::Float(2.0))],
        ..unknown.clone()
    };
    let err = bounded("act", port.act(&bad_arg)).await.unwrap_err();
    assert_eq!(err.class, FailureClass::OutOfLimits, "{err}");
    assert!(err.message.contains("exposure_s"), "{err}");
    assert_eq!(
        int(&port, &counter).await,
        before,
        "a refused action acquired"
    );

    // A watcher on its own CA context records what it sees while the action is pending.
    let pending = Arc::new(AtomicBool::new(true));
    let busy_seen_while_pending = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (pending, seen, busy) = (
            pending.clone(),
            busy_seen_while_pending.clone(),
            busy.clone(),
        );
        let watcher_port = port_with(EpicsConfig::default());
        tokio::spawn(async move {
            while pending.load(Ordering::SeqCst) {
                let v = value(&watcher_port, &busy).await;
                if v == Value::Text("Busy".into()) && pending.load(Ordering::SeqCst) {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let acquire = Action {
        command: "acquire".into(),
        args: vec![("exposure_s".into(), Value::Float(0.5))],
        ..unknown.clone()
    };
    let answer = bounded("acquire", port.act(&acquire)).await.unwrap();
    pending.store(false, Ordering::SeqCst);
    // Read at once: had the put-callback completed before the record finished, the counter
    // (incremented at the end of the exposure) would still show `before`.
    assert_eq!(int(&port, &counter).await, before + 1);
    assert_eq!(int(&port, &ioc.pv("DET:Finished")).await, before + 1);
    assert_eq!(value(&port, &busy).await, Value::Text("Idle".into()));
    assert_eq!(float(&port, &ioc.pv("DET:AcquireTime")).await, 0.5);
    assert_eq!(
        answer.answer["results"]["array_counter"],
        serde_json::json!(before + 1)
    );
    assert_eq!(answer.answer["command"], "acquire");
    assert!(answer.answer.get("unread").is_none(), "{:?}", answer.answer);
    // The catalog's results, typed: the longin counter is an int.
    assert_eq!(
        answer.results,
        std::collections::BTreeMap::from([("array_counter".to_owned(), Value::Int(before + 1))])
    );
    watcher.await.unwrap();
    assert!(
        busy_seen_while_pending.load(Ordering::SeqCst) > 0,
        "the detector was never seen busy while the action was pending"
    );

    // A plain setpoint on the enum record is a put-callback too, by label.
    let acquire_pv = ioc.pv("DET:Acquire");
    write(&port, &ioc.pv("DET:AcquireTime"), Value::Float(0.2)).await;
    write(&port, &acquire_pv, Value::Text("Acquire".into())).await;
    assert_eq!(int(&port, &counter).await, before + 2);
    await_value(&port, &acquire_pv, Value::Text("Done".into())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_motor_write_completes_on_arrival_and_reads_stay_live_during_the_move() {
    let ioc = harness::shared();
    let port = Arc::new(port());
    let (val, rbv, dmov, moves) = (
        ioc.pv("M1:VAL"),
        ioc.pv("M1:RBV"),
        ioc.pv("M1:DMOV"),
        ioc.pv("M1:MOVES"),
    );
    let moves_before = int(&port, &moves).await;
    let start = float(&port, &rbv).await;
    let target = start + 2.0;
    write(&port, &ioc.pv("M1:VELO"), Value::Float(1.0)).await;

    let mover = {
        let (port, val) = (port.clone(), val.clone());
        tokio::spawn(async move { port.write(&setpoint(&val, Value::Float(target))).await })
    };
    await_value(&port, &dmov, Value::Int(0)).await;
    // The setpoint's own PV reads while its put-callback is pending: reads use another channel.
    assert_eq!(value(&port, &val).await, Value::Float(target));
    let mid = float(&port, &rbv).await;
    assert!(
        !mover.is_finished(),
        "the two-second move was over before a read of its setpoint answered"
    );
    assert!(mid < target, "mid-move readback {mid} already at {target}");

    bounded("move", mover).await.unwrap().unwrap();
    // Completion means arrival: no settling needed.
    assert_eq!(int(&port, &dmov).await, 1);
    assert!((float(&port, &rbv).await - target).abs() < 1e-9);
    assert_eq!(int(&port, &moves).await, moves_before + 1);
}

#[tokio::test]
async fn the_router_waits_for_a_lagging_readback_and_times_out_when_it_does_not_settle() {
    let ioc = harness::shared();
    let port = Arc::new(port());
    let router = router_for(&format!("{}:", ioc.prefix), port.clone());
    let (val, rbv, lag) = (ioc.pv("M2:VAL"), ioc.pv("M2:RBV"), ioc.pv("M2:LAG"));

    // M2's put-callback completes at once; its readback follows 0.2 s later.
    let target = float(&port, &rbv).await + 1.25;
    let sp = Setpoint {
        readback: Some(rbv.clone().into()),
        tolerance: Some(1e-6),
        settle_ms: Some(10_000),
        ..setpoint(&val, Value::Float(target))
    };
    let (kind, result) = bounded("router write", router.write(&sp)).await;
    assert_eq!(kind, ActuationKind::Physical);
    // The readback the write settled on: good, within tolerance, and what the IOC still says.
    let settled = result.unwrap().expect("the settled readback");
    assert_eq!(settled.quality, Quality::Good);
    let Value::Float(settled) = settled.value else {
        panic!("{rbv} settled on {:?}", settled.value);
    };
    assert!((settled - target).abs() <= 1e-6, "{settled}");
    assert_eq!(float(&port, &rbv).await, settled);
    assert!((float(&port, &rbv).await - target).abs() <= 1e-6);

    // A readback that lags longer than the settle time is a Timeout.
    write(&port, &lag, Value::Float(5.0)).await;
    let late = Setpoint {
        settle_ms: Some(100),
        ..Setpoint {
            value: Value::Float(target + 1.0),
            ..sp.clone()
        }
    };
    let (kind, result) = bounded("router write", router.write(&late)).await;
    assert_eq!(kind, ActuationKind::Physical);
    let err = result.unwrap_err();
    assert_eq!(err.class, FailureClass::Timeout, "{err}");
    assert!(
        (float(&port, &rbv).await - target).abs() <= 1e-6,
        "the readback had not moved yet"
    );
}

#[tokio::test]
async fn each_dbr_type_maps_to_a_value_and_back() {
    let ioc = harness::shared();
    let port = port();
    let pv = |r: &str| ioc.pv(r);

    // Reads of the initial values.
    let expected = [
        ("T:DOUBLE", Value::Float(1.5)),
        ("T:LONG", Value::Int(-7)),
        ("T:STRING", Value::Text("hello".into())),
        ("T:ENUM", Value::Text("Mid".into())),
        ("T:BOOL", Value::Text("On".into())),
        ("T:WAVE", Value::Floats(vec![1.0, 2.0, 3.0])),
        ("T:WAVE_LONG", Value::Floats(vec![1.0, 2.0, 3.0, 4.0])),
    ];
    for (record, want) in expected {
        let reading = read(&port, &pv(record)).await;
        assert_eq!(reading.value, want, "{record}");
        assert_eq!(reading.quality, Quality::Good, "{record}");
    }

    // Writes round-trip through the IOC.
    let round_trips = [
        ("T:DOUBLE", Value::Float(-2.25), Value::Float(-2.25)),
        ("T:DOUBLE", Value::Int(3), Value::Float(3.0)),
        ("T:LONG", Value::Int(123_456), Value::Int(123_456)),
        ("T:LONG", Value::Float(-5.0), Value::Int(-5)),
        (
            "T:STRING",
            Value::Text("world".into()),
            Value::Text("world".into()),
        ),
        (
            "T:ENUM",
            Value::Text("High".into()),
            Value::Text("High".into()),
        ),
        ("T:ENUM", Value::Int(0), Value::Text("Low".into())),
        ("T:BOOL", Value::Flag(false), Value::Text("Off".into())),
        ("T:BOOL", Value::Text("On".into()), Value::Text("On".into())),
        (
            "T:WAVE",
            Value::Floats(vec![4.0, 5.5]),
            Value::Floats(vec![4.0, 5.5]),
        ),
        (
            "T:WAVE",
            Value::Floats((0..8).map(f64::from).collect()),
            Value::Floats((0..8).map(f64::from).collect()),
        ),
    ];
    for (record, written, want) in round_trips {
        write(&port, &pv(record), written.clone()).await;
        assert_eq!(
            value(&port, &pv(record)).await,
            want,
            "{record} <- {written:?}"
        );
    }
}

#[tokio::test]
async fn bad_writes_are_refused_as_configuration_and_change_nothing() {
    let ioc = harness::shared();
    let port = port();
    let cases = [
        ("BAD:DOUBLE", Value::Text("1.0".into()), "text value"),
        ("BAD:DOUBLE", Value::Flag(true), "flag value"),
        ("BAD:LONG", Value::Float(2.5), "not an integer"),
        ("BAD:LONG", Value::Int(1 << 40), "outside the field's range"),
        ("BAD:STRING", Value::Text("x".repeat(40)), "40 bytes"),
        ("BAD:WAVE", Value::Floats(vec![0.0; 9]), "9 elements"),
        ("BAD:WAVE", Value::Float(1.0), "float value"),
        ("BAD:ENUM", Value::Float(1.0), "float value"),
    ];
    for (record, v, why) in cases {
        let pv = ioc.pv(record);
        let before = value(&port, &pv).await;
        let err = bounded(record, port.write(&setpoint(&pv, v.clone())))
            .await
            .unwrap_err();
        assert_eq!(
            err.class,
            FailureClass::OutOfLimits,
            "{record} <- {v:?}: {err}"
        );
        assert!(err.class.is_configuration(), "try-conduct aborts on it");
        assert!(err.message.contains(why), "{record} <- {v:?}: {err}");
        assert!(err.message.contains(&pv), "names the PV: {err}");
        assert_eq!(value(&port, &pv).await, before, "{record} changed");
    }

    // A label the enum does not have is refused by the IOC itself, at run time.
    let pv = ioc.pv("BAD:ENUM");
    let err = bounded(
        "enum",
        port.write(&setpoint(&pv, Value::Text("Sideways".into()))),
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, FailureClass::Rejected, "{err}");
    assert_eq!(value(&port, &pv).await, Value::Text("Low".into()));
}

#[tokio::test]
async fn a_write_to_a_read_only_record_is_access_denied_and_a_disabled_one_rejected() {
    let ioc = harness::shared();
    let port = Arc::new(port());
    let ro = ioc.pv("RO:VAL");
    let err = bounded("ro", port.write(&setpoint(&ro, Value::Float(1.0))))
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::AccessDenied, "{err}");
    assert!(err.class.is_configuration(), "try-conduct aborts on it");
    assert_eq!(
        value(&port, &ro).await,
        Value::Float(42.0),
        "the value is untouched"
    );
    // Through the router too: the route is writable, the IOC is not.
    let router = router_for(&format!("{}:", ioc.prefix), port.clone());
    let (kind, result) = bounded("router", router.write(&setpoint(&ro, Value::Float(2.0)))).await;
    assert_eq!(kind, ActuationKind::Physical);
    assert_eq!(result.unwrap_err().class, FailureClass::AccessDenied);

    let disabled = ioc.pv("DISABLED:VAL");
    let err = bounded(
        "disabled",
        port.write(&setpoint(&disabled, Value::Float(1.0))),
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, FailureClass::Rejected, "{err}");
    assert_eq!(value(&port, &disabled).await, Value::Float(7.0));
}

#[tokio::test]
async fn alarm_severity_is_the_reading_quality_and_a_check_on_a_major_alarm_fails() {
    let ioc = harness::shared();
    let port = Arc::new(port());
    for (record, quality) in [
        ("ALARM:NONE", Quality::Good),
        ("ALARM:MINOR", Quality::Uncertain),
        ("ALARM:MAJOR", Quality::Bad),
        ("ALARM:INVALID", Quality::Bad),
    ] {
        let reading = read(&port, &ioc.pv(record)).await;
        assert_eq!(reading.value, Value::Float(99.0), "{record}");
        assert_eq!(reading.quality, quality, "{record}");
    }

    let router = router_for(&format!("{}:", ioc.prefix), port.clone());
    let check = |record: &str| Check {
        channel: ioc.pv(record).into(),
        criterion: Criterion::Between {
            low: 0.0,
            high: 1000.0,
        },
        timeout_ms: None,
    };
    let (kind, outcome) = bounded("check", router.check(&check("ALARM:NONE"))).await;
    assert_eq!(kind, ActuationKind::Physical);
    outcome.result.unwrap();
    for record in ["ALARM:MAJOR", "ALARM:MINOR", "ALARM:INVALID"] {
        let (_, outcome) = bounded("check", router.check(&check(record))).await;
        let err = outcome.result.unwrap_err();
        assert_eq!(err.class, FailureClass::BadQuality, "{record}: {err}");
        assert_eq!(outcome.reading.unwrap().value, Value::Float(99.0));
    }
}

#[tokio::test]
async fn a_missing_pv_times_out_within_the_connect_timeout() {
    let ioc = harness::shared();
    let port = port_with(EpicsConfig {
        connect_timeout_ms: 300,
        ..EpicsConfig::default()
    });
    let missing = ioc.pv("NO:SUCH:PV");
    let err = bounded("read", port.read(&missing)).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Timeout, "{err}");
    assert!(err.message.contains("300 ms"), "{err}");
    assert!(err.message.contains(&missing), "{err}");

    let err = bounded("write", port.write(&setpoint(&missing, Value::Float(1.0))))
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::Timeout, "{err}");

    let act = Action {
        device: ioc.pv("NODET").into(),
        command: "acquire".into(),
        args: vec![],
        timeout_ms: Some(1000),
    };
    let err = bounded("act", port.act(&act)).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Timeout, "{err}");
    // The port still serves what exists.
    assert_eq!(
        value(&port, &ioc.pv("ALARM:NONE")).await,
        Value::Float(99.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ioc_killed_mid_write_is_disconnected_and_a_restarted_one_serves_fresh_channels() {
    let mut rs = harness::RestartableIoc::start();
    let port = Arc::new(port_with(EpicsConfig {
        connect_timeout_ms: 3_000,
        ..EpicsConfig::default()
    }));
    let (val, rbv, dmov, velo, moves) = (
        rs.pv("M1:VAL"),
        rs.pv("M1:RBV"),
        rs.pv("M1:DMOV"),
        rs.pv("M1:VELO"),
        rs.pv("M1:MOVES"),
    );
    write(&port, &velo, Value::Float(1.0)).await;
    assert_eq!(int(&port, &moves).await, 0);

    // A ten-second move, killed once it is under way.
    let mover = {
        let (port, val) = (port.clone(), val.clone());
        tokio::spawn(async move { port.write(&setpoint(&val, Value::Float(10.0))).await })
    };
    await_value(&port, &dmov, Value::Int(0)).await;
    rs.kill();
    let err = bounded("killed move", mover).await.unwrap().unwrap_err();
    assert_eq!(err.class, FailureClass::Disconnected, "{err}");
    assert!(!err.class.is_configuration(), "try-conduct holds on it");

    // With the IOC gone, a PV that had a server is Disconnected, not a search Timeout.
    let err = bounded("read", port.read(&dmov)).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Disconnected, "{err}");
    let err = bounded("write", port.write(&setpoint(&velo, Value::Float(2.0))))
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::Disconnected, "{err}");

    // Restarted (fresh records): the same port serves again through fresh channels.
    rs.restart();
    write(&port, &velo, Value::Float(100.0)).await;
    write(&port, &val, Value::Float(0.5)).await;
    assert!((float(&port, &rbv).await - 0.5).abs() < 1e-9);
    assert_eq!(
        int(&port, &moves).await,
        1,
        "the restarted IOC counted one move"
    );
    assert_eq!(int(&port, &dmov).await, 1);
}

#[tokio::test]
async fn an_independent_ca_client_reads_back_what_the_port_wrote() {
    let ioc = harness::shared();
    let port = port();
    let (sp, rbv) = (ioc.pv("INDEP:SP"), ioc.pv("INDEP:RBV"));
    write(&port, &sp, Value::Float(3.75)).await;
    let caget = |pv: String| tokio::task::spawn_blocking(move || harness::caget(&pv));
    let seen: f64 = caget(rbv).await.unwrap().parse().unwrap();
    assert_eq!(seen, 3.75);
    let seen: f64 = caget(sp.clone()).await.unwrap().parse().unwrap();
    assert_eq!(seen, 3.75);
    write(
        &port,
        &ioc.pv("INDEP:TEXT"),
        Value::Text("written by baton".into()),
    )
    .await;
    assert_eq!(
        caget(ioc.pv("INDEP:TEXT")).await.unwrap(),
        "written by baton"
    );
}

#[tokio::test]
async fn the_catalog_routes_epics_channels_to_a_physical_port() {
    let ioc = harness::shared();
    assert_eq!(
        ioc.prefix, "BT",
        "the example catalog is written for prefix BT"
    );
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogs/epics-test-ioc.toml");
    let catalog = Catalog::load(&path).unwrap();
    assert_eq!(catalog.epics().connect_timeout_ms, 2000);
    let router = catalog.router().unwrap();

    let (sp, rbv) = (ioc.pv("CAT:SP"), ioc.pv("CAT:RBV"));
    let info = router.route_info(&sp).unwrap();
    assert_eq!((info.port, info.kind), ("epics", ActuationKind::Physical));
    let step = Setpoint {
        readback: Some(rbv.clone().into()),
        tolerance: Some(1e-9),
        ..setpoint(&sp, Value::Float(-4.5))
    };
    let (kind, result) = bounded("catalog write", router.write(&step)).await;
    assert_eq!(kind, ActuationKind::Physical);
    assert_eq!(result.unwrap(), Some(Reading::good(Value::Float(-4.5))));
    let (_, reading) = bounded("catalog read", router.read(&rbv)).await;
    assert_eq!(reading.unwrap(), Reading::good(Value::Float(-4.5)));

    // The read-only route refuses before the IOC is asked.
    let (kind, result) = bounded(
        "ro",
        router.write(&setpoint(&ioc.pv("RO:VAL"), Value::Float(1.0))),
    )
    .await;
    assert_eq!(kind, ActuationKind::None);
    assert_eq!(result.unwrap_err().class, FailureClass::AccessDenied);
    // Limits hold at dispatch.
    let (kind, result) = bounded(
        "limits",
        router.write(&setpoint(&ioc.pv("MX:VAL"), Value::Float(50.0))),
    )
    .await;
    assert_eq!(kind, ActuationKind::None);
    assert_eq!(result.unwrap_err().class, FailureClass::OutOfLimits);

    // The safety check knows which commands an epics route serves.
    let acquire = |command: &str| {
        Step::Action(Action {
            device: ioc.pv("DET").into(),
            command: command.into(),
            args: vec![("exposure_s".into(), Value::Float(0.01))],
            timeout_ms: None,
        })
    };
    assert!(safety::check(&catalog, &[acquire("acquire")]).is_ok());
    let violation = safety::check(&catalog, &[acquire("explode")]).unwrap_err();
    assert!(
        format!("{violation:?}").contains("explode"),
        "{violation:?}"
    );
}
