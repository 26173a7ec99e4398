//! The Run aggregate: the parent experiment of procedures. Statuses `Running <-> Held ->
//! Completed | Aborted | Stopped | Truncated`. A procedure reads its Run's status as a guard;
//! nothing cascades between them.

pub mod command;
pub mod decide;
pub mod error;
pub mod events;
pub mod evolve;
pub mod state;
#[cfg(test)]
mod tests;

pub use command::{RunCommand, RunCommandKind, RunContext};
pub use decide::{allowed_from, decide};
pub use error::RunError;
pub use events::{
    RunAborted, RunCompleted, RunEvent, RunHeld, RunResumed, RunStarted, RunStopped, RunTruncated,
};
pub use evolve::{evolve, fold};
pub use state::{RunState, RunStatus};

/// The Run aggregate (streams `run-{id}`), for the generic application layer.
#[derive(Clone, Copy, Debug)]
pub struct Run;

impl crate::domain::aggregate::Aggregate for Run {
    const CATEGORY: &'static str = "run";
    type State = RunState;
    type Event = RunEvent;
    type Command = RunCommand;
    type Context = RunContext;
    type Error = RunError;

    fn decide(
        state: Option<&RunState>,
        command: &RunCommand,
        ctx: &RunContext,
    ) -> Result<Vec<RunEvent>, RunError> {
        decide(state, command, ctx)
    }

    fn evolve(
        state: Option<RunState>,
        event: &RunEvent,
    ) -> Result<RunState, crate::domain::FoldError> {
        evolve(state, event)
    }

    fn version(state: &RunState) -> u64 {
        state.version
    }
}
