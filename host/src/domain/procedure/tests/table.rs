//! Every command in every status: an allowed status yields exactly the expected events, every
//! other status a refusal naming the status and the command.

use proptest::prelude::*;
use strum::VariantArray;
use time::Duration;

use super::*;
use crate::domain::iteration::IterationConflict;

/// The transition table of docs/procedures.md#commands, written out independently of `allowed_from`.
fn allowed(kind: ProcedureCommandKind, status: ProcedureStatus) -> bool {
    use ProcedureCommandKind as K;
    use ProcedureStatus as S;
    matches!(
        (kind, status),
        (K::Start, S::Defined)
            | (K::StartIteration | K::Complete, S::Running)
            | (
                K::EndIteration | K::Hold | K::Abort | K::Truncate,
                S::Running | S::Held
            )
            | (K::Resume, S::Held)
    )
}

/// The parameters of one command of each kind; `command` fits them to a state.
#[derive(Clone, Debug)]
struct CommandSeed {
    define: DefineProcedure,
    pin: PinSeed,
    converged: Option<bool>,
    end_reason: Option<String>,
    cause: HoldCause,
    reason: String,
    kind: ActuationKind,
    boundary_per_mille: u64,
    back_secs: i64,
}

fn arb_command_seed() -> impl Strategy<Value = CommandSeed> {
    (
        arb_define(),
        arb_pin_seed(),
        any::<Option<bool>>(),
        prop::option::of(arb_reason()),
        arb_cause(),
        arb_reason(),
        arb_kind(),
        0u64..=1000,
        0i64..100_000,
    )
        .prop_map(
            |(define, pin, converged, end_reason, cause, reason, kind, per_mille, back)| {
                CommandSeed {
                    define,
                    pin,
                    converged,
                    end_reason,
                    cause,
                    reason,
                    kind,
                    boundary_per_mille: per_mille,
                    back_secs: back,
                }
            },
        )
}

impl CommandSeed {
    /// A command of `kind` with valid input for `state`.
    fn command(&self, kind: ProcedureCommandKind, state: &ProcedureState) -> ProcedureCommand {
        use ProcedureCommandKind as K;
        let now = state.last_changed_at + Duration::seconds(1);
        match kind {
            K::Define => ProcedureCommand::Define(self.define.clone()),
            K::Start => ProcedureCommand::Start {
                pin: self.pin.pin_for(state),
            },
            K::StartIteration => ProcedureCommand::StartIteration {
                index: state.iterations.count + 1,
            },
            K::EndIteration => ProcedureCommand::EndIteration {
                index: state.iterations.open.unwrap_or(1),
                converged: self.converged,
                reason: self.end_reason.clone(),
            },
            K::Hold => {
                // Prefer a cause that does not hold yet; if all do, the refusal is expected.
                let cause = HoldCause::VARIANTS
                    .iter()
                    .copied()
                    .cycle()
                    .skip_while(|c| *c != self.cause)
                    .take(3)
                    .find(|c| !state.hold_claims.contains(*c))
                    .unwrap_or(self.cause);
                ProcedureCommand::Hold {
                    cause,
                    reason: self.reason.clone(),
                    actuation_kind: self.kind,
                }
            }
            K::Resume => {
                let steps = state.pin.as_ref().map_or(0, |p| p.step_count);
                ProcedureCommand::Resume {
                    cause: HoldCause::Operator,
                    boundary: steps * self.boundary_per_mille / 1000,
                }
            }
            K::Complete => ProcedureCommand::Complete {
                actuation_kind: self.kind,
            },
            K::Abort => ProcedureCommand::Abort {
                reason: self.reason.clone(),
                actuation_kind: self.kind,
            },
            K::Truncate => ProcedureCommand::Truncate {
                reason: self.reason.clone(),
                interrupted_at: now - Duration::seconds(self.back_secs),
            },
        }
    }
}

/// What the spec says `command` yields from `state` at `now`.
fn expected(
    state: &ProcedureState,
    command: &ProcedureCommand,
    now: time::OffsetDateTime,
) -> Result<Vec<ProcedureEvent>, ProcedureError> {
    let kind = command.kind();
    if kind != ProcedureCommandKind::Define && !allowed(kind, state.status) {
        return Err(ProcedureError::WrongStatus {
            command: kind,
            status: state.status,
        });
    }
    let it = &state.iterations;
    let one = |e: ProcedureEvent| Ok(vec![e]);
    match command.clone() {
        ProcedureCommand::Define(_) => Err(ProcedureError::AlreadyExists {
            status: state.status,
        }),
        ProcedureCommand::Start { pin } => Ok(vec![
            ProcedureStarted { at: now }.into(),
            ResolvedStepsRecorded { pin }.into(),
        ]),
        ProcedureCommand::StartIteration { index } => {
            if let Some(open) = it.open {
                return Err(ProcedureError::Iteration {
                    command: kind,
                    status: state.status,
                    conflict: IterationConflict::AlreadyOpen { open },
                });
            }
            if let Some(cap) = it.patience_cap
                && it.unconverged_streak >= cap
            {
                return Err(ProcedureError::Iteration {
                    command: kind,
                    status: state.status,
                    conflict: IterationConflict::PatienceExhausted {
                        streak: it.unconverged_streak,
                        cap,
                    },
                });
            }
            one(IterationStarted { index, at: now }.into())
        }
        ProcedureCommand::EndIteration {
            index,
            converged,
            reason,
        } => {
            if it.open.is_none() {
                return Err(ProcedureError::Iteration {
                    command: kind,
                    status: state.status,
                    conflict: IterationConflict::NoneOpen,
                });
            }
            one(IterationEnded {
                index,
                converged,
                reason: reason.map(|r| r.trim().to_owned()),
                at: now,
            }
            .into())
        }
        ProcedureCommand::Hold {
            cause,
            reason,
            actuation_kind,
        } => {
            if state.hold_claims.contains(cause) {
                return Err(ProcedureError::ClaimAlreadyHeld {
                    cause,
                    status: state.status,
                });
            }
            one(ProcedureHeld {
                cause,
                reason: reason.trim().to_owned(),
                actuation_kind: state.actuation_kind.join(actuation_kind),
                at: now,
            }
            .into())
        }
        ProcedureCommand::Resume { cause, boundary } => one(ProcedureResumed {
            boundary,
            cause,
            released: state.hold_claims.iter().collect(),
            at: now,
        }
        .into()),
        ProcedureCommand::Complete { actuation_kind } => one(ProcedureCompleted {
            actuation_kind: state.actuation_kind.join(actuation_kind),
            at: now,
        }
        .into()),
        ProcedureCommand::Abort {
            reason,
            actuation_kind,
        } => one(ProcedureAborted {
            reason: reason.trim().to_owned(),
            actuation_kind: state.actuation_kind.join(actuation_kind),
            at: now,
        }
        .into()),
        ProcedureCommand::Truncate {
            reason,
            interrupted_at,
        } => one(ProcedureTruncated {
            reason: reason.trim().to_owned(),
            interrupted_at,
            at: now,
        }
        .into()),
    }
}

proptest! {
    #[test]
    fn every_command_in_every_status(seed in arb_build_seed(), cmd in arb_command_seed()) {
        for &status in ProcedureStatus::VARIANTS {
            let built = seed.build(status);
            let state = built.state();
            // The state really is the fold of its events.
            let folded = fold(&built.events).unwrap();
            prop_assert_eq!(folded.as_ref(), Some(state));
            for &kind in ProcedureCommandKind::VARIANTS {
                let command = cmd.command(kind, state);
                let now = state.last_changed_at + Duration::seconds(1);
                let got = decide(Some(state), &command, &ctx_for(state.parent_run, now));
                prop_assert_eq!(&got, &expected(state, &command, now), "{} in {}", kind, status);
                match &got {
                    Err(e @ ProcedureError::WrongStatus { .. }) => {
                        let msg = e.to_string();
                        prop_assert!(msg.contains(status.as_str()), "{}", msg);
                        let want = format!("cannot {kind} procedure");
                        prop_assert!(msg.contains(&want), "{}", msg);
                        prop_assert_eq!(e.kind(), crate::domain::RefusalKind::Conflict);
                    }
                    Err(e) => prop_assert_eq!(e.command(), kind),
                    Ok(_) => prop_assert!(allowed(kind, status)),
                }
            }
        }
    }

    #[test]
    fn an_empty_stream_accepts_only_define(seed in arb_build_seed(), cmd in arb_command_seed()) {
        let template = seed.build(ProcedureStatus::Running);
        for &kind in ProcedureCommandKind::VARIANTS {
            let command = cmd.command(kind, template.state());
            let got = decide(None, &command, &ctx_for(cmd.define.parent_run, at(1)));
            if kind == ProcedureCommandKind::Define {
                let d = &cmd.define;
                prop_assert_eq!(got, Ok(vec![ProcedureDefined {
                    id: d.id,
                    name: d.name.trim().to_owned(),
                    component_digest: d.component_digest.clone(),
                    params: d.params.clone(),
                    parent_run: d.parent_run,
                    max_unconverged_iterations: d.max_unconverged_iterations,
                    defined_at: at(1),
                }.into()]));
            } else {
                let err = got.unwrap_err();
                prop_assert_eq!(&err, &ProcedureError::NotFound { command: kind });
                let want = format!("cannot {kind} procedure: not found");
                prop_assert!(err.to_string().contains(&want), "{}", err);
                prop_assert_eq!(err.kind(), crate::domain::RefusalKind::NotFound);
            }
        }
    }

    /// The implementation's own table agrees with the spec's.
    #[test]
    fn allowed_from_matches_the_spec(kind in prop::sample::select(ProcedureCommandKind::VARIANTS.to_vec())) {
        for &status in ProcedureStatus::VARIANTS {
            prop_assert_eq!(allowed_from(kind).contains(&status), allowed(kind, status));
        }
    }
}
