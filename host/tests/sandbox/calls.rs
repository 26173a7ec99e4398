//! Resolving with hand-made components: the plan is converted and checked, refusals and traps
//! are typed, and the sandbox keeps working afterwards.

use baton_host::domain::{Criterion, Step, Value};
use baton_host::sandbox::{NoReads, ResolveError};

use super::shared;
use super::wat::{self, Behaviour, RawCriterion, RawStep, RawValue};

fn sample_plan() -> Behaviour {
    Behaviour::Plan {
        names: vec![
            "sim:mx".into(),
            "sim:mx.rbv".into(),
            "sim:det".into(),
            "acquire".into(),
            "exposure_s".into(),
        ],
        steps: vec![
            RawStep::Setpoint {
                channel: 0,
                value: RawValue::Float(1.5),
                readback: Some(1),
                tolerance: Some(0.01),
                settle_ms: Some(200),
            },
            RawStep::Check {
                channel: 1,
                criterion: RawCriterion::Within(1.5, 0.02),
                timeout_ms: Some(1000),
            },
            RawStep::Check {
                channel: 2,
                criterion: RawCriterion::Equals(RawValue::Text("idle".into())),
                timeout_ms: None,
            },
            RawStep::Action {
                device: 2,
                command: 3,
                args: vec![
                    (4, RawValue::Float(0.1)),
                    (0, RawValue::Floats(vec![1.0, 2.0])),
                ],
                timeout_ms: Some(5000),
            },
            RawStep::Setpoint {
                channel: 0,
                value: RawValue::Flag(true),
                readback: None,
                tolerance: None,
                settle_ms: None,
            },
            RawStep::Check {
                channel: 0,
                criterion: RawCriterion::Between(-1.0, 1.0),
                timeout_ms: None,
            },
            RawStep::Setpoint {
                channel: 0,
                value: RawValue::Int(-7),
                readback: None,
                tolerance: None,
                settle_ms: None,
            },
        ],
    }
}

#[tokio::test]
async fn a_plan_is_converted_step_by_step() {
    let c = shared()
        .load(&wat::procedure("sample", &sample_plan()))
        .await
        .unwrap();
    let r = shared().resolve(&c, &[], &NoReads).await.unwrap();
    assert_eq!(r.digest, c.digest());
    let json = serde_json::to_value(&r.steps).unwrap();
    let expected = serde_json::json!([
        {"kind": "setpoint", "channel": "sim:mx", "value": {"type": "float", "value": 1.5},
         "readback": "sim:mx.rbv", "tolerance": 0.01, "settle_ms": 200},
        {"kind": "check", "channel": "sim:mx.rbv",
         "criterion": {"type": "within", "target": 1.5, "tolerance": 0.02}, "timeout_ms": 1000},
        {"kind": "check", "channel": "sim:det",
         "criterion": {"type": "equals", "value": {"type": "text", "value": "idle"}}},
        {"kind": "action", "device": "sim:det", "command": "acquire",
         "args": [["exposure_s", {"type": "float", "value": 0.1}],
                  ["sim:mx", {"type": "floats", "value": [1.0, 2.0]}]], "timeout_ms": 5000},
        {"kind": "setpoint", "channel": "sim:mx", "value": {"type": "flag", "value": true}},
        {"kind": "check", "channel": "sim:mx", "criterion": {"type": "between", "low": -1.0, "high": 1.0}},
        {"kind": "setpoint", "channel": "sim:mx", "value": {"type": "int", "value": -7}},
    ]);
    assert_eq!(json, expected);
    assert!(r.fuel_used > 0);
    assert!(r.peak_memory_bytes >= 64 << 10);
    assert!(r.reads.is_empty());
    let Step::Check(check) = &r.steps[1] else {
        panic!()
    };
    assert_eq!(
        check.criterion,
        Criterion::Within {
            target: 1.5,
            tolerance: 0.02
        }
    );
}

#[tokio::test]
async fn guest_refusals_are_typed() {
    let c = shared()
        .load(&wat::procedure(
            "refuses",
            &Behaviour::InvalidParams("x must be > 0".into()),
        ))
        .await
        .unwrap();
    let err = shared()
        .resolve(&c, &[("x".into(), Value::Int(-1))], &NoReads)
        .await
        .unwrap_err();
    assert_eq!(
        err.error,
        ResolveError::InvalidParams("x must be > 0".into())
    );
    assert_eq!(err.digest, c.digest());

    let c = shared()
        .load(&wat::procedure(
            "fails",
            &Behaviour::Failed("beam is down".into()),
        ))
        .await
        .unwrap();
    let err = shared().resolve(&c, &[], &NoReads).await.unwrap_err();
    assert_eq!(err.error, ResolveError::Failed("beam is down".into()));
    assert!(err.error.is_guest_refusal());
}

async fn invalid_output(name: &str, names: &[&str], step: RawStep) -> ResolveError {
    let b = Behaviour::Plan {
        names: names.iter().map(|s| s.to_string()).collect(),
        steps: vec![step],
    };
    let c = shared().load(&wat::procedure(name, &b)).await.unwrap();
    shared().resolve(&c, &[], &NoReads).await.unwrap_err().error
}

#[tokio::test]
async fn a_name_index_out_of_range_is_invalid_output() {
    let err = invalid_output(
        "bad-index",
        &["sim:mx"],
        RawStep::Setpoint {
            channel: 9,
            value: RawValue::Float(1.0),
            readback: None,
            tolerance: None,
            settle_ms: None,
        },
    )
    .await;
    assert_eq!(err.kind(), "invalid_output", "{err}");
    assert!(err.to_string().contains("name 9"), "{err}");
}

#[tokio::test]
async fn non_finite_numbers_are_invalid_output() {
    let err = invalid_output(
        "nan",
        &["sim:mx"],
        RawStep::Setpoint {
            channel: 0,
            value: RawValue::Float(f64::NAN),
            readback: None,
            tolerance: None,
            settle_ms: None,
        },
    )
    .await;
    assert_eq!(err.kind(), "invalid_output", "{err}");
    let err = invalid_output(
        "negative-tolerance",
        &["sim:mx"],
        RawStep::Check {
            channel: 0,
            criterion: RawCriterion::Within(1.0, -0.1),
            timeout_ms: None,
        },
    )
    .await;
    assert_eq!(err.kind(), "invalid_output", "{err}");
    assert!(err.to_string().contains("tolerance"), "{err}");
    let err = invalid_output(
        "inverted-range",
        &["sim:mx"],
        RawStep::Check {
            channel: 0,
            criterion: RawCriterion::Between(2.0, 1.0),
            timeout_ms: None,
        },
    )
    .await;
    assert_eq!(err.kind(), "invalid_output", "{err}");
}

#[tokio::test]
async fn wasm_traps_and_loops_are_stopped_and_the_sandbox_carries_on() {
    let c = shared()
        .load(&wat::procedure("traps", &Behaviour::Trap))
        .await
        .unwrap();
    let err = shared().resolve(&c, &[], &NoReads).await.unwrap_err();
    assert_eq!(err.kind(), "trap", "{err}");
    assert!(err.to_string().contains("unreachable"), "{err}");

    let c = shared()
        .load(&wat::procedure("loops", &Behaviour::Loop))
        .await
        .unwrap();
    let err = shared().resolve(&c, &[], &NoReads).await.unwrap_err();
    assert!(
        matches!(
            err.error,
            ResolveError::OutOfFuel { .. } | ResolveError::Deadline { .. }
        ),
        "{err:?}"
    );

    let good = shared()
        .load(&wat::procedure("sample", &sample_plan()))
        .await
        .unwrap();
    assert_eq!(
        shared()
            .resolve(&good, &[], &NoReads)
            .await
            .unwrap()
            .steps
            .len(),
        7
    );
}
