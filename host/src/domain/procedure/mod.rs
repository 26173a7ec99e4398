//! The Procedure aggregate (docs/procedures.md#procedure): events, state, `decide` and `evolve`.
//!
//! Statuses `Defined -> Running <-> Held -> Completed | Aborted | Truncated`. Start and pin are
//! one command producing `[ProcedureStarted, ResolvedStepsRecorded]` for one atomic append.

pub mod command;
pub mod decide;
pub mod error;
pub mod events;
pub mod evolve;
pub mod pin;
pub mod state;
#[cfg(test)]
mod tests;

pub use command::{DefineProcedure, ProcedureCommand, ProcedureCommandKind, ProcedureContext};
pub use decide::{allowed_from, decide};
pub use error::ProcedureError;
pub use events::{
    IterationEnded, IterationStarted, ProcedureAborted, ProcedureCompleted, ProcedureDefined,
    ProcedureEvent, ProcedureHeld, ProcedureResumed, ProcedureStarted, ProcedureTruncated,
    ResolvedStepsRecorded,
};
pub use evolve::{evolve, fold};
pub use pin::{Pin, canonical_steps_json, sha256_hex};
pub use state::{ProcedureState, ProcedureStatus};

/// The Procedure aggregate (streams `procedure-{id}`), for the generic application layer.
#[derive(Clone, Copy, Debug)]
pub struct Procedure;

impl crate::domain::aggregate::Aggregate for Procedure {
    const CATEGORY: &'static str = "procedure";
    type State = ProcedureState;
    type Event = ProcedureEvent;
    type Command = ProcedureCommand;
    type Context = ProcedureContext;
    type Error = ProcedureError;

    fn decide(
        state: Option<&ProcedureState>,
        command: &ProcedureCommand,
        ctx: &ProcedureContext,
    ) -> Result<Vec<ProcedureEvent>, ProcedureError> {
        decide(state, command, ctx)
    }

    fn evolve(
        state: Option<ProcedureState>,
        event: &ProcedureEvent,
    ) -> Result<ProcedureState, crate::domain::FoldError> {
        evolve(state, event)
    }

    fn version(state: &ProcedureState) -> u64 {
        state.version
    }

    fn pinned(event: &ProcedureEvent) -> Option<(&str, u64)> {
        match event {
            ProcedureEvent::ResolvedStepsRecorded(e) => {
                Some((e.pin.content_hash.as_str(), e.pin.step_count))
            }
            _ => None,
        }
    }
}
