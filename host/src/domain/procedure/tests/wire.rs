//! The wire form of every Procedure event, pinned: a change to any of these JSON shapes breaks
//! every stored stream, so it must show up here first.

use serde_json::json;
use strum::VariantArray;
use time::macros::datetime;

use super::*;
use crate::domain::Value;
use crate::domain::codec::{DomainEvent, EventCodecError};

const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const HASH: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn golden() -> Vec<(ProcedureEvent, &'static str, serde_json::Value)> {
    let t = datetime!(2025-03-01 12:00:00.25 UTC);
    let id = uuid::Uuid::from_u128(0x0195_5d2a_0000_7000_8000_0000_0000_0001);
    let run = uuid::Uuid::from_u128(0x0195_5d2a_0000_7000_8000_0000_0000_0002);
    vec![
        (
            ProcedureDefined {
                id,
                name: "energy scan".into(),
                component_digest: DIGEST.into(),
                params: vec![
                    ("start_ev".into(), Value::Float(7100.5)),
                    ("points".into(), Value::Int(3)),
                ],
                parent_run: Some(run),
                max_unconverged_iterations: Some(4),
                defined_at: t,
            }
            .into(),
            "ProcedureDefined",
            json!({
                "id": "01955d2a-0000-7000-8000-000000000001",
                "name": "energy scan",
                "component_digest": DIGEST,
                "params": [
                    ["start_ev", {"type": "float", "value": 7100.5}],
                    ["points", {"type": "int", "value": 3}]
                ],
                "parent_run": "01955d2a-0000-7000-8000-000000000002",
                "max_unconverged_iterations": 4,
                "defined_at": "2025-03-01T12:00:00.25Z"
            }),
        ),
        (
            ProcedureStarted { at: t }.into(),
            "ProcedureStarted",
            json!({"at": "2025-03-01T12:00:00.25Z"}),
        ),
        (
            ResolvedStepsRecorded {
                pin: Pin {
                    content_hash: HASH.into(),
                    step_count: 12,
                    component_digest: DIGEST.into(),
                    params: vec![("mode".into(), Value::Text("fly".into()))],
                    observed_reads: vec![("ring_current".into(), Value::Floats(vec![199.5]))],
                    limits_revision: "r7".into(),
                },
            }
            .into(),
            "ResolvedStepsRecorded",
            json!({"pin": {
                "content_hash": HASH,
                "step_count": 12,
                "component_digest": DIGEST,
                "params": [["mode", {"type": "text", "value": "fly"}]],
                "observed_reads": [["ring_current", {"type": "floats", "value": [199.5]}]],
                "limits_revision": "r7"
            }}),
        ),
        (
            IterationStarted { index: 1, at: t }.into(),
            "IterationStarted",
            json!({"index": 1, "at": "2025-03-01T12:00:00.25Z"}),
        ),
        (
            IterationEnded {
                index: 1,
                converged: Some(false),
                reason: Some("chi2 3.1".into()),
                at: t,
            }
            .into(),
            "IterationEnded",
            json!({"index": 1, "converged": false, "reason": "chi2 3.1", "at": "2025-03-01T12:00:00.25Z"}),
        ),
        (
            ProcedureHeld {
                cause: HoldCause::StepFault,
                reason: "step 4 timed out".into(),
                actuation_kind: ActuationKind::Simulated,
                at: t,
            }
            .into(),
            "ProcedureHeld",
            json!({
                "cause": "step-fault",
                "reason": "step 4 timed out",
                "actuation_kind": "simulated",
                "at": "2025-03-01T12:00:00.25Z"
            }),
        ),
        (
            ProcedureResumed {
                boundary: 4,
                cause: HoldCause::Operator,
                released: vec![HoldCause::Operator, HoldCause::HostRestart],
                at: t,
            }
            .into(),
            "ProcedureResumed",
            json!({
                "boundary": 4,
                "cause": "operator",
                "released": ["operator", "host-restart"],
                "at": "2025-03-01T12:00:00.25Z"
            }),
        ),
        (
            ProcedureCompleted {
                actuation_kind: ActuationKind::Hybrid,
                at: t,
            }
            .into(),
            "ProcedureCompleted",
            json!({"actuation_kind": "hybrid", "at": "2025-03-01T12:00:00.25Z"}),
        ),
        (
            ProcedureAborted {
                reason: "vacuum fault".into(),
                actuation_kind: ActuationKind::Physical,
                at: t,
            }
            .into(),
            "ProcedureAborted",
            json!({"reason": "vacuum fault", "actuation_kind": "physical", "at": "2025-03-01T12:00:00.25Z"}),
        ),
        (
            ProcedureTruncated {
                reason: "host died".into(),
                interrupted_at: datetime!(2025-03-01 11:59:00 +02:00),
                at: t,
            }
            .into(),
            "ProcedureTruncated",
            json!({
                "reason": "host died",
                "interrupted_at": "2025-03-01T11:59:00+02:00",
                "at": "2025-03-01T12:00:00.25Z"
            }),
        ),
    ]
}

#[test]
fn every_event_has_its_golden_wire_form() {
    let cases = golden();
    let names: Vec<&str> = cases.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(
        names,
        ProcedureEvent::EVENT_TYPES,
        "one golden case per event type"
    );
    for (event, name, payload) in cases {
        assert_eq!(event.event_type(), name);
        let (ty, stored) = event.to_stored().unwrap();
        assert_eq!(ty, name);
        assert_eq!(stored, payload, "{name}");
        assert_eq!(
            ProcedureEvent::from_stored(name, payload).unwrap(),
            event,
            "{name}"
        );
    }
}

#[test]
fn an_unknown_event_type_fails_naming_it() {
    let err = ProcedureEvent::from_stored("ProcedurePaused", json!({})).unwrap_err();
    assert!(matches!(&err, EventCodecError::UnknownType(t) if t == "ProcedurePaused"));
    assert_eq!(err.to_string(), "unknown event type \"ProcedurePaused\"");
    // Names are case-sensitive: a near miss is unknown too.
    assert!(
        ProcedureEvent::from_stored("procedurestarted", json!({"at": "2025-03-01T12:00:00Z"}))
            .is_err()
    );
}

#[test]
fn a_payload_that_is_not_an_object_is_refused() {
    // The doubly encoded payload: a JSON string holding JSON.
    let doubly = json!("{\"at\": \"2025-03-01T12:00:00Z\"}");
    let err = ProcedureEvent::from_stored("ProcedureStarted", doubly).unwrap_err();
    assert!(
        matches!(&err, EventCodecError::NotAnObject { event_type } if event_type == "ProcedureStarted")
    );
}

#[test]
fn a_malformed_payload_names_its_event_type() {
    let err = ProcedureEvent::from_stored(
        "ProcedureHeld",
        json!({"cause": "sleepy", "reason": "x", "at": "2025-03-01T12:00:00Z"}),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("payload of ProcedureHeld does not decode"),
        "{err}"
    );
    let err =
        ProcedureEvent::from_stored("IterationStarted", json!({"at": "2025-03-01T12:00:00Z"}))
            .unwrap_err();
    assert!(err.to_string().contains("index"), "{err}");
}

#[test]
fn old_payloads_without_optional_fields_still_decode() {
    let defined = ProcedureEvent::from_stored(
        "ProcedureDefined",
        json!({
            "id": "01955d2a-0000-7000-8000-000000000001",
            "name": "old",
            "component_digest": DIGEST,
            "params": [],
            "defined_at": "2025-03-01T12:00:00Z"
        }),
    )
    .unwrap();
    let ProcedureEvent::Defined(d) = &defined else {
        panic!("decoded as {defined:?}");
    };
    assert_eq!(d.parent_run, None);
    assert_eq!(d.max_unconverged_iterations, None);

    let ended = ProcedureEvent::from_stored(
        "IterationEnded",
        json!({"index": 2, "at": "2025-03-01T12:00:00Z"}),
    )
    .unwrap();
    assert!(matches!(
        ended,
        ProcedureEvent::IterationEnded(IterationEnded {
            converged: None,
            reason: None,
            ..
        })
    ));

    let held = ProcedureEvent::from_stored(
        "ProcedureHeld",
        json!({"cause": "operator", "reason": "r", "at": "2025-03-01T12:00:00Z"}),
    )
    .unwrap();
    assert!(matches!(
        held,
        ProcedureEvent::Held(ProcedureHeld {
            actuation_kind: ActuationKind::None,
            ..
        })
    ));

    let pinned = ProcedureEvent::from_stored(
        "ResolvedStepsRecorded",
        json!({"pin": {"content_hash": HASH, "step_count": 1, "component_digest": DIGEST, "params": [], "limits_revision": "r1"}}),
    )
    .unwrap();
    assert!(
        matches!(pinned, ProcedureEvent::ResolvedStepsRecorded(ResolvedStepsRecorded { pin }) if pin.observed_reads.is_empty())
    );
}

#[test]
fn payloads_from_a_newer_writer_with_extra_fields_still_decode() {
    let started = ProcedureEvent::from_stored(
        "ProcedureStarted",
        json!({"at": "2025-03-01T12:00:00Z", "lease": "host-b"}),
    )
    .unwrap();
    assert!(matches!(started, ProcedureEvent::Started(_)));
}

#[test]
fn the_pin_hash_covers_the_canonical_step_json() {
    use crate::domain::step::{Setpoint, Step};
    let steps = vec![Step::Setpoint(Setpoint {
        channel: "mono:energy".into(),
        value: Value::Float(7100.0),
        readback: None,
        tolerance: Some(0.5),
        settle_ms: None,
    })];
    let json = canonical_steps_json(&steps).unwrap();
    assert_eq!(
        String::from_utf8(json.clone()).unwrap(),
        r#"[{"kind":"setpoint","channel":"mono:energy","value":{"type":"float","value":7100.0},"tolerance":0.5}]"#
    );
    let pin = Pin::for_steps(&steps, DIGEST.into(), vec![], vec![], "r1".into()).unwrap();
    assert_eq!(pin.step_count, 1);
    assert_eq!(pin.content_hash, sha256_hex(&json));
    assert!(crate::domain::input::is_sha256_hex(&pin.content_hash));
    // sha256 of the empty list "[]", computed independently.
    assert_eq!(
        Pin::for_steps(&[], DIGEST.into(), vec![], vec![], "r1".into())
            .unwrap()
            .content_hash,
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
    );
}

proptest! {
    #[test]
    fn any_timestamp_round_trips(t in arb_time(), k in arb_kind()) {
        let e: ProcedureEvent = ProcedureCompleted { actuation_kind: k, at: t }.into();
        let (ty, payload) = e.to_stored().unwrap();
        prop_assert_eq!(ProcedureEvent::from_stored(ty, payload).unwrap(), e);
    }
}

#[test]
fn status_and_cause_names_parse_back_and_match_their_serde_form() {
    use crate::domain::run::RunStatus;
    for &s in ProcedureStatus::VARIANTS {
        assert_eq!(s.as_str().parse::<ProcedureStatus>().unwrap(), s);
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
    }
    for &s in RunStatus::VARIANTS {
        assert_eq!(s.as_str().parse::<RunStatus>().unwrap(), s);
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
    }
    for &c in HoldCause::VARIANTS {
        assert_eq!(c.as_str().parse::<HoldCause>().unwrap(), c);
    }
    let err = "Paused".parse::<ProcedureStatus>().unwrap_err();
    assert_eq!(err.to_string(), "unknown procedure status \"Paused\"");
    assert!(
        "running".parse::<ProcedureStatus>().is_err(),
        "names are exact"
    );
    assert!("step_fault".parse::<HoldCause>().is_err());
}
