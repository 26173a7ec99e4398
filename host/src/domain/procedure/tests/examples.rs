//! Worked examples: the claim algebra, the actuation lattice across hold and resume, iterations
//! and patience, the parent-Run guards, bad input, corrupt streams.

use strum::VariantArray;

use super::*;
use crate::domain::RefusalKind;
use crate::domain::codec::FoldError;
use crate::domain::input::InvalidInput;
use crate::domain::iteration::{IterationConflict, IterationIndexError};

const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn define(parent_run: Option<uuid::Uuid>, cap: Option<u32>) -> DefineProcedure {
    DefineProcedure {
        id: uuid::Uuid::from_u128(7),
        name: "  energy scan  ".into(),
        component_digest: DIGEST.into(),
        params: vec![("start_ev".into(), crate::domain::Value::Float(7100.0))],
        parent_run,
        max_unconverged_iterations: cap,
    }
}

fn pin(state: &ProcedureState, step_count: u64) -> Pin {
    Pin {
        content_hash: "a".repeat(64),
        step_count,
        component_digest: state.component_digest.clone(),
        params: state.params.clone(),
        observed_reads: vec![],
        limits_revision: "r1".into(),
    }
}

/// A Running procedure with 10 pinned steps.
fn running(cap: Option<u32>) -> Builder {
    let mut b = Builder::new();
    b.run(ProcedureCommand::Define(define(None, cap)));
    let p = pin(b.state(), 10);
    b.run(ProcedureCommand::Start { pin: p });
    b
}

fn hold(cause: HoldCause, kind: ActuationKind) -> ProcedureCommand {
    ProcedureCommand::Hold {
        cause,
        reason: format!("{cause} says stop"),
        actuation_kind: kind,
    }
}

fn resume(cause: HoldCause, boundary: u64) -> ProcedureCommand {
    ProcedureCommand::Resume { cause, boundary }
}

#[test]
fn define_trims_the_name_and_lands_in_defined() {
    let mut b = Builder::new();
    b.run(ProcedureCommand::Define(define(None, Some(2))));
    let s = b.state();
    assert_eq!(s.name, "energy scan");
    assert_eq!(s.status, ProcedureStatus::Defined);
    assert_eq!(s.iterations.patience_cap, Some(2));
    assert_eq!(s.version, 1);
    assert_eq!(s.pin, None);
}

#[test]
fn start_and_pin_are_one_command_with_two_events() {
    let mut b = Builder::new();
    b.run(ProcedureCommand::Define(define(None, None)));
    let p = pin(b.state(), 10);
    let events = b.run(ProcedureCommand::Start { pin: p.clone() });
    assert_eq!(events.len(), 2);
    assert!(matches!(events[0], ProcedureEvent::Started(_)));
    assert_eq!(events[1], ResolvedStepsRecorded { pin: p.clone() }.into());
    assert_eq!(b.state().status, ProcedureStatus::Running);
    assert_eq!(b.state().pin, Some(p));
    assert_eq!(b.state().version, 3);
}

#[test]
fn repeating_a_transition_is_refused() {
    let mut b = running(None);
    let p = pin(b.state(), 1);
    let err = b.try_run(ProcedureCommand::Start { pin: p }).unwrap_err();
    assert_eq!(err.to_string(), "cannot start procedure: status is Running");
    b.run(ProcedureCommand::Complete {
        actuation_kind: ActuationKind::Physical,
    });
    let err = b
        .try_run(ProcedureCommand::Complete {
            actuation_kind: ActuationKind::Physical,
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot complete procedure: status is Completed"
    );
    let err = b
        .try_run(hold(HoldCause::Operator, ActuationKind::None))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot hold procedure: status is Completed"
    );
    let err = b
        .try_run(ProcedureCommand::Define(define(None, None)))
        .unwrap_err();
    assert_eq!(
        err,
        ProcedureError::AlreadyExists {
            status: ProcedureStatus::Completed
        }
    );
}

#[test]
fn one_claim_per_cause() {
    let mut b = running(None);
    b.run(hold(HoldCause::Operator, ActuationKind::None));
    b.run(hold(HoldCause::StepFault, ActuationKind::None));
    let claims: Vec<_> = b.state().hold_claims.iter().collect();
    assert_eq!(claims, vec![HoldCause::Operator, HoldCause::StepFault]);
    let err = b
        .try_run(hold(HoldCause::Operator, ActuationKind::None))
        .unwrap_err();
    assert_eq!(
        err,
        ProcedureError::ClaimAlreadyHeld {
            cause: HoldCause::Operator,
            status: ProcedureStatus::Held
        }
    );
    assert_eq!(err.kind(), RefusalKind::Conflict);
    assert_eq!(b.state().version, 5, "a refusal appends nothing");
}

#[test]
fn a_step_fault_resume_while_the_operator_holds_is_refused_naming_operator() {
    let mut b = running(None);
    b.run(hold(HoldCause::Operator, ActuationKind::None));
    b.run(hold(HoldCause::StepFault, ActuationKind::None));
    let before = b.state().clone();
    let err = b.try_run(resume(HoldCause::StepFault, 0)).unwrap_err();
    assert_eq!(
        err,
        ProcedureError::HoldClaimsRemain {
            cause: HoldCause::StepFault,
            remaining: vec![HoldCause::Operator],
        }
    );
    assert!(
        err.to_string().contains("hold claims remain: operator"),
        "{err}"
    );
    assert!(err.to_string().contains("Held"), "{err}");
    assert_eq!(
        b.state(),
        &before,
        "the procedure stays held with both claims"
    );
}

#[test]
fn an_operator_resume_clears_every_claim() {
    let mut b = running(None);
    b.run(hold(HoldCause::StepFault, ActuationKind::None));
    b.run(hold(HoldCause::HostRestart, ActuationKind::None));
    b.run(hold(HoldCause::Operator, ActuationKind::None));
    let events = b.run(resume(HoldCause::Operator, 4));
    assert_eq!(
        events,
        vec![
            ProcedureResumed {
                boundary: 4,
                cause: HoldCause::Operator,
                released: vec![
                    HoldCause::Operator,
                    HoldCause::StepFault,
                    HoldCause::HostRestart
                ],
                at: b.now(),
            }
            .into()
        ]
    );
    assert_eq!(b.state().status, ProcedureStatus::Running);
    assert!(b.state().hold_claims.is_empty());
    assert_eq!(b.state().status_reason, None);
}

#[test]
fn a_machine_cause_releases_only_its_own_claim() {
    let mut b = running(None);
    b.run(hold(HoldCause::StepFault, ActuationKind::None));
    // Another machine cause cannot release it.
    let err = b.try_run(resume(HoldCause::HostRestart, 0)).unwrap_err();
    assert_eq!(
        err,
        ProcedureError::HoldClaimsRemain {
            cause: HoldCause::HostRestart,
            remaining: vec![HoldCause::StepFault],
        }
    );
    // Its own cause can, when it is the only claim.
    b.run(resume(HoldCause::StepFault, 0));
    assert_eq!(b.state().status, ProcedureStatus::Running);
    // With a second machine claim, its own resume is refused naming the other.
    b.run(hold(HoldCause::StepFault, ActuationKind::None));
    b.run(hold(HoldCause::HostRestart, ActuationKind::None));
    let err = b.try_run(resume(HoldCause::StepFault, 0)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("hold claims remain: host-restart"),
        "{err}"
    );
}

#[test]
fn hold_reason_is_kept_until_resume() {
    let mut b = running(None);
    b.run(ProcedureCommand::Hold {
        cause: HoldCause::Operator,
        reason: "  sample change  ".into(),
        actuation_kind: ActuationKind::None,
    });
    assert_eq!(b.state().status_reason.as_deref(), Some("sample change"));
    b.run(resume(HoldCause::Operator, 0));
    assert_eq!(b.state().status_reason, None);
    b.run(ProcedureCommand::Abort {
        reason: "vacuum fault".into(),
        actuation_kind: ActuationKind::None,
    });
    assert_eq!(b.state().status_reason.as_deref(), Some("vacuum fault"));
}

#[test]
fn a_simulated_prefix_with_a_physical_tail_ends_hybrid() {
    let mut b = running(None);
    let events = b.run(hold(HoldCause::StepFault, ActuationKind::Simulated));
    assert!(
        matches!(&events[0], ProcedureEvent::Held(h) if h.actuation_kind == ActuationKind::Simulated)
    );
    b.run(resume(HoldCause::Operator, 3));
    assert_eq!(
        b.state().actuation_kind,
        ActuationKind::Simulated,
        "resume carries the kind"
    );
    let events = b.run(ProcedureCommand::Complete {
        actuation_kind: ActuationKind::Physical,
    });
    assert!(
        matches!(&events[0], ProcedureEvent::Completed(c) if c.actuation_kind == ActuationKind::Hybrid)
    );
    assert_eq!(b.state().actuation_kind, ActuationKind::Hybrid);
}

#[test]
fn an_unknown_tail_never_overwrites_a_known_kind() {
    let mut b = running(None);
    b.run(hold(HoldCause::Operator, ActuationKind::Physical));
    b.run(ProcedureCommand::Abort {
        reason: "operator gave up".into(),
        actuation_kind: ActuationKind::None,
    });
    assert_eq!(b.state().actuation_kind, ActuationKind::Physical);
}

#[test]
fn truncate_keeps_the_kind_and_refuses_a_future_interruption() {
    let mut b = running(None);
    b.run(hold(HoldCause::HostRestart, ActuationKind::Simulated));
    let future = b.now() + Duration::hours(1);
    let err = b
        .try_run(ProcedureCommand::Truncate {
            reason: "dead".into(),
            interrupted_at: future,
        })
        .unwrap_err();
    assert!(matches!(
        err,
        ProcedureError::Invalid {
            command: ProcedureCommandKind::Truncate,
            input: InvalidInput::InterruptedInFuture { .. }
        }
    ));
    assert_eq!(err.kind(), RefusalKind::Invalid);
    let interrupted_at = b.now();
    let events = b.run(ProcedureCommand::Truncate {
        reason: "dead".into(),
        interrupted_at,
    });
    // The command's own `now` is later than `b.now()` before the call: equal is allowed too.
    assert!(matches!(&events[0], ProcedureEvent::Truncated(t) if t.interrupted_at <= t.at));
    assert_eq!(b.state().status, ProcedureStatus::Truncated);
    assert_eq!(b.state().actuation_kind, ActuationKind::Simulated);
    assert!(b.state().hold_claims.is_empty());
}

#[test]
fn interrupted_at_equal_to_now_is_allowed() {
    let b = running(None);
    let now = b.now() + Duration::seconds(1);
    let got = decide(
        Some(b.state()),
        &ProcedureCommand::Truncate {
            reason: "dead".into(),
            interrupted_at: now,
        },
        &ProcedureContext::at(now),
    );
    assert!(got.is_ok(), "{got:?}");
}

#[test]
fn iterations_are_one_based_strict_successors() {
    let mut b = running(None);
    let err = b
        .try_run(ProcedureCommand::StartIteration { index: 0 })
        .unwrap_err();
    assert_eq!(
        err,
        ProcedureError::Invalid {
            command: ProcedureCommandKind::StartIteration,
            input: IterationIndexError::NotStrictSuccessor {
                count: 0,
                expected: 1,
                got: 0
            }
            .into()
        }
    );
    b.run(ProcedureCommand::StartIteration { index: 1 });
    let err = b
        .try_run(ProcedureCommand::StartIteration { index: 2 })
        .unwrap_err();
    assert!(matches!(
        err,
        ProcedureError::Iteration {
            conflict: IterationConflict::AlreadyOpen { open: 1 },
            ..
        }
    ));
    let err = b
        .try_run(ProcedureCommand::EndIteration {
            index: 2,
            converged: None,
            reason: None,
        })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("iteration 2 is not the open iteration 1"),
        "{err}"
    );
    b.run(ProcedureCommand::EndIteration {
        index: 1,
        converged: Some(false),
        reason: Some("chi2 too high".into()),
    });
    // Skipping ahead and repeating are both refused.
    for index in [1, 3] {
        let err = b
            .try_run(ProcedureCommand::StartIteration { index })
            .unwrap_err();
        assert_eq!(err.kind(), RefusalKind::Invalid, "{err}");
    }
    b.run(ProcedureCommand::StartIteration { index: 2 });
    assert_eq!(b.state().iterations.count, 2);
    assert_eq!(b.state().iterations.open, Some(2));
}

#[test]
fn an_iteration_may_end_while_held_but_not_start() {
    let mut b = running(None);
    b.run(ProcedureCommand::StartIteration { index: 1 });
    b.run(hold(HoldCause::Operator, ActuationKind::None));
    b.run(ProcedureCommand::EndIteration {
        index: 1,
        converged: Some(true),
        reason: None,
    });
    let err = b
        .try_run(ProcedureCommand::StartIteration { index: 2 })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot start iteration procedure: status is Held"
    );
}

#[test]
fn patience_streak_resets_on_converged_and_grows_on_false_or_unknown() {
    fn iterate(b: &mut Builder, converged: Option<bool>) -> Result<u32, ProcedureError> {
        let index = b.state().iterations.count + 1;
        b.try_run(ProcedureCommand::StartIteration { index })?;
        b.run(ProcedureCommand::EndIteration {
            index,
            converged,
            reason: None,
        });
        Ok(b.state().iterations.unconverged_streak)
    }
    let mut b = running(Some(2));
    assert_eq!(iterate(&mut b, Some(false)), Ok(1));
    assert_eq!(iterate(&mut b, Some(true)), Ok(0));
    assert_eq!(iterate(&mut b, None), Ok(1));
    assert_eq!(iterate(&mut b, Some(false)), Ok(2));
    let err = iterate(&mut b, Some(true)).unwrap_err();
    assert_eq!(
        err,
        ProcedureError::Iteration {
            command: ProcedureCommandKind::StartIteration,
            status: ProcedureStatus::Running,
            conflict: IterationConflict::PatienceExhausted { streak: 2, cap: 2 },
        }
    );
    assert!(err.to_string().contains("patience cap of 2"), "{err}");
    // The cap is a declaration: the procedure is still Running and can complete.
    assert_eq!(b.state().status, ProcedureStatus::Running);
    assert_eq!(b.state().iterations.count, 4);
}

#[test]
fn start_refuses_unless_the_parent_run_is_running() {
    let run = uuid::Uuid::from_u128(99);
    let mut b = Builder::new();
    b.run(ProcedureCommand::Define(define(Some(run), None)));
    let state = b.state().clone();
    let start = ProcedureCommand::Start {
        pin: pin(&state, 3),
    };
    for &run_status in RunStatus::VARIANTS {
        let ctx = ProcedureContext::at(at(100)).with_parent_run(run_status);
        let got = decide(Some(&state), &start, &ctx);
        if run_status == RunStatus::Running {
            assert!(got.is_ok(), "{got:?}");
        } else {
            let err = got.unwrap_err();
            assert_eq!(
                err,
                ProcedureError::ParentRun {
                    command: ProcedureCommandKind::Start,
                    run,
                    run_status
                }
            );
            assert!(
                err.to_string().contains(&format!("is {run_status}")),
                "{err}"
            );
        }
    }
    let err = decide(Some(&state), &start, &ProcedureContext::at(at(100))).unwrap_err();
    assert_eq!(
        err,
        ProcedureError::ParentRunNotFound {
            command: ProcedureCommandKind::Start,
            run
        }
    );
}

#[test]
fn resume_refuses_while_the_parent_run_is_held() {
    let run = uuid::Uuid::from_u128(99);
    let mut b = Builder::new();
    b.run(ProcedureCommand::Define(define(Some(run), None)));
    let p = pin(b.state(), 3);
    b.run(ProcedureCommand::Start { pin: p });
    b.run(hold(HoldCause::Operator, ActuationKind::None));
    let state = b.state().clone();
    let held_run = ProcedureContext::at(at(500)).with_parent_run(RunStatus::Held);
    let err = decide(Some(&state), &resume(HoldCause::Operator, 0), &held_run).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot resume procedure: parent run {run} is Held")
    );
    // No cascade: the procedure's own hold and abort do not look at the Run.
    let abort = ProcedureCommand::Abort {
        reason: "done".into(),
        actuation_kind: ActuationKind::None,
    };
    assert!(decide(Some(&state), &abort, &held_run).is_ok());
    let running_run = ProcedureContext::at(at(500)).with_parent_run(RunStatus::Running);
    assert!(decide(Some(&state), &resume(HoldCause::Operator, 0), &running_run).is_ok());
}

#[test]
fn define_checks_the_parent_run_exists_and_is_open() {
    let run = uuid::Uuid::from_u128(5);
    let cmd = ProcedureCommand::Define(define(Some(run), None));
    let err = decide(None, &cmd, &ProcedureContext::at(at(0))).unwrap_err();
    assert_eq!(
        err,
        ProcedureError::ParentRunNotFound {
            command: ProcedureCommandKind::Define,
            run
        }
    );
    for &run_status in RunStatus::VARIANTS {
        let got = decide(
            None,
            &cmd,
            &ProcedureContext::at(at(0)).with_parent_run(run_status),
        );
        assert_eq!(
            got.is_ok(),
            !run_status.is_terminal(),
            "{run_status}: {got:?}"
        );
    }
}

#[test]
fn resume_boundary_may_equal_but_not_pass_the_step_count() {
    let mut b = running(None);
    b.run(hold(HoldCause::Operator, ActuationKind::None));
    let err = b.try_run(resume(HoldCause::Operator, 11)).unwrap_err();
    assert_eq!(
        err,
        ProcedureError::Invalid {
            command: ProcedureCommandKind::Resume,
            input: InvalidInput::BoundaryPastEnd {
                boundary: 11,
                step_count: 10
            }
        }
    );
    assert_eq!(b.state().status, ProcedureStatus::Held);
    b.run(resume(HoldCause::Operator, 10));
    assert_eq!(b.state().status, ProcedureStatus::Running);
}

#[test]
fn define_refuses_bad_input() {
    let base = define(None, None);
    type Expect = fn(&InvalidInput) -> bool;
    let cases: Vec<(DefineProcedure, Expect)> = vec![
        (
            DefineProcedure {
                name: "   ".into(),
                ..base.clone()
            },
            |e| matches!(e, InvalidInput::BadName { chars: 0 }),
        ),
        (
            DefineProcedure {
                name: "n".repeat(201),
                ..base.clone()
            },
            |e| matches!(e, InvalidInput::BadName { chars: 201 }),
        ),
        (
            DefineProcedure {
                component_digest: DIGEST.to_uppercase(),
                ..base.clone()
            },
            |e| matches!(e, InvalidInput::BadDigest { .. }),
        ),
        (
            DefineProcedure {
                component_digest: "abc".into(),
                ..base.clone()
            },
            |e| matches!(e, InvalidInput::BadDigest { .. }),
        ),
        (
            DefineProcedure {
                max_unconverged_iterations: Some(0),
                ..base.clone()
            },
            |e| matches!(e, InvalidInput::ZeroPatienceCap),
        ),
        (
            DefineProcedure {
                params: vec![
                    ("a".into(), crate::domain::Value::Int(1)),
                    ("a".into(), crate::domain::Value::Int(2)),
                ],
                ..base.clone()
            },
            |e| matches!(e, InvalidInput::DuplicateParam(n) if n == "a"),
        ),
        (
            DefineProcedure {
                params: vec![("x".into(), crate::domain::Value::Float(f64::NAN))],
                ..base.clone()
            },
            |e| matches!(e, InvalidInput::NonFiniteValue { .. }),
        ),
        (
            DefineProcedure {
                params: vec![(" ".into(), crate::domain::Value::Int(1))],
                ..base.clone()
            },
            |e| matches!(e, InvalidInput::BadParamName(_)),
        ),
    ];
    for (cmd, is_expected) in cases {
        let err = decide(
            None,
            &ProcedureCommand::Define(cmd.clone()),
            &ProcedureContext::at(at(0)),
        )
        .unwrap_err();
        match &err {
            ProcedureError::Invalid {
                command: ProcedureCommandKind::Define,
                input,
            } => {
                assert!(is_expected(input), "{cmd:?}: {err}");
            }
            other => panic!("{cmd:?}: unexpected {other}"),
        }
        assert!(
            err.to_string().starts_with("cannot define procedure: "),
            "{err}"
        );
    }
    // 200 characters is still a name.
    let ok = DefineProcedure {
        name: "é".repeat(200),
        ..base
    };
    assert!(
        decide(
            None,
            &ProcedureCommand::Define(ok),
            &ProcedureContext::at(at(0))
        )
        .is_ok()
    );
}

#[test]
fn start_refuses_a_bad_pin() {
    let mut b = Builder::new();
    b.run(ProcedureCommand::Define(define(None, None)));
    let good = pin(b.state(), 4);
    let foreign = Pin {
        component_digest: "f".repeat(64),
        ..good.clone()
    };
    let err = b
        .try_run(ProcedureCommand::Start { pin: foreign })
        .unwrap_err();
    assert!(matches!(
        err,
        ProcedureError::Invalid {
            input: InvalidInput::PinDigestMismatch { .. },
            ..
        }
    ));
    let bad_hash = Pin {
        content_hash: "zz".into(),
        ..good.clone()
    };
    let err = b
        .try_run(ProcedureCommand::Start { pin: bad_hash })
        .unwrap_err();
    assert!(err.to_string().contains("pin content hash"), "{err}");
    let nan_read = Pin {
        observed_reads: vec![(
            "mono".into(),
            crate::domain::Value::Floats(vec![1.0, f64::INFINITY]),
        )],
        ..good.clone()
    };
    let err = b
        .try_run(ProcedureCommand::Start { pin: nan_read })
        .unwrap_err();
    assert!(matches!(
        err,
        ProcedureError::Invalid {
            input: InvalidInput::NonFiniteValue { .. },
            ..
        }
    ));
    assert_eq!(
        b.state().status,
        ProcedureStatus::Defined,
        "a refused start leaves no pin"
    );
    assert_eq!(b.state().pin, None);
    b.run(ProcedureCommand::Start { pin: good });
}

#[test]
fn reasons_are_required_and_bounded() {
    let mut b = running(None);
    for reason in ["", "   ", &"r".repeat(501)] {
        let err = b
            .try_run(ProcedureCommand::Hold {
                cause: HoldCause::Operator,
                reason: reason.to_owned(),
                actuation_kind: ActuationKind::None,
            })
            .unwrap_err();
        assert!(matches!(
            err,
            ProcedureError::Invalid {
                input: InvalidInput::BadReason { .. },
                ..
            }
        ));
        let err = b
            .try_run(ProcedureCommand::Abort {
                reason: reason.to_owned(),
                actuation_kind: ActuationKind::None,
            })
            .unwrap_err();
        assert!(matches!(
            err,
            ProcedureError::Invalid {
                input: InvalidInput::BadReason { .. },
                ..
            }
        ));
    }
    assert_eq!(b.state().status, ProcedureStatus::Running);
}

#[test]
fn a_stream_without_genesis_or_with_two_is_corrupt() {
    let b = running(None);
    let err = fold(&b.events[1..]).unwrap_err();
    assert_eq!(
        err,
        FoldError::MissingGenesis {
            event_type: "ProcedureStarted"
        }
    );
    let mut twice = b.events.clone();
    twice.push(b.events[0].clone());
    assert_eq!(
        fold(&twice).unwrap_err(),
        FoldError::RepeatedGenesis {
            event_type: "ProcedureDefined",
            version: 4
        }
    );
    assert_eq!(fold(&[]).unwrap(), None);
}

#[test]
fn the_aggregate_trait_folds_like_the_module() {
    use crate::domain::Aggregate;
    let b = running(None);
    let via_trait = Procedure::fold(&b.events).unwrap().unwrap();
    assert_eq!(&via_trait, b.state());
    assert_eq!(Procedure::version(&via_trait), 3);
}
