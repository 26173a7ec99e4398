//! Random command sequences: decide never panics, is pure, and the folded state keeps the
//! invariants — terminal statuses absorb, hold claims only while Held, actuation kind only
//! joins upward, iteration numbers strictly increase, provenance fields never change.

use proptest::prelude::*;
use strum::VariantArray;
use time::Duration;

use super::*;
use crate::domain::codec::DomainEvent;

/// A command shape, fitted to the state when applied; offsets and flags make some invalid.
#[derive(Clone, Debug)]
enum Op {
    Define(DefineProcedure),
    Start {
        pin: PinSeed,
        foreign_digest: bool,
    },
    StartIteration {
        offset: i64,
    },
    EndIteration {
        converged: Option<bool>,
        reason: Option<String>,
        offset: i64,
    },
    Hold {
        cause: HoldCause,
        reason: String,
        kind: ActuationKind,
    },
    Resume {
        cause: HoldCause,
        boundary: u64,
    },
    Complete {
        kind: ActuationKind,
    },
    Abort {
        reason: String,
        kind: ActuationKind,
    },
    Truncate {
        reason: String,
        back_secs: i64,
    },
}

fn arb_offset() -> impl Strategy<Value = i64> {
    prop_oneof![8 => Just(0i64), 1 => -2i64..0, 1 => 1i64..3]
}

fn arb_op() -> impl Strategy<Value = Op> {
    // Terminal commands are rare so that sequences live long enough to iterate, hold and resume.
    let terminal = prop_oneof![
        arb_kind().prop_map(|kind| Op::Complete { kind }),
        (arb_any_reason(), arb_kind()).prop_map(|(reason, kind)| Op::Abort { reason, kind }),
        (arb_any_reason(), -5i64..100)
            .prop_map(|(reason, back_secs)| Op::Truncate { reason, back_secs }),
    ];
    prop_oneof![
        1 => arb_define().prop_map(Op::Define),
        3 => (arb_pin_seed(), prop::bool::weighted(0.1))
            .prop_map(|(pin, foreign_digest)| Op::Start { pin, foreign_digest }),
        6 => arb_offset().prop_map(|offset| Op::StartIteration { offset }),
        6 => (any::<Option<bool>>(), prop::option::of(arb_any_reason()), arb_offset())
            .prop_map(|(converged, reason, offset)| Op::EndIteration { converged, reason, offset }),
        5 => (arb_cause(), arb_any_reason(), arb_kind())
            .prop_map(|(cause, reason, kind)| Op::Hold { cause, reason, kind }),
        6 => (arb_cause(), 0u64..60).prop_map(|(cause, boundary)| Op::Resume { cause, boundary }),
        1 => terminal,
    ]
}

fn arb_parent_status() -> impl Strategy<Value = Option<RunStatus>> {
    prop_oneof![
        6 => Just(Some(RunStatus::Running)),
        1 => Just(None),
        2 => prop::sample::select(RunStatus::VARIANTS.to_vec()).prop_map(Some),
    ]
}

fn shift(base: u32, offset: i64) -> u32 {
    u32::try_from((i64::from(base) + offset).max(0)).unwrap()
}

fn command(op: &Op, state: Option<&ProcedureState>, now: time::OffsetDateTime) -> ProcedureCommand {
    let count = state.map_or(0, |s| s.iterations.count);
    let open = state.and_then(|s| s.iterations.open).unwrap_or(count);
    match op.clone() {
        Op::Define(d) => ProcedureCommand::Define(d),
        Op::Start {
            pin,
            foreign_digest,
        } => {
            let mut pin = match state {
                Some(s) => pin.pin_for(s),
                None => Pin {
                    content_hash: pin.content_hash,
                    step_count: pin.step_count,
                    component_digest: "0".repeat(64),
                    params: vec![],
                    observed_reads: pin.observed_reads,
                    limits_revision: pin.limits_revision,
                },
            };
            if foreign_digest {
                pin.component_digest = "f".repeat(64);
            }
            ProcedureCommand::Start { pin }
        }
        Op::StartIteration { offset } => ProcedureCommand::StartIteration {
            index: shift(count + 1, offset),
        },
        Op::EndIteration {
            converged,
            reason,
            offset,
        } => ProcedureCommand::EndIteration {
            index: shift(open, offset),
            converged,
            reason,
        },
        Op::Hold {
            cause,
            reason,
            kind,
        } => ProcedureCommand::Hold {
            cause,
            reason,
            actuation_kind: kind,
        },
        Op::Resume { cause, boundary } => ProcedureCommand::Resume { cause, boundary },
        Op::Complete { kind } => ProcedureCommand::Complete {
            actuation_kind: kind,
        },
        Op::Abort { reason, kind } => ProcedureCommand::Abort {
            reason,
            actuation_kind: kind,
        },
        Op::Truncate { reason, back_secs } => ProcedureCommand::Truncate {
            reason,
            interrupted_at: now - Duration::seconds(back_secs),
        },
    }
}

/// Checks what one accepted command did to the state.
fn check_step(
    prior: Option<&ProcedureState>,
    command: &ProcedureCommand,
    events: &[ProcedureEvent],
    next: &ProcedureState,
    now: time::OffsetDateTime,
) -> Result<(), TestCaseError> {
    prop_assert!(!events.is_empty());
    // Holds iff Held.
    prop_assert_eq!(
        next.hold_claims.is_empty(),
        next.status != ProcedureStatus::Held
    );
    for e in events {
        // Every event survives the wire.
        let (ty, payload) = e.to_stored().unwrap();
        prop_assert!(payload.is_object());
        prop_assert_eq!(&ProcedureEvent::from_stored(ty, payload).unwrap(), e);
    }
    let Some(prior) = prior else {
        prop_assert!(matches!(command, ProcedureCommand::Define(_)));
        prop_assert_eq!(next.status, ProcedureStatus::Defined);
        prop_assert_eq!(next.version, 1);
        return Ok(());
    };
    prop_assert!(
        !prior.status.is_terminal(),
        "{:?} accepted after {}",
        command,
        prior.status
    );
    prop_assert!(prior.actuation_kind.le(next.actuation_kind));
    prop_assert_eq!(next.version, prior.version + events.len() as u64);
    prop_assert_eq!(next.last_changed_at, now);
    // Provenance is fixed at define and at start.
    prop_assert_eq!(next.id, prior.id);
    prop_assert_eq!(&next.name, &prior.name);
    prop_assert_eq!(&next.component_digest, &prior.component_digest);
    prop_assert_eq!(&next.params, &prior.params);
    prop_assert_eq!(next.parent_run, prior.parent_run);
    prop_assert_eq!(next.defined_at, prior.defined_at);
    prop_assert_eq!(next.iterations.patience_cap, prior.iterations.patience_cap);
    if prior.pin.is_some() {
        prop_assert_eq!(&next.pin, &prior.pin);
    }
    // Iterations: the count never falls; a new one is the strict successor.
    prop_assert!(next.iterations.count >= prior.iterations.count);
    if let ProcedureEvent::IterationStarted(e) = &events[0] {
        prop_assert_eq!(e.index, prior.iterations.count + 1);
        prop_assert_eq!(next.iterations.open, Some(e.index));
    }
    if let ProcedureEvent::IterationEnded(e) = &events[0] {
        prop_assert_eq!(prior.iterations.open, Some(e.index));
        prop_assert_eq!(next.iterations.open, None);
    }
    if let ProcedureEvent::Resumed(e) = &events[0] {
        prop_assert_eq!(next.status, ProcedureStatus::Running);
        prop_assert_eq!(&e.released, &prior.hold_claims.iter().collect::<Vec<_>>());
        prop_assert_eq!(&next.status_reason, &None);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_sequences_keep_the_invariants(
        define in arb_define(),
        ops in prop::collection::vec((arb_op(), arb_parent_status()), 0..60),
    ) {
        let mut state: Option<ProcedureState> = None;
        let mut log: Vec<ProcedureEvent> = Vec::new();
        let mut started_indices: Vec<u32> = Vec::new();
        let first = (Op::Define(define), Some(RunStatus::Running));
        for (i, (op, parent)) in std::iter::once(first).chain(ops).enumerate() {
            let now = at(10 * i as i64);
            let command = command(&op, state.as_ref(), now);
            let ctx = ProcedureContext { now, parent_run_status: parent };
            let got = decide(state.as_ref(), &command, &ctx);
            // Pure: the same input decides the same way.
            prop_assert_eq!(&got, &decide(state.as_ref(), &command, &ctx));
            match got {
                Ok(events) => {
                    let mut next = state.clone();
                    for e in &events {
                        next = Some(evolve(next, e).unwrap());
                    }
                    let next = next.unwrap();
                    check_step(state.as_ref(), &command, &events, &next, now)?;
                    for e in &events {
                        if let ProcedureEvent::IterationStarted(s) = e {
                            started_indices.push(s.index);
                        }
                    }
                    log.extend(events);
                    state = Some(next);
                }
                Err(e) => {
                    // A refusal names its command, and terminal statuses refuse everything.
                    prop_assert_eq!(e.command(), command.kind());
                    if let Some(s) = &state && s.status.is_terminal() {
                        prop_assert!(
                            matches!(e, ProcedureError::WrongStatus { .. } | ProcedureError::AlreadyExists { .. }),
                            "{:?}", e
                        );
                    }
                }
            }
        }
        // Folding the whole log gives the state built step by step.
        prop_assert_eq!(fold(&log).unwrap(), state);
        prop_assert!(started_indices.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(started_indices.iter().enumerate().all(|(i, n)| *n as usize == i + 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Through the generic [`Aggregate`](crate::domain::Aggregate) trait, the one the
    /// application layer drives: every event `decide` yields folds (`evolve` never refuses it),
    /// the trait's `initial` + `evolve` fold equals the module's `fold`, and exactly the
    /// resolved-steps event names a pin.
    #[test]
    fn the_trait_folds_what_it_decides_like_the_module(
        define in arb_define(),
        ops in prop::collection::vec((arb_op(), arb_parent_status()), 0..60),
    ) {
        use crate::domain::Aggregate;
        let mut state = Procedure::initial();
        let mut log: Vec<ProcedureEvent> = Vec::new();
        let first = (Op::Define(define), Some(RunStatus::Running));
        for (i, (op, parent)) in std::iter::once(first).chain(ops).enumerate() {
            let now = at(10 * i as i64);
            let command = command(&op, state.as_ref(), now);
            let ctx = ProcedureContext { now, parent_run_status: parent };
            let Ok(events) = <Procedure as Aggregate>::decide(state.as_ref(), &command, &ctx) else {
                continue;
            };
            for e in &events {
                let next = <Procedure as Aggregate>::evolve(state.clone(), e);
                prop_assert!(next.is_ok(), "{:?} refused {:?}", e, next);
                state = next.ok();
                let pinned = Procedure::pinned(e);
                match e {
                    ProcedureEvent::ResolvedStepsRecorded(r) => prop_assert_eq!(
                        pinned,
                        Some((r.pin.content_hash.as_str(), r.pin.step_count))
                    ),
                    _ => prop_assert_eq!(pinned, None),
                }
            }
            log.extend(events);
        }
        let via_trait = Procedure::fold(&log).unwrap();
        prop_assert_eq!(&via_trait, &fold(&log).unwrap());
        prop_assert_eq!(via_trait, state);
    }
}
