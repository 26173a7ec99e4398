//! Tests of the Run aggregate: the command × status table, random sequences, the wire form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::json;
use strum::VariantArray;
use time::Duration;
use time::macros::datetime;

use super::*;
use crate::domain::RefusalKind;
use crate::domain::actuation::ActuationKind;
use crate::domain::codec::{DomainEvent, EventCodecError, FoldError};
use crate::domain::input::InvalidInput;
use crate::domain::testkit::*;

/// The Run transition table, written out independently of `allowed_from`.
fn allowed(kind: RunCommandKind, status: RunStatus) -> bool {
    use RunCommandKind as K;
    use RunStatus as S;
    matches!(
        (kind, status),
        (K::Hold | K::Complete, S::Running)
            | (K::Resume, S::Held)
            | (K::Abort | K::Stop | K::Truncate, S::Running | S::Held)
    )
}

/// Decides and folds a command that must be accepted.
fn run(
    state: Option<RunState>,
    cmd: RunCommand,
    now: time::OffsetDateTime,
) -> (RunState, Vec<RunEvent>) {
    let events = decide(state.as_ref(), &cmd, &RunContext::at(now))
        .unwrap_or_else(|e| panic!("{cmd:?} refused: {e}"));
    let mut state = state;
    for e in &events {
        state = Some(evolve(state, e).unwrap());
    }
    (state.unwrap(), events)
}

/// A run in `target`, reached through `decide`, with `cycles` hold/resume rounds first.
fn build(
    name: &str,
    cycles: usize,
    kind: ActuationKind,
    target: RunStatus,
) -> (RunState, Vec<RunEvent>) {
    let mut clock = 0;
    let mut next = || {
        clock += 5;
        at(clock)
    };
    let (mut s, mut log) = run(
        None,
        RunCommand::Start {
            id: uuid::Uuid::from_u128(1),
            name: name.into(),
        },
        next(),
    );
    let mut step = |s: RunState, cmd: RunCommand, log: &mut Vec<RunEvent>| {
        let (s, events) = run(Some(s), cmd, next());
        log.extend(events);
        s
    };
    for _ in 0..cycles {
        s = step(
            s,
            RunCommand::Hold {
                reason: "beam dump".into(),
            },
            &mut log,
        );
        s = step(s, RunCommand::Resume, &mut log);
    }
    s = match target {
        RunStatus::Running => s,
        RunStatus::Held => step(
            s,
            RunCommand::Hold {
                reason: "beam dump".into(),
            },
            &mut log,
        ),
        RunStatus::Completed => step(
            s,
            RunCommand::Complete {
                actuation_kind: kind,
            },
            &mut log,
        ),
        RunStatus::Aborted => step(
            s,
            RunCommand::Abort {
                reason: "interlock".into(),
                actuation_kind: kind,
            },
            &mut log,
        ),
        RunStatus::Stopped => step(
            s,
            RunCommand::Stop {
                reason: "enough data".into(),
                actuation_kind: kind,
            },
            &mut log,
        ),
        RunStatus::Truncated => step(
            s,
            RunCommand::Truncate {
                reason: "host died".into(),
                interrupted_at: at(1),
            },
            &mut log,
        ),
    };
    assert_eq!(s.status, target);
    (s, log)
}

fn command(
    kind: RunCommandKind,
    reason: &str,
    actuation_kind: ActuationKind,
    back: i64,
    now: time::OffsetDateTime,
) -> RunCommand {
    match kind {
        RunCommandKind::Start => RunCommand::Start {
            id: uuid::Uuid::from_u128(2),
            name: "again".into(),
        },
        RunCommandKind::Hold => RunCommand::Hold {
            reason: reason.into(),
        },
        RunCommandKind::Resume => RunCommand::Resume,
        RunCommandKind::Complete => RunCommand::Complete { actuation_kind },
        RunCommandKind::Abort => RunCommand::Abort {
            reason: reason.into(),
            actuation_kind,
        },
        RunCommandKind::Stop => RunCommand::Stop {
            reason: reason.into(),
            actuation_kind,
        },
        RunCommandKind::Truncate => RunCommand::Truncate {
            reason: reason.into(),
            interrupted_at: now - Duration::seconds(back),
        },
    }
}

fn expected(
    state: &RunState,
    cmd: &RunCommand,
    now: time::OffsetDateTime,
) -> Result<Vec<RunEvent>, RunError> {
    let kind = cmd.kind();
    if kind == RunCommandKind::Start {
        return Err(RunError::AlreadyExists {
            status: state.status,
        });
    }
    if !allowed(kind, state.status) {
        return Err(RunError::WrongStatus {
            command: kind,
            status: state.status,
        });
    }
    let join = |k: ActuationKind| state.actuation_kind.join(k);
    let trim = |r: &String| r.trim().to_owned();
    let event: RunEvent = match cmd {
        RunCommand::Start { .. } => {
            return Err(RunError::AlreadyExists {
                status: state.status,
            });
        }
        RunCommand::Hold { reason } => RunHeld {
            reason: trim(reason),
            at: now,
        }
        .into(),
        RunCommand::Resume => RunResumed { at: now }.into(),
        RunCommand::Complete { actuation_kind } => RunCompleted {
            actuation_kind: join(*actuation_kind),
            at: now,
        }
        .into(),
        RunCommand::Abort {
            reason,
            actuation_kind,
        } => RunAborted {
            reason: trim(reason),
            actuation_kind: join(*actuation_kind),
            at: now,
        }
        .into(),
        RunCommand::Stop {
            reason,
            actuation_kind,
        } => RunStopped {
            reason: trim(reason),
            actuation_kind: join(*actuation_kind),
            at: now,
        }
        .into(),
        RunCommand::Truncate {
            reason,
            interrupted_at,
        } => RunTruncated {
            reason: trim(reason),
            interrupted_at: *interrupted_at,
            at: now,
        }
        .into(),
    };
    Ok(vec![event])
}

proptest! {
    #[test]
    fn every_command_in_every_status(
        name in arb_name(),
        cycles in 0usize..3,
        build_kind in arb_kind(),
        reason in arb_reason(),
        kind in arb_kind(),
        back in 0i64..1000,
    ) {
        for &status in RunStatus::VARIANTS {
            let (state, log) = build(&name, cycles, build_kind, status);
            let folded = fold(&log).unwrap();
            prop_assert_eq!(folded.as_ref(), Some(&state));
            let now = state.last_changed_at + Duration::seconds(1);
            for &command_kind in RunCommandKind::VARIANTS {
                let cmd = command(command_kind, &reason, kind, back, now);
                let got = decide(Some(&state), &cmd, &RunContext::at(now));
                prop_assert_eq!(&got, &expected(&state, &cmd, now), "{} in {}", command_kind, status);
                if let Err(e @ RunError::WrongStatus { .. }) = &got {
                    let want = format!("cannot {command_kind} run: status is {status}");
                    prop_assert_eq!(e.to_string(), want);
                    prop_assert_eq!(e.kind(), RefusalKind::Conflict);
                }
            }
        }
    }

    #[test]
    fn an_empty_stream_accepts_only_start(reason in arb_reason(), kind in arb_kind()) {
        for &command_kind in RunCommandKind::VARIANTS {
            let cmd = command(command_kind, &reason, kind, 0, at(0));
            let got = decide(None, &cmd, &RunContext::at(at(0)));
            if command_kind == RunCommandKind::Start {
                prop_assert!(got.is_ok());
            } else {
                prop_assert_eq!(got, Err(RunError::NotFound { command: command_kind }));
            }
        }
    }

    #[test]
    fn random_sequences_keep_the_invariants(
        ops in prop::collection::vec(
            (prop::sample::select(RunCommandKind::VARIANTS.to_vec()), arb_any_reason(), arb_kind(), -5i64..50),
            0..40,
        ),
    ) {
        let (mut state, mut log) = build("r", 0, ActuationKind::None, RunStatus::Running);
        for (i, (kind, reason, actuation_kind, back)) in ops.into_iter().enumerate() {
            let now = at(1000 + 10 * i as i64);
            let cmd = command(kind, &reason, actuation_kind, back, now);
            let ctx = RunContext::at(now);
            let got = decide(Some(&state), &cmd, &ctx);
            prop_assert_eq!(&got, &decide(Some(&state), &cmd, &ctx));
            match got {
                Ok(events) => {
                    prop_assert!(!state.status.is_terminal(), "{:?} accepted after {}", cmd, state.status);
                    let mut next = Some(state.clone());
                    for e in &events {
                        let (ty, payload) = e.to_stored().unwrap();
                        prop_assert_eq!(&RunEvent::from_stored(ty, payload).unwrap(), e);
                        next = Some(evolve(next, e).unwrap());
                    }
                    let next = next.unwrap();
                    prop_assert!(state.actuation_kind.le(next.actuation_kind));
                    prop_assert_eq!(next.version, state.version + 1);
                    prop_assert_eq!((next.id, &next.name, next.started_at), (state.id, &state.name, state.started_at));
                    log.extend(events);
                    state = next;
                }
                Err(e) => {
                    prop_assert_eq!(e.command(), kind);
                    if state.status.is_terminal() {
                        let absorbed = matches!(e, RunError::WrongStatus { .. } | RunError::AlreadyExists { .. });
                        prop_assert!(absorbed, "{:?}", e);
                    }
                }
            }
        }
        prop_assert_eq!(fold(&log).unwrap(), Some(state));
    }

    #[test]
    fn allowed_from_matches_the_spec(kind in prop::sample::select(RunCommandKind::VARIANTS.to_vec())) {
        for &status in RunStatus::VARIANTS {
            prop_assert_eq!(allowed_from(kind).contains(&status), allowed(kind, status));
        }
    }
}

fn arb_run_command_kind() -> impl Strategy<Value = RunCommandKind> {
    prop_oneof![
        Just(RunCommandKind::Start),
        Just(RunCommandKind::Hold),
        Just(RunCommandKind::Resume),
        Just(RunCommandKind::Complete),
        Just(RunCommandKind::Abort),
        Just(RunCommandKind::Stop),
        Just(RunCommandKind::Truncate),
    ]
}

proptest! {
    /// Through the generic [`Aggregate`](crate::domain::Aggregate) trait, from the empty stream:
    /// every event `decide` yields folds (`evolve` never refuses it), and the trait's `initial` +
    /// `evolve` fold equals the module's `fold`.
    #[test]
    fn the_trait_folds_what_it_decides_like_the_module(
        ops in prop::collection::vec(
            (arb_run_command_kind(), arb_any_reason(), arb_kind(), -5i64..50),
            0..40,
        ),
    ) {
        use crate::domain::Aggregate;
        let mut state = Run::initial();
        let mut log: Vec<RunEvent> = Vec::new();
        for (i, (kind, reason, actuation_kind, back)) in ops.into_iter().enumerate() {
            let now = at(1000 + 10 * i as i64);
            let cmd = command(kind, &reason, actuation_kind, back, now);
            let Ok(events) = <Run as Aggregate>::decide(state.as_ref(), &cmd, &RunContext::at(now)) else {
                continue;
            };
            for e in &events {
                let next = <Run as Aggregate>::evolve(state.clone(), e);
                prop_assert!(next.is_ok(), "{:?} refused {:?}", e, next);
                state = next.ok();
                prop_assert_eq!(Run::pinned(e), None);
            }
            log.extend(events);
        }
        let via_trait = Run::fold(&log).unwrap();
        prop_assert_eq!(&via_trait, &fold(&log).unwrap());
        prop_assert_eq!(via_trait, state);
    }
}

#[test]
fn hold_is_not_repeatable_and_resume_clears_the_reason() {
    let (s, _) = build("r", 0, ActuationKind::None, RunStatus::Held);
    assert_eq!(s.status_reason.as_deref(), Some("beam dump"));
    let err = decide(
        Some(&s),
        &RunCommand::Hold {
            reason: "again".into(),
        },
        &RunContext::at(at(99)),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "cannot hold run: status is Held");
    let (s, _) = run(Some(s), RunCommand::Resume, at(100));
    assert_eq!(s.status_reason, None);
    assert_eq!(s.status, RunStatus::Running);
}

#[test]
fn stop_keeps_data_valid_and_joins_the_kind() {
    let (s, _) = build("r", 1, ActuationKind::Simulated, RunStatus::Held);
    let (s, events) = run(
        Some(s),
        RunCommand::Stop {
            reason: "enough".into(),
            actuation_kind: ActuationKind::Physical,
        },
        at(100),
    );
    assert!(
        matches!(&events[0], RunEvent::Stopped(e) if e.actuation_kind == ActuationKind::Physical)
    );
    assert_eq!(s.status, RunStatus::Stopped);
    assert!(s.status.is_terminal());
    let (s2, _) = build("r", 0, ActuationKind::Simulated, RunStatus::Completed);
    assert_eq!(s2.actuation_kind, ActuationKind::Simulated);
}

#[test]
fn start_refuses_bad_names_and_truncate_a_future_interruption() {
    let err = decide(
        None,
        &RunCommand::Start {
            id: uuid::Uuid::nil(),
            name: " ".into(),
        },
        &RunContext::at(at(0)),
    )
    .unwrap_err();
    assert_eq!(
        err,
        RunError::Invalid {
            command: RunCommandKind::Start,
            input: InvalidInput::BadName { chars: 0 }
        }
    );
    assert_eq!(err.kind(), RefusalKind::Invalid);
    let (s, _) = build("r", 0, ActuationKind::None, RunStatus::Running);
    let err = decide(
        Some(&s),
        &RunCommand::Truncate {
            reason: "dead".into(),
            interrupted_at: at(10_000),
        },
        &RunContext::at(at(100)),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        RunError::Invalid {
            input: InvalidInput::InterruptedInFuture { .. },
            ..
        }
    ));
    let err = decide(
        Some(&s),
        &RunCommand::Abort {
            reason: "".into(),
            actuation_kind: ActuationKind::None,
        },
        &RunContext::at(at(100)),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot abort run: reason must be"),
        "{err}"
    );
}

#[test]
fn a_run_stream_without_genesis_is_corrupt() {
    let (_, log) = build("r", 1, ActuationKind::None, RunStatus::Running);
    assert_eq!(
        fold(&log[1..]).unwrap_err(),
        FoldError::MissingGenesis {
            event_type: "RunHeld"
        }
    );
    let mut twice = log.clone();
    twice.push(log[0].clone());
    assert!(matches!(
        fold(&twice).unwrap_err(),
        FoldError::RepeatedGenesis { .. }
    ));
}

#[test]
fn every_run_event_has_its_golden_wire_form() {
    let t = datetime!(2025-03-01 12:00:00 UTC);
    let stamp = "2025-03-01T12:00:00Z";
    let cases: Vec<(RunEvent, &str, serde_json::Value)> = vec![
        (
            RunStarted {
                id: uuid::Uuid::from_u128(1),
                name: "EXP-42".into(),
                started_at: t,
            }
            .into(),
            "RunStarted",
            json!({"id": "00000000-0000-0000-0000-000000000001", "name": "EXP-42", "started_at": stamp}),
        ),
        (
            RunHeld {
                reason: "beam dump".into(),
                at: t,
            }
            .into(),
            "RunHeld",
            json!({"reason": "beam dump", "at": stamp}),
        ),
        (
            RunResumed { at: t }.into(),
            "RunResumed",
            json!({"at": stamp}),
        ),
        (
            RunCompleted {
                actuation_kind: ActuationKind::Physical,
                at: t,
            }
            .into(),
            "RunCompleted",
            json!({"actuation_kind": "physical", "at": stamp}),
        ),
        (
            RunAborted {
                reason: "interlock".into(),
                actuation_kind: ActuationKind::None,
                at: t,
            }
            .into(),
            "RunAborted",
            json!({"reason": "interlock", "actuation_kind": "none", "at": stamp}),
        ),
        (
            RunStopped {
                reason: "enough".into(),
                actuation_kind: ActuationKind::Hybrid,
                at: t,
            }
            .into(),
            "RunStopped",
            json!({"reason": "enough", "actuation_kind": "hybrid", "at": stamp}),
        ),
        (
            RunTruncated {
                reason: "dead".into(),
                interrupted_at: t,
                at: t,
            }
            .into(),
            "RunTruncated",
            json!({"reason": "dead", "interrupted_at": stamp, "at": stamp}),
        ),
    ];
    let names: Vec<&str> = cases.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(names, RunEvent::EVENT_TYPES);
    for (event, name, payload) in cases {
        assert_eq!(event.to_stored().unwrap(), (name, payload.clone()));
        assert_eq!(RunEvent::from_stored(name, payload).unwrap(), event);
    }
    // An old RunCompleted without the kind still decodes, as none.
    let old = RunEvent::from_stored("RunCompleted", json!({"at": stamp})).unwrap();
    assert_eq!(
        old,
        RunCompleted {
            actuation_kind: ActuationKind::None,
            at: t
        }
        .into()
    );
    let err = RunEvent::from_stored("RunPaused", json!({})).unwrap_err();
    assert!(matches!(&err, EventCodecError::UnknownType(t) if t == "RunPaused"));
    // A procedure event is not a run event.
    assert!(RunEvent::from_stored("ProcedureStarted", json!({"at": stamp})).is_err());
}
