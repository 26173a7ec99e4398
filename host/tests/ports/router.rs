//! The router: longest prefix, the kind of every dispatch, read-only routes, the write switch,
//! unrouted channels, limits at dispatch, readbacks on another route, deadlines and checks.

use std::sync::Arc;
use std::time::Duration;

use baton_host::domain::{ActuationKind, Check, Criterion, FailureClass, Value};
use baton_host::ports::sim::motor::AxisConfig;
use baton_host::ports::{
    ChannelLimits, DevicePort, Quality, RouteError, Router, RouterSettings, SimConfig, SimPort,
};

use crate::{acquire, float, name, setpoint, setpoint_rb, sim};

/// A router with the default beamline on `sim:` (simulated) and a second, differently placed
/// beamline serving `sim:mono:` declared physical, so the longest prefix is observable.
fn two_routes() -> Router {
    let mut router = Router::new(RouterSettings::default());
    router
        .add_route("sim:", ActuationKind::Simulated, false, sim(0.0))
        .unwrap();
    let other = SimConfig {
        axes: vec![AxisConfig::new("sim:mono:energy", 17.0, 1.0, 4.0, 30.0)],
        temperatures: vec![],
        detectors: vec![],
        shutters: vec![],
        ..SimConfig::with_time_scale(0.0)
    };
    router
        .add_route(
            "sim:mono:",
            ActuationKind::Physical,
            false,
            Arc::new(SimPort::new(&other).unwrap()),
        )
        .unwrap();
    router
}

#[tokio::test]
async fn longest_prefix_wins_and_every_dispatch_reports_its_kind() {
    let router = two_routes();
    assert_eq!(router.route_kind("sim:mx"), Some(ActuationKind::Simulated));
    assert_eq!(
        router.route_kind("sim:mono:energy"),
        Some(ActuationKind::Physical)
    );
    assert_eq!(router.route_kind("bl:mx"), None);
    assert_eq!(
        router.route_info("sim:mono:energy").unwrap().prefix,
        "sim:mono:"
    );
    assert_eq!(router.route_info("sim:mx").unwrap().port, "sim");

    // The second beamline starts its energy at 17 keV, the default one at 10 keV.
    let (kind, reading) = router.read("sim:mono:energy").await;
    assert_eq!(kind, ActuationKind::Physical);
    assert_eq!(reading.unwrap().value, Value::Float(17.0));
    let (kind, reading) = router.read("sim:mx").await;
    assert_eq!(kind, ActuationKind::Simulated);
    assert_eq!(reading.unwrap().value, Value::Float(0.0));

    let (kind, written) = router
        .write(&setpoint("sim:mono:energy", Value::Float(12.0)))
        .await;
    assert_eq!((kind, written), (ActuationKind::Physical, Ok(None)));
    let (kind, result) = router.act(&acquire(0.1)).await;
    assert_eq!(kind, ActuationKind::Simulated);
    let acquired = result.unwrap();
    assert!(acquired.answer["counts"].as_u64().is_some());
    // The same counts, typed: an int, as the journal's observation records them.
    assert_eq!(
        acquired.results.get("counts").and_then(Value::as_number),
        acquired.answer["counts"].as_f64()
    );
    assert!(matches!(acquired.results["counts"], Value::Int(_)));
}

#[tokio::test]
async fn an_unrouted_channel_is_refused_with_kind_none() {
    let router = two_routes();
    let (kind, r) = router.read("bl:mx").await;
    assert_eq!(kind, ActuationKind::None);
    assert_eq!(r.unwrap_err().class, FailureClass::Unrouted);
    let (kind, r) = router.write(&setpoint("bl:mx", Value::Float(1.0))).await;
    assert_eq!(kind, ActuationKind::None);
    assert_eq!(r.unwrap_err().class, FailureClass::Unrouted);
    let mut act = acquire(0.1);
    act.device = name("bl:det");
    let (kind, r) = router.act(&act).await;
    assert_eq!(kind, ActuationKind::None);
    assert_eq!(r.unwrap_err().class, FailureClass::Unrouted);
}

#[tokio::test]
async fn a_channel_the_port_lacks_is_unrouted_too() {
    let router = two_routes();
    let (kind, r) = router.read("sim:nothing").await;
    assert_eq!(kind, ActuationKind::Simulated);
    assert_eq!(r.unwrap_err().class, FailureClass::Unrouted);
}

#[tokio::test]
async fn a_read_only_route_refuses_writes_and_actions_but_reads() {
    let port = sim(0.0);
    let mut router = Router::new(RouterSettings::default());
    router
        .add_route("sim:", ActuationKind::Simulated, true, port.clone())
        .unwrap();
    let (kind, r) = router.write(&setpoint("sim:mx", Value::Float(3.0))).await;
    assert_eq!(kind, ActuationKind::None);
    let err = r.unwrap_err();
    assert_eq!(err.class, FailureClass::AccessDenied);
    assert!(err.message.contains("read-only route"), "{err}");
    let (kind, r) = router.act(&acquire(0.1)).await;
    assert_eq!(kind, ActuationKind::None);
    assert_eq!(r.unwrap_err().class, FailureClass::AccessDenied);
    // Nothing moved, and reads still work.
    let (kind, r) = router.read("sim:mx.rbv").await;
    assert_eq!(kind, ActuationKind::Simulated);
    assert_eq!(r.unwrap().value, Value::Float(0.0));
    assert_eq!(port.read("sim:det").await.unwrap().value, Value::Int(0));
}

#[tokio::test]
async fn the_write_switch_refuses_every_write_until_turned_back_on() {
    let router = two_routes();
    assert!(router.writes_enabled());
    router.set_writes_enabled(false);
    let (kind, r) = router.write(&setpoint("sim:mx", Value::Float(3.0))).await;
    assert_eq!(kind, ActuationKind::None);
    let err = r.unwrap_err();
    assert_eq!(err.class, FailureClass::AccessDenied);
    assert!(err.message.contains("writes are disabled"), "{err}");
    assert_eq!(
        router.act(&acquire(0.1)).await.1.unwrap_err().class,
        FailureClass::AccessDenied
    );
    assert_eq!(
        router.read("sim:mx.rbv").await.1.unwrap().value,
        Value::Float(0.0)
    );

    router.set_writes_enabled(true);
    let (_, r) = router.write(&setpoint("sim:mx", Value::Float(3.0))).await;
    r.unwrap();
    assert_eq!(
        router.read("sim:mx.rbv").await.1.unwrap().value,
        Value::Float(3.0)
    );
}

#[tokio::test]
async fn writes_disabled_in_the_settings_start_read_only() {
    let mut router = Router::new(RouterSettings {
        writes_enabled: false,
        ..RouterSettings::default()
    });
    router
        .add_route("sim:", ActuationKind::Simulated, false, sim(0.0))
        .unwrap();
    let (_, r) = router.write(&setpoint("sim:mx", Value::Float(1.0))).await;
    assert_eq!(r.unwrap_err().class, FailureClass::AccessDenied);
}

#[tokio::test]
async fn a_readback_on_another_route_joins_both_kinds() {
    // One beamline, its readback mounted on a second route declared physical.
    let port = sim(0.0);
    let mut router = Router::new(RouterSettings::default());
    router
        .add_route("sim:", ActuationKind::Simulated, false, port.clone())
        .unwrap();
    router
        .add_route("sim:mx.rbv", ActuationKind::Physical, true, port)
        .unwrap();
    let (kind, r) = router
        .write(&setpoint_rb("sim:mx", 2.5, "sim:mx.rbv", 0.001, 1000))
        .await;
    // The write hands back the settled readback it was judged on: good, within tolerance.
    let settled = r.unwrap().expect("a setpoint with a readback returns it");
    assert_eq!(settled.quality, Quality::Good);
    assert!((float(&settled.value) - 2.5).abs() <= 0.001, "{settled:?}");
    assert_eq!(kind, ActuationKind::Hybrid);
    // Without a readback only the write's route counts, and there is no readback to return.
    let (kind, r) = router.write(&setpoint("sim:mx", Value::Float(1.0))).await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(kind, ActuationKind::Simulated);
}

#[tokio::test]
async fn an_unrouted_readback_is_refused_before_the_write() {
    let router = two_routes();
    let (kind, r) = router
        .write(&setpoint_rb("sim:mx", 2.5, "bl:mx.rbv", 0.01, 1000))
        .await;
    assert_eq!(kind, ActuationKind::None);
    let err = r.unwrap_err();
    assert_eq!(err.class, FailureClass::Unrouted);
    assert!(err.message.contains("bl:mx.rbv"), "{err}");
    assert_eq!(
        router.read("sim:mx").await.1.unwrap().value,
        Value::Float(0.0)
    );
}

#[tokio::test]
async fn limits_are_enforced_at_dispatch_too() {
    let mut router = two_routes();
    router.set_limits(
        "sim:mx",
        ChannelLimits {
            min: Some(-1.0),
            max: Some(5.0),
            max_step: None,
        },
    );
    for bad in [
        Value::Float(5.5),
        Value::Float(-2.0),
        Value::Text("far".into()),
    ] {
        let (kind, r) = router.write(&setpoint("sim:mx", bad.clone())).await;
        assert_eq!(kind, ActuationKind::None);
        assert_eq!(r.unwrap_err().class, FailureClass::OutOfLimits, "{bad:?}");
    }
    // NaN breaks every channel's limits, limited or not.
    let (_, r) = router
        .write(&setpoint("sim:my", Value::Float(f64::NAN)))
        .await;
    assert_eq!(r.unwrap_err().class, FailureClass::OutOfLimits);
    assert_eq!(
        router.read("sim:mx").await.1.unwrap().value,
        Value::Float(0.0)
    );
    router
        .write(&setpoint("sim:mx", Value::Int(5)))
        .await
        .1
        .unwrap();
    assert_eq!(
        router.read("sim:mx.rbv").await.1.unwrap().value,
        Value::Float(5.0)
    );
}

#[test]
fn routes_must_be_distinct_and_simulated_or_physical() {
    let mut router = Router::new(RouterSettings::default());
    router
        .add_route("sim:", ActuationKind::Simulated, false, sim(0.0))
        .unwrap();
    assert_eq!(
        router
            .add_route("sim:", ActuationKind::Physical, false, sim(0.0))
            .unwrap_err(),
        RouteError::DuplicatePrefix("sim:".into())
    );
    for kind in [ActuationKind::None, ActuationKind::Hybrid] {
        assert!(matches!(
            router.add_route("x:", kind, false, sim(0.0)),
            Err(RouteError::BadKind { .. })
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn an_action_past_its_deadline_times_out() {
    let mut router = Router::new(RouterSettings::default());
    router
        .add_route("sim:", ActuationKind::Simulated, false, sim(1.0))
        .unwrap();
    let mut slow = acquire(5.0);
    slow.timeout_ms = Some(1000);
    let (kind, r) = router.act(&slow).await;
    assert_eq!(kind, ActuationKind::Simulated);
    let err = r.unwrap_err();
    assert_eq!(err.class, FailureClass::Timeout);
    assert!(err.message.contains("1000 ms"), "{err}");
    let mut quick = acquire(0.5);
    quick.timeout_ms = Some(1000);
    router.act(&quick).await.1.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_write_past_the_write_deadline_times_out() {
    let mut router = Router::new(RouterSettings {
        write_timeout: Duration::from_secs(3),
        ..RouterSettings::default()
    });
    router
        .add_route("sim:", ActuationKind::Simulated, false, sim(1.0))
        .unwrap();
    // 20 mm at 2 mm/s takes 10 s.
    let (_, r) = router.write(&setpoint("sim:mx", Value::Float(20.0))).await;
    assert_eq!(r.unwrap_err().class, FailureClass::Timeout);
    // 4 mm takes 2 s.
    router
        .write(&setpoint("sim:my", Value::Float(4.0)))
        .await
        .1
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_check_with_a_timeout_waits_for_the_criterion() {
    let mut router = Router::new(RouterSettings::default());
    router
        .add_route("sim:", ActuationKind::Simulated, false, sim(1.0))
        .unwrap();
    router
        .write(&setpoint("sim:temp:sp", Value::Float(100.0)))
        .await
        .1
        .unwrap();
    let above_90 = Criterion::Between {
        low: 90.0,
        high: 110.0,
    };

    // Read once: still near 20 degrees.
    let once = Check {
        channel: name("sim:temp:rbv"),
        criterion: above_90.clone(),
        timeout_ms: None,
    };
    let (kind, outcome) = router.check(&once).await;
    assert_eq!(kind, ActuationKind::Simulated);
    assert_eq!(
        outcome.result.unwrap_err().class,
        FailureClass::CriterionMismatch
    );
    assert!(float(&outcome.reading.unwrap().value) < 30.0);

    // 20 -> 100 with tau 30 s passes 90 after 30 ln 8 = 62.4 s.
    let too_short = Check {
        timeout_ms: Some(30_000),
        ..once.clone()
    };
    let (_, outcome) = router.check(&too_short).await;
    assert_eq!(
        outcome.result.unwrap_err().class,
        FailureClass::CriterionMismatch
    );
    let long_enough = Check {
        timeout_ms: Some(60_000),
        ..once
    };
    let (_, outcome) = router.check(&long_enough).await;
    outcome.result.unwrap();
    let reading = outcome.reading.unwrap();
    assert_eq!(reading.quality, Quality::Good);
    assert!(float(&reading.value) >= 90.0);
}

#[tokio::test]
async fn a_malformed_readback_tolerance_is_refused_before_the_write() {
    let router = two_routes();
    let (kind, r) = router
        .write(&setpoint_rb("sim:mx", 1.0, "sim:mx.rbv", -0.1, 1000))
        .await;
    assert_eq!(kind, ActuationKind::None);
    // A configuration class: a resume would fail the same way.
    assert_eq!(r.unwrap_err().class, FailureClass::OutOfLimits);
    assert_eq!(
        router.read("sim:mx").await.1.unwrap().value,
        Value::Float(0.0)
    );
}

#[tokio::test]
async fn dispatch_futures_are_send_so_a_conduct_can_run_on_any_worker() {
    fn send<T: Send>(t: T) -> T {
        t
    }
    let router = Arc::new(two_routes());
    let task = tokio::spawn({
        let router = Arc::clone(&router);
        async move {
            let sp = setpoint("sim:mx", Value::Float(1.0));
            let written = send(router.write(&sp)).await;
            let read = send(router.read("sim:mx.rbv")).await;
            let checked = send(router.check(&Check {
                channel: name("sim:mx.rbv"),
                criterion: Criterion::Within {
                    target: 1.0,
                    tolerance: 0.0,
                },
                timeout_ms: None,
            }))
            .await;
            let acted = send(router.act(&acquire(0.1))).await;
            (written.1, read.1, checked.1.result, acted.1.is_ok())
        }
    });
    let (written, read, checked, acted) = task.await.unwrap();
    written.unwrap();
    assert_eq!(read.unwrap().value, Value::Float(1.0));
    checked.unwrap();
    assert!(acted);
}
