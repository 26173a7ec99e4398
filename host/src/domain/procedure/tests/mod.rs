//! Tests of the Procedure aggregate: the command × status table, random command sequences and
//! their invariants, examples of the claim algebra, iterations and guards, and the wire form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod examples;
mod sequences;
mod table;
mod wire;

use proptest::prelude::*;
use strum::VariantArray;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::domain::actuation::ActuationKind;
use crate::domain::hold::HoldCause;
use crate::domain::run::RunStatus;
use crate::domain::testkit::*;

/// A context at `now` whose parent Run, if the procedure has one, is Running.
fn ctx_for(parent: Option<uuid::Uuid>, now: OffsetDateTime) -> ProcedureContext {
    let ctx = ProcedureContext::at(now);
    match parent {
        Some(_) => ctx.with_parent_run(RunStatus::Running),
        None => ctx,
    }
}

/// Builds a state by deciding commands and folding the events they yield.
#[derive(Clone, Debug)]
struct Builder {
    events: Vec<ProcedureEvent>,
    state: Option<ProcedureState>,
    clock: i64,
}

impl Builder {
    fn new() -> Self {
        Builder {
            events: Vec::new(),
            state: None,
            clock: 0,
        }
    }

    fn state(&self) -> &ProcedureState {
        self.state.as_ref().expect("defined")
    }

    fn try_run(&mut self, cmd: ProcedureCommand) -> Result<Vec<ProcedureEvent>, ProcedureError> {
        self.clock += 7;
        let parent = match (&self.state, &cmd) {
            (_, ProcedureCommand::Define(d)) => d.parent_run,
            (Some(s), _) => s.parent_run,
            (None, _) => None,
        };
        let events = decide(self.state.as_ref(), &cmd, &ctx_for(parent, at(self.clock)))?;
        for e in &events {
            self.state = Some(evolve(self.state.take(), e).unwrap());
        }
        self.events.extend(events.iter().cloned());
        Ok(events)
    }

    fn run(&mut self, cmd: ProcedureCommand) -> Vec<ProcedureEvent> {
        let shown = format!("{cmd:?}");
        self.try_run(cmd)
            .unwrap_or_else(|e| panic!("{shown} refused: {e}"))
    }

    fn now(&self) -> OffsetDateTime {
        at(self.clock)
    }
}

/// What a start pins, apart from what the procedure fixes (digest, params).
#[derive(Clone, Debug)]
struct PinSeed {
    content_hash: String,
    step_count: u64,
    observed_reads: Vec<(String, crate::domain::Value)>,
    limits_revision: String,
}

impl PinSeed {
    fn pin_for(&self, state: &ProcedureState) -> Pin {
        Pin {
            content_hash: self.content_hash.clone(),
            step_count: self.step_count,
            component_digest: state.component_digest.clone(),
            params: state.params.clone(),
            observed_reads: self.observed_reads.clone(),
            limits_revision: self.limits_revision.clone(),
        }
    }
}

fn arb_pin_seed() -> impl Strategy<Value = PinSeed> {
    (arb_digest(), 0u64..50, arb_named_values(), "r[0-9]{1,3}").prop_map(
        |(content_hash, step_count, observed_reads, limits_revision)| PinSeed {
            content_hash,
            step_count,
            observed_reads,
            limits_revision,
        },
    )
}

fn arb_define() -> impl Strategy<Value = DefineProcedure> {
    (
        arb_uuid(),
        arb_name(),
        arb_digest(),
        arb_named_values(),
        prop::option::of(arb_uuid()),
        prop::option::of(1u32..4),
    )
        .prop_map(
            |(id, name, component_digest, params, parent_run, cap)| DefineProcedure {
                id,
                name,
                component_digest,
                params,
                parent_run,
                max_unconverged_iterations: cap,
            },
        )
}

/// A step of history that keeps a procedure live, resolved against the state when applied.
#[derive(Clone, Debug)]
enum HistoryOp {
    StartIteration,
    EndIteration(Option<bool>),
    Hold(HoldCause, ActuationKind),
    ResumeOperator,
}

fn arb_history_op() -> impl Strategy<Value = HistoryOp> {
    prop_oneof![
        3 => Just(HistoryOp::StartIteration),
        3 => any::<Option<bool>>().prop_map(HistoryOp::EndIteration),
        2 => (arb_cause(), arb_kind()).prop_map(|(c, k)| HistoryOp::Hold(c, k)),
        2 => Just(HistoryOp::ResumeOperator),
    ]
}

fn history_command(op: &HistoryOp, state: &ProcedureState) -> ProcedureCommand {
    match op {
        HistoryOp::StartIteration => ProcedureCommand::StartIteration {
            index: state.iterations.count + 1,
        },
        HistoryOp::EndIteration(converged) => ProcedureCommand::EndIteration {
            index: state.iterations.open.unwrap_or(0),
            converged: *converged,
            reason: None,
        },
        HistoryOp::Hold(cause, kind) => ProcedureCommand::Hold {
            cause: *cause,
            reason: format!("held by {cause}"),
            actuation_kind: *kind,
        },
        HistoryOp::ResumeOperator => ProcedureCommand::Resume {
            cause: HoldCause::Operator,
            boundary: 0,
        },
    }
}

/// Everything needed to build a procedure in any status.
#[derive(Clone, Debug)]
struct BuildSeed {
    define: DefineProcedure,
    pin: PinSeed,
    history: Vec<HistoryOp>,
    hold_causes: Vec<HoldCause>,
    tail_kind: ActuationKind,
}

fn arb_build_seed() -> impl Strategy<Value = BuildSeed> {
    (
        arb_define(),
        arb_pin_seed(),
        prop::collection::vec(arb_history_op(), 0..12),
        prop::sample::subsequence(HoldCause::VARIANTS.to_vec(), 1..=3).prop_shuffle(),
        arb_kind(),
    )
        .prop_map(|(define, pin, history, hold_causes, tail_kind)| BuildSeed {
            define,
            pin,
            history,
            hold_causes,
            tail_kind,
        })
}

impl BuildSeed {
    /// A builder whose procedure is in `target`, reached by commands through `decide`.
    fn build(&self, target: ProcedureStatus) -> Builder {
        use ProcedureStatus as S;
        let mut b = Builder::new();
        b.run(ProcedureCommand::Define(self.define.clone()));
        if target == S::Defined {
            return b;
        }
        let pin = self.pin.pin_for(b.state());
        b.run(ProcedureCommand::Start { pin });
        for op in &self.history {
            // History may be refused (e.g. ending an iteration none is open); that is fine.
            let _ = b.try_run(history_command(op, b.state()));
        }
        let resume = ProcedureCommand::Resume {
            cause: HoldCause::Operator,
            boundary: 0,
        };
        match target {
            S::Defined => {}
            S::Running => {
                if b.state().status == S::Held {
                    b.run(resume);
                }
            }
            S::Held => {
                for cause in &self.hold_causes {
                    if !b.state().hold_claims.contains(*cause) {
                        b.run(history_command(
                            &HistoryOp::Hold(*cause, self.tail_kind),
                            b.state(),
                        ));
                    }
                }
            }
            S::Completed => {
                if b.state().status == S::Held {
                    b.run(resume);
                }
                b.run(ProcedureCommand::Complete {
                    actuation_kind: self.tail_kind,
                });
            }
            S::Aborted => {
                b.run(ProcedureCommand::Abort {
                    reason: "beam lost".into(),
                    actuation_kind: self.tail_kind,
                });
            }
            S::Truncated => {
                let interrupted_at = b.now() - Duration::seconds(3);
                b.run(ProcedureCommand::Truncate {
                    reason: "host died".into(),
                    interrupted_at,
                });
            }
        }
        assert_eq!(b.state().status, target);
        b
    }
}
