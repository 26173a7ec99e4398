//! The simulated beamline: motors, the temperature lag, detectors, the shutter and time scale.

use std::collections::BTreeMap;
use std::time::Duration;

use baton_host::domain::{ActuationKind, FailureClass, Value};
use baton_host::ports::sim::detector::DetectorConfig;
use baton_host::ports::sim::motor::AxisConfig;
use baton_host::ports::sim::shutter::ShutterConfig;
use baton_host::ports::{DevicePort, Quality, Router, RouterSettings, SimConfig, SimPort};
use tokio::time::Instant;

use crate::{acquire, action, float, setpoint, setpoint_rb, sim};

async fn rbv(port: &SimPort, channel: &str) -> f64 {
    let reading = port.read(channel).await.unwrap();
    assert_eq!(reading.quality, Quality::Good);
    float(&reading.value)
}

#[tokio::test(start_paused = true)]
async fn a_motor_write_completes_when_it_arrives_at_its_velocity() {
    let port = sim(1.0);
    let start = Instant::now();
    port.write(&setpoint("sim:mx", Value::Float(4.0)))
        .await
        .unwrap();
    // 4 mm at 2 mm/s: 2 s of simulated (here: paused tokio) time.
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(rbv(&port, "sim:mx.rbv").await, 4.0);
    assert_eq!(rbv(&port, "sim:mx").await, 4.0);
}

#[tokio::test(start_paused = true)]
async fn the_readback_follows_the_travel() {
    let port = sim(1.0);
    let mover = {
        let port = port.clone();
        tokio::spawn(async move { port.write(&setpoint("sim:mx", Value::Float(-4.0))).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Half way: the setpoint says -4, the readback -2.
    assert!((rbv(&port, "sim:mx.rbv").await + 2.0).abs() < 1e-9);
    assert_eq!(rbv(&port, "sim:mx").await, -4.0);
    mover.await.unwrap().unwrap();
    assert_eq!(rbv(&port, "sim:mx.rbv").await, -4.0);
}

#[tokio::test(start_paused = true)]
async fn a_slower_axis_takes_longer_for_the_same_distance() {
    let config = SimConfig {
        axes: vec![
            AxisConfig::new("sim:fast", 0.0, 2.0, -10.0, 10.0),
            AxisConfig::new("sim:slow", 0.0, 0.5, -10.0, 10.0),
        ],
        detectors: vec![],
        ..SimConfig::with_time_scale(1.0)
    };
    let port = SimPort::new(&config).unwrap();
    let start = Instant::now();
    port.write(&setpoint("sim:fast", Value::Float(3.0)))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
    let start = Instant::now();
    port.write(&setpoint("sim:slow", Value::Float(3.0)))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn the_time_scale_stretches_and_zero_makes_moves_instant() {
    let half = sim(0.5);
    let start = Instant::now();
    half.write(&setpoint("sim:mx", Value::Float(4.0)))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1));

    let instant = sim(0.0);
    let start = Instant::now();
    instant
        .write(&setpoint("sim:mx", Value::Float(20.0)))
        .await
        .unwrap();
    instant.act(&acquire(100.0)).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(rbv(&instant, "sim:mx.rbv").await, 20.0);
}

#[tokio::test]
async fn soft_limits_refuse_a_target_and_leave_the_motor_where_it_was() {
    let port = sim(0.0);
    for target in [25.5, -30.0] {
        let err = port
            .write(&setpoint("sim:mx", Value::Float(target)))
            .await
            .unwrap_err();
        assert_eq!(err.class, FailureClass::OutOfLimits);
        assert!(err.message.contains("soft limit"), "{err}");
    }
    assert_eq!(rbv(&port, "sim:mx.rbv").await, 0.0);
    port.write(&setpoint("sim:mx", Value::Float(25.0)))
        .await
        .unwrap();
    assert_eq!(rbv(&port, "sim:mx.rbv").await, 25.0);
}

#[tokio::test]
async fn a_motor_takes_numbers_and_its_readback_is_read_only() {
    let port = sim(0.0);
    let err = port
        .write(&setpoint("sim:mx", Value::Text("left".into())))
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::OutOfLimits);
    let err = port
        .write(&setpoint("sim:mx.rbv", Value::Float(1.0)))
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::AccessDenied);
    port.write(&setpoint("sim:mx", Value::Int(3)))
        .await
        .unwrap();
    assert_eq!(rbv(&port, "sim:mx.rbv").await, 3.0);
}

#[tokio::test(start_paused = true)]
async fn a_redirected_move_supersedes_the_first() {
    let port = sim(1.0);
    let first = {
        let port = port.clone();
        tokio::spawn(async move { port.write(&setpoint("sim:my", Value::Float(10.0))).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    port.write(&setpoint("sim:my", Value::Float(0.0)))
        .await
        .unwrap();
    assert_eq!(
        first.await.unwrap().unwrap_err().class,
        FailureClass::Rejected
    );
    assert_eq!(rbv(&port, "sim:my.rbv").await, 0.0);
}

#[tokio::test(start_paused = true)]
async fn the_mono_and_undulator_are_plain_axes() {
    let port = sim(1.0);
    let start = Instant::now();
    port.write(&setpoint("sim:mono:energy", Value::Float(9.0)))
        .await
        .unwrap();
    // 1 keV at 0.5 keV/s.
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(rbv(&port, "sim:mono:energy.rbv").await, 9.0);
    port.write(&setpoint("sim:mono:bragg", Value::Float(12.4)))
        .await
        .unwrap();
    assert!((rbv(&port, "sim:mono:bragg.rbv").await - 12.4).abs() < 1e-9);
    port.write(&setpoint("sim:und:gap", Value::Float(12.0)))
        .await
        .unwrap();
    assert_eq!(rbv(&port, "sim:und:gap.rbv").await, 12.0);
}

#[tokio::test(start_paused = true)]
async fn the_temperature_readback_approaches_the_setpoint_with_its_time_constant() {
    let port = sim(1.0);
    assert_eq!(rbv(&port, "sim:temp:rbv").await, 20.0);
    port.write(&setpoint("sim:temp:sp", Value::Float(100.0)))
        .await
        .unwrap();
    assert_eq!(rbv(&port, "sim:temp:sp").await, 100.0);
    let mut previous = 20.0;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_secs(15)).await;
        let now = rbv(&port, "sim:temp:rbv").await;
        assert!(now > previous && now < 100.0, "{previous} -> {now}");
        previous = now;
    }
    // After 90 s = 3 tau: 100 - 80 e^-3.
    assert!(
        (previous - (100.0 - 80.0 * (-3.0f64).exp())).abs() < 1e-6,
        "{previous}"
    );
    // A new setpoint restarts the lag from where the temperature is.
    port.write(&setpoint("sim:temp:sp", Value::Float(0.0)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let expected = previous * (-1.0f64).exp();
    assert!((rbv(&port, "sim:temp:rbv").await - expected).abs() < 1e-6);
}

fn router_on(port: std::sync::Arc<SimPort>) -> Router {
    let mut router = Router::new(RouterSettings::default());
    router
        .add_route("sim:", ActuationKind::Simulated, false, port)
        .unwrap();
    router
}

#[tokio::test(start_paused = true)]
async fn a_setpoint_with_a_readback_succeeds_when_the_temperature_settles_in_time() {
    let router = router_on(sim(1.0));
    let start = Instant::now();
    // 20 -> 100 within 0.5 takes 30 ln(80 / 0.5) = 152.3 s.
    let (kind, r) = router
        .write(&setpoint_rb(
            "sim:temp:sp",
            100.0,
            "sim:temp:rbv",
            0.5,
            200_000,
        ))
        .await;
    // The settled readback the write was judged on: good, within the tolerance, and still
    // short of the target (the lag has not finished).
    let settled = r.unwrap().expect("the readback it settled on");
    assert_eq!(settled.quality, Quality::Good);
    let settled = float(&settled.value);
    assert!((99.5..100.0).contains(&settled), "{settled}");
    assert_eq!(kind, ActuationKind::Simulated);
    let waited = start.elapsed().as_secs_f64();
    assert!((152.0..153.0).contains(&waited), "{waited}");
    let reading = router.read("sim:temp:rbv").await.1.unwrap();
    assert!((float(&reading.value) - 100.0).abs() <= 0.5);
}

#[tokio::test(start_paused = true)]
async fn a_setpoint_with_a_readback_times_out_when_the_settle_time_is_too_short() {
    let router = router_on(sim(1.0));
    let start = Instant::now();
    let (kind, r) = router
        .write(&setpoint_rb(
            "sim:temp:sp",
            100.0,
            "sim:temp:rbv",
            0.5,
            60_000,
        ))
        .await;
    let err = r.unwrap_err();
    assert_eq!(err.class, FailureClass::Timeout);
    assert!(err.message.contains("sim:temp:rbv"), "{err}");
    assert_eq!(kind, ActuationKind::Simulated);
    assert_eq!(start.elapsed(), Duration::from_secs(60));
}

#[tokio::test]
async fn with_time_scale_zero_a_readback_settles_at_once_even_without_tolerance() {
    let router = router_on(sim(0.0));
    let mut sp = setpoint("sim:temp:sp", Value::Float(42.0));
    sp.readback = Some("sim:temp:rbv".into());
    let settled = router.write(&sp).await.1.unwrap();
    assert_eq!(settled.map(|r| r.value), Some(Value::Float(42.0)));
    assert_eq!(
        router.read("sim:temp:rbv").await.1.unwrap().value,
        Value::Float(42.0)
    );
}

#[tokio::test]
async fn temperature_setpoints_outside_the_controller_range_are_refused() {
    let port = sim(0.0);
    let err = port
        .write(&setpoint("sim:temp:sp", Value::Float(1500.0)))
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::OutOfLimits);
    assert_eq!(rbv(&port, "sim:temp:sp").await, 20.0);
}

async fn counts(port: &SimPort, exposure_s: f64) -> u64 {
    port.act(&acquire(exposure_s)).await.unwrap().answer["counts"]
        .as_u64()
        .unwrap()
}

fn seeded(seed: u64) -> SimPort {
    SimPort::new(&SimConfig {
        seed,
        ..SimConfig::with_time_scale(0.0)
    })
    .unwrap()
}

#[tokio::test]
async fn detector_counts_are_deterministic_for_a_seed_and_differ_across_seeds() {
    let (a, b, c) = (seeded(7), seeded(7), seeded(8));
    let mut series = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..5 {
        for (port, out) in [&a, &b, &c].iter().zip(series.iter_mut()) {
            out.push(counts(port, 0.1).await);
        }
    }
    assert_eq!(series[0], series[1]);
    assert_ne!(series[0], series[2]);
    // Frames differ from each other (noise), and the frame number is reported.
    assert!(series[0].windows(2).any(|w| w[0] != w[1]));
    let frame = a.act(&acquire(0.1)).await.unwrap();
    assert_eq!(frame.answer["frame"], 5);
    assert_eq!(frame.answer["detector"], "sim:det");
    // The results, typed: what the journal records as the acquisition's observation. The
    // answer is the same results as plain JSON.
    let counts = frame.answer["counts"].as_u64().unwrap();
    assert_eq!(
        frame.results,
        BTreeMap::from([
            ("counts".to_owned(), Value::Int(counts as i64)),
            ("detector".to_owned(), Value::Text("sim:det".into())),
            ("exposure_s".to_owned(), Value::Float(0.1)),
            ("frame".to_owned(), Value::Int(5)),
        ])
    );
    assert_eq!(
        frame.answer,
        serde_json::Value::Object(baton_host::ports::answer::plain_object(&frame.results))
    );
}

#[tokio::test]
async fn counts_follow_the_beam_profile_and_the_exposure() {
    let port = seeded(3);
    // At the default positions (mx 0, my 0, 10 keV above the Cu edge):
    // 1e5 * exp(-4 ln2 0.25^2) * exp(-4 ln2 0.2^2) * 2.5 + 20 counts/s.
    let ln2 = std::f64::consts::LN_2;
    let rate =
        1e5 * (-4.0 * ln2 * 0.0625).exp() * (-4.0 * ln2 * (0.3f64 / 1.5).powi(2)).exp() * 2.5
            + 20.0;
    let mean = rate * 0.1;
    let n = counts(&port, 0.1).await as f64;
    assert!((n - mean).abs() < 6.0 * mean.sqrt(), "{n} vs {mean}");
    let long = counts(&port, 1.0).await as f64;
    assert!(
        (long - 10.0 * mean).abs() < 6.0 * (10.0 * mean).sqrt(),
        "{long}"
    );

    // Far off the beam only the background remains (20 counts/s).
    port.write(&setpoint("sim:mx", Value::Float(20.0)))
        .await
        .unwrap();
    let off = counts(&port, 1.0).await as f64;
    assert!(off < 60.0, "{off}");
    // Below the edge the signal drops by the jump (factor 2.5 -> ~1).
    port.write(&setpoint("sim:mx", Value::Float(0.5)))
        .await
        .unwrap();
    port.write(&setpoint("sim:mono:energy", Value::Float(8.9)))
        .await
        .unwrap();
    let below = counts(&port, 1.0).await as f64;
    port.write(&setpoint("sim:mono:energy", Value::Float(9.1)))
        .await
        .unwrap();
    let above = counts(&port, 1.0).await as f64;
    assert!((above / below - 2.5).abs() < 0.05, "{above} / {below}");
    // Reading the detector gives the last frame's counts.
    assert_eq!(
        port.read("sim:det").await.unwrap().value,
        Value::Int(above as i64)
    );
}

#[tokio::test(start_paused = true)]
async fn an_exposure_takes_its_time() {
    let port = sim(1.0);
    let start = Instant::now();
    port.act(&acquire(2.5)).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(2500));
}

#[tokio::test]
async fn acquire_refuses_bad_arguments() {
    let port = sim(0.0);
    let cases = [
        action("sim:det", "acquire", &[]),
        action("sim:det", "acquire", &[("exposure_s", Value::Float(-1.0))]),
        action(
            "sim:det",
            "acquire",
            &[("exposure_s", Value::Float(f64::NAN))],
        ),
        action(
            "sim:det",
            "acquire",
            &[("exposure_s", Value::Text("1".into()))],
        ),
        action(
            "sim:det",
            "acquire",
            &[("exposure_s", Value::Float(1.0)), ("gain", Value::Int(2))],
        ),
    ];
    // Requests the device can never accept fail with a configuration class, so try-conduct
    // aborts instead of holding on them.
    for case in cases {
        let err = port.act(&case).await.unwrap_err();
        assert_eq!(err.class, FailureClass::OutOfLimits, "{case:?}: {err}");
    }
    for case in [
        action("sim:det", "trigger", &[]),
        action("sim:mx", "acquire", &[("exposure_s", Value::Float(1.0))]),
    ] {
        let err = port.act(&case).await.unwrap_err();
        assert_eq!(err.class, FailureClass::Unrouted, "{case:?}: {err}");
    }
    // None of them counted a frame.
    assert_eq!(port.act(&acquire(0.1)).await.unwrap().answer["frame"], 0);
}

#[tokio::test]
async fn the_shutter_opens_and_closes_by_setpoint_or_action() {
    let port = sim(0.0);
    let state = |r: baton_host::ports::Reading| r.value;
    assert_eq!(
        state(port.read("sim:shutter").await.unwrap()),
        Value::Text("closed".into())
    );
    port.write(&setpoint("sim:shutter", Value::Text("open".into())))
        .await
        .unwrap();
    assert_eq!(
        state(port.read("sim:shutter").await.unwrap()),
        Value::Text("open".into())
    );
    let r = port
        .act(&action("sim:shutter", "close", &[]))
        .await
        .unwrap();
    assert_eq!(r.answer["state"], "closed");
    assert_eq!(r.results["state"], Value::Text("closed".into()));
    assert_eq!(r.results["shutter"], Value::Text("sim:shutter".into()));
    port.write(&setpoint("sim:shutter", Value::Flag(true)))
        .await
        .unwrap();
    assert_eq!(
        state(port.read("sim:shutter").await.unwrap()),
        Value::Text("open".into())
    );
    port.write(&setpoint("sim:shutter", Value::Int(0)))
        .await
        .unwrap();
    assert_eq!(
        state(port.read("sim:shutter").await.unwrap()),
        Value::Text("closed".into())
    );
    for bad in [Value::Text("ajar".into()), Value::Int(2), Value::Float(1.0)] {
        let err = port.write(&setpoint("sim:shutter", bad)).await.unwrap_err();
        assert_eq!(err.class, FailureClass::OutOfLimits);
    }
    let err = port
        .act(&action(
            "sim:shutter",
            "open",
            &[("fast", Value::Flag(true))],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::OutOfLimits);
}

#[tokio::test]
async fn a_gated_detector_sees_only_background_while_its_shutter_is_closed() {
    let config = SimConfig {
        detectors: vec![DetectorConfig {
            gate: Some("sim:shutter".into()),
            ..baton_host::ports::sim::default_detectors().remove(0)
        }],
        shutters: vec![ShutterConfig {
            name: "sim:shutter".into(),
            open: false,
            move_s: 0.0,
        }],
        ..SimConfig::with_time_scale(0.0)
    };
    let port = SimPort::new(&config).unwrap();
    let closed = counts(&port, 1.0).await;
    assert!(closed < 60, "{closed}");
    port.act(&action("sim:shutter", "open", &[])).await.unwrap();
    let open = counts(&port, 1.0).await;
    assert!(open > 100_000, "{open}");
}
