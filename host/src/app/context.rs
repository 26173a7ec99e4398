//! What each aggregate's decision needs besides its own state, read from the store just before
//! deciding.
//!
//! The parent Run's status is read outside the append's transaction: nothing cascades between
//! the aggregates, so the guard is "Running when asked", not "Running when committed".

use std::future::Future;

use time::OffsetDateTime;

use super::error::CommandError;
use super::stream::load;
use crate::domain::Aggregate;
use crate::domain::procedure::{Procedure, ProcedureCommand, ProcedureContext, ProcedureState};
use crate::domain::run::{Run, RunContext, RunState};
use crate::store::{ComponentStore, EventStore};

/// An aggregate whose decision context the application layer knows how to gather.
pub trait GatherContext: Aggregate {
    /// The context for deciding `command` on `state` at `now`, or why the command cannot be
    /// decided at all (an unregistered component, the store).
    fn context<S: EventStore + ComponentStore>(
        store: &S,
        state: Option<&Self::State>,
        command: &Self::Command,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Self::Context, CommandError<Self::Error>>> + Send;
}

/// A define checks that its component is registered; define, start and resume see the parent
/// Run's status (if the procedure has a parent run and that run exists).
impl GatherContext for Procedure {
    async fn context<S: EventStore + ComponentStore>(
        store: &S,
        state: Option<&ProcedureState>,
        command: &ProcedureCommand,
        now: OffsetDateTime,
    ) -> Result<ProcedureContext, CommandError<Self::Error>> {
        let mut ctx = ProcedureContext::at(now);
        let parent_run = match (command, state) {
            (ProcedureCommand::Define(define), None) => {
                if store.component(&define.component_digest).await?.is_none() {
                    return Err(CommandError::ComponentNotRegistered(
                        define.component_digest.clone(),
                    ));
                }
                define.parent_run
            }
            (ProcedureCommand::Start { .. } | ProcedureCommand::Resume { .. }, Some(state)) => {
                state.parent_run
            }
            _ => None,
        };
        if let Some(run) = parent_run
            && let Some(run) = load::<Run, S>(store, run).await?.state
        {
            ctx = ctx.with_parent_run(run.status);
        }
        Ok(ctx)
    }
}

/// A run decides on the clock alone.
impl GatherContext for Run {
    async fn context<S: EventStore + ComponentStore>(
        _store: &S,
        _state: Option<&RunState>,
        _command: &Self::Command,
        now: OffsetDateTime,
    ) -> Result<RunContext, CommandError<Self::Error>> {
        Ok(RunContext::at(now))
    }
}
