//! Fault injection by configuration: every mode produces its failure class, through the router
//! as the conductor will see it.

use std::time::Duration;

use baton_host::domain::{ActuationKind, Check, Criterion, FailureClass, Value};
use baton_host::ports::sim::faults::{FaultConfig, FaultMode};
use baton_host::ports::{Catalog, CatalogError, DevicePort, Quality, Router, SimConfig, SimPort};
use tokio::time::Instant;

use crate::{acquire, name, setpoint, setpoint_rb};

fn faulty(faults: &str, time_scale: f64) -> Router {
    let text = format!(
        "[[routes]]\nprefix = \"sim:\"\nport = \"sim\"\n\n[sim]\ntime_scale = {time_scale:?}\n\n{faults}"
    );
    Catalog::parse(&text).unwrap().router().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fault_hangs_then_times_out() {
    let router = faulty(
        "[[sim.faults]]\nchannel = \"sim:mx\"\nmode = \"timeout\"\nafter_ms = 2500\n",
        1.0,
    );
    let start = Instant::now();
    let (kind, r) = router.write(&setpoint("sim:mx", Value::Float(1.0))).await;
    assert_eq!(kind, ActuationKind::Simulated);
    assert_eq!(r.unwrap_err().class, FailureClass::Timeout);
    assert_eq!(start.elapsed(), Duration::from_millis(2500));
    let (_, r) = router.read("sim:mx").await;
    assert_eq!(r.unwrap_err().class, FailureClass::Timeout);
    // Other channels are unaffected.
    router
        .write(&setpoint("sim:my", Value::Float(1.0)))
        .await
        .1
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_hang_longer_than_the_router_deadline_is_cut_off_by_the_router() {
    let router = faulty(
        "[timeouts]\nread_ms = 5000\n\n[[sim.faults]]\nchannel = \"sim:my.rbv\"\nmode = \"timeout\"\nafter_ms = 3600000\n",
        1.0,
    );
    let start = Instant::now();
    let (_, r) = router.read("sim:my.rbv").await;
    let err = r.unwrap_err();
    assert_eq!(err.class, FailureClass::Timeout);
    assert!(err.message.contains("5000 ms"), "{err}");
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test]
async fn a_reject_writes_fault_rejects_writes_and_actions_but_not_reads() {
    let router = faulty(
        "[[sim.faults]]\nchannel = \"sim:my\"\nmode = \"reject_writes\"\n\n\
         [[sim.faults]]\nchannel = \"sim:det\"\nmode = \"reject_writes\"\n",
        0.0,
    );
    let (_, r) = router.write(&setpoint("sim:my", Value::Float(1.0))).await;
    assert_eq!(r.unwrap_err().class, FailureClass::Rejected);
    let (_, r) = router.act(&acquire(0.1)).await;
    assert_eq!(r.unwrap_err().class, FailureClass::Rejected);
    assert_eq!(
        router.read("sim:my").await.1.unwrap().value,
        Value::Float(0.0)
    );
    assert_eq!(router.read("sim:det").await.1.unwrap().value, Value::Int(0));
}

#[tokio::test]
async fn a_disconnect_fault_lets_n_operations_through_then_disconnects_for_good() {
    let router = faulty(
        "[[sim.faults]]\nchannel = \"sim:mono:energy\"\nmode = \"disconnect_after\"\nops = 2\n",
        0.0,
    );
    router
        .write(&setpoint("sim:mono:energy", Value::Float(9.0)))
        .await
        .1
        .unwrap();
    router.read("sim:mono:energy").await.1.unwrap();
    for _ in 0..3 {
        let (kind, r) = router.read("sim:mono:energy").await;
        assert_eq!(kind, ActuationKind::Simulated);
        assert_eq!(r.unwrap_err().class, FailureClass::Disconnected);
    }
    let (_, r) = router
        .write(&setpoint("sim:mono:energy", Value::Float(9.5)))
        .await;
    assert_eq!(r.unwrap_err().class, FailureClass::Disconnected);
    // The readback channel is a different channel: still connected.
    assert_eq!(
        router.read("sim:mono:energy.rbv").await.1.unwrap().value,
        Value::Float(9.0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_bad_quality_fault_reports_bad_readings_and_fails_checks_and_readbacks() {
    let router = faulty(
        "[[sim.faults]]\nchannel = \"sim:temp:rbv\"\nmode = \"bad_quality\"\n",
        1.0,
    );
    let reading = router.read("sim:temp:rbv").await.1.unwrap();
    assert_eq!(reading.quality, Quality::Bad);
    assert_eq!(reading.value, Value::Float(20.0));
    let criterion = Criterion::Within {
        target: 20.0,
        tolerance: 1.0,
    };
    assert_eq!(
        baton_host::ports::judge(&reading, &criterion)
            .unwrap_err()
            .class,
        FailureClass::BadQuality
    );

    let check = Check {
        channel: name("sim:temp:rbv"),
        criterion,
        timeout_ms: None,
    };
    let (_, outcome) = router.check(&check).await;
    assert_eq!(outcome.result.unwrap_err().class, FailureClass::BadQuality);
    assert_eq!(outcome.reading.unwrap().quality, Quality::Bad);

    let (_, r) = router
        .write(&setpoint_rb(
            "sim:temp:sp",
            25.0,
            "sim:temp:rbv",
            50.0,
            1000,
        ))
        .await;
    assert_eq!(r.unwrap_err().class, FailureClass::BadQuality);
}

#[tokio::test]
async fn faults_can_be_built_without_a_catalog() {
    let config = SimConfig {
        faults: vec![FaultConfig {
            channel: "sim:shutter".into(),
            mode: FaultMode::DisconnectAfter,
            ops: Some(0),
            after_ms: None,
        }],
        ..SimConfig::with_time_scale(0.0)
    };
    let port = SimPort::new(&config).unwrap();
    let err = port.read("sim:shutter").await.unwrap_err();
    assert_eq!(err.class, FailureClass::Disconnected);
}

fn invalid_field(text: &str) -> String {
    match Catalog::parse(text) {
        Err(CatalogError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn malformed_faults_are_refused_naming_the_field() {
    let cases = [
        (
            "[[sim.faults]]\nchannel = \"sim:mx\"\nmode = \"disconnect_after\"\n",
            "sim.faults[0].ops",
        ),
        (
            "[[sim.faults]]\nchannel = \"sim:mx\"\nmode = \"bad_quality\"\nops = 3\n",
            "sim.faults[0].ops",
        ),
        (
            "[[sim.faults]]\nchannel = \"sim:mx\"\nmode = \"reject_writes\"\nafter_ms = 3\n",
            "sim.faults[0].after_ms",
        ),
        (
            "[[sim.faults]]\nchannel = \"sim:mz\"\nmode = \"timeout\"\n",
            "sim.faults[0].channel",
        ),
    ];
    for (text, field) in cases {
        assert_eq!(invalid_field(text), field, "{text}");
    }
    match Catalog::parse("[[sim.faults]]\nchannel = \"sim:mx\"\nmode = \"explode\"\n") {
        Err(CatalogError::Syntax { line, message, .. }) => {
            assert_eq!(line, 3);
            assert!(message.contains("explode"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
