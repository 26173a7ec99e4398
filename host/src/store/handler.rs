//! The generic command handler: load (fold the stream) → decide (pure, from the domain) →
//! append with the expected version, the pins the events name and the projection update, in
//! one transaction. A conflict comes back as [`StoreError::Conflict`] inside
//! [`HandlerError::Store`]; the handler never retries, because a retry would re-decide on a
//! state the caller has not seen.
//!
//! The load reads outside the append's transaction: the expected version makes the append
//! refuse if anything landed in between, so the decision is always about the latest state
//! without holding the write lock while deciding.

use time::OffsetDateTime;
use uuid::Uuid;

use super::error::StoreError;
use super::event::{AppendRequest, NewEvent, PinnedSteps, RecordedEvent};
use super::{ComponentStore, EventStore};
use crate::domain::codec::{DomainEvent, FoldError};
use crate::domain::procedure::{
    self, ProcedureCommand, ProcedureContext, ProcedureError, ProcedureEvent, ProcedureState,
};
use crate::domain::run::{self, RunCommand, RunContext, RunError, RunEvent, RunState};

/// An aggregate the handler can drive: its events and how they fold.
pub trait Aggregate {
    type Event: DomainEvent + Send + Sync;
    type State: Send + Sync;

    /// The state after one event (`None`: the empty stream).
    fn evolve(state: Option<Self::State>, event: &Self::Event) -> Result<Self::State, FoldError>;

    /// The step-list hash and step count an event pins, if it pins one.
    fn pinned(_event: &Self::Event) -> Option<(&str, u64)> {
        None
    }
}

/// The Procedure aggregate (streams `procedure-{id}`).
#[derive(Clone, Copy, Debug)]
pub struct Procedure;

impl Aggregate for Procedure {
    type Event = ProcedureEvent;
    type State = ProcedureState;

    fn evolve(
        state: Option<ProcedureState>,
        event: &ProcedureEvent,
    ) -> Result<ProcedureState, FoldError> {
        procedure::evolve(state, event)
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

/// The Run aggregate (streams `run-{id}`).
#[derive(Clone, Copy, Debug)]
pub struct Run;

impl Aggregate for Run {
    type Event = RunEvent;
    type State = RunState;

    fn evolve(state: Option<RunState>, event: &RunEvent) -> Result<RunState, FoldError> {
        run::evolve(state, event)
    }
}

/// A folded stream: its state (`None` if empty) and the version to expect when appending.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded<S> {
    pub state: Option<S>,
    pub version: u64,
}

/// What a handled command committed.
#[derive(Clone, Debug, PartialEq)]
pub struct Committed<S> {
    /// The state after the new events.
    pub state: S,
    /// The events as stored (empty if the decision produced none).
    pub events: Vec<RecordedEvent>,
    /// The stream's version after the append.
    pub version: u64,
}

/// Why a command did not commit.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError<E> {
    /// The aggregate refused the command (wrong status, bad input, a guard).
    #[error(transparent)]
    Refused(E),
    /// A define names a component that is not registered.
    #[error("component {0} is not registered")]
    ComponentNotRegistered(String),
    /// The store failed or refused: a version conflict, a corrupt stream, the database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<E> HandlerError<E> {
    /// True for the optimistic-concurrency conflict: someone else appended first.
    pub fn is_conflict(&self) -> bool {
        matches!(self, HandlerError::Store(e) if e.is_conflict())
    }
}

fn fold_error(stream: &str, e: FoldError) -> StoreError {
    StoreError::CorruptStream {
        stream: stream.to_owned(),
        reason: e.to_string(),
    }
}

/// Reads and folds a stream. An unknown event type fails, naming it.
pub async fn load<A: Aggregate, S: EventStore>(
    store: &S,
    stream: &str,
) -> Result<Loaded<A::State>, StoreError> {
    let events = store.read_stream(stream).await?;
    let version = events.last().map_or(0, |e| e.version);
    let mut state = None;
    for recorded in events {
        let event: A::Event = recorded.into_decoded()?;
        state = Some(A::evolve(state, &event).map_err(|e| fold_error(stream, e))?);
    }
    Ok(Loaded { state, version })
}

/// Loads `stream`, lets `decide` choose events from its state, and appends them (with `pins`)
/// at the loaded version. Every pin an event names must be among `pins`, and every pin given
/// must be named, so a pin and the events referring to it always land together.
pub async fn handle<A, S, E, F>(
    store: &S,
    stream: &str,
    pins: &[PinnedSteps],
    decide: F,
) -> Result<Committed<A::State>, HandlerError<E>>
where
    A: Aggregate,
    S: EventStore,
    F: FnOnce(Option<&A::State>) -> Result<Vec<A::Event>, E>,
{
    let loaded = load::<A, S>(store, stream).await?;
    let decided = decide(loaded.state.as_ref()).map_err(HandlerError::Refused)?;
    commit::<A, S, E>(store, stream, loaded, decided, pins).await
}

/// Appends decided events to a loaded stream: the second half of [`handle`].
pub async fn commit<A, S, E>(
    store: &S,
    stream: &str,
    loaded: Loaded<A::State>,
    decided: Vec<A::Event>,
    pins: &[PinnedSteps],
) -> Result<Committed<A::State>, HandlerError<E>>
where
    A: Aggregate,
    S: EventStore,
{
    check_pins::<A>(&decided, pins)?;
    if decided.is_empty() {
        let state = loaded.state.ok_or_else(|| StoreError::EmptyAppend {
            stream: stream.to_owned(),
        })?;
        return Ok(Committed {
            state,
            events: Vec::new(),
            version: loaded.version,
        });
    }
    let mut new_events = Vec::with_capacity(decided.len());
    for event in &decided {
        let (event_type, payload) = event.to_stored().map_err(|e| {
            StoreError::Corrupt(format!("event {} does not encode: {e}", event.event_type()))
        })?;
        new_events.push(NewEvent::new(event_type, payload));
    }
    let mut state = loaded.state;
    for event in &decided {
        state = Some(A::evolve(state, event).map_err(|e| fold_error(stream, e))?);
    }
    let state = state.ok_or_else(|| StoreError::EmptyAppend {
        stream: stream.to_owned(),
    })?;
    let recorded = store
        .append(AppendRequest::new(stream, loaded.version, &new_events).with_pins(pins))
        .await?;
    let version = recorded.last().map_or(loaded.version, |e| e.version);
    Ok(Committed {
        state,
        events: recorded,
        version,
    })
}

fn check_pins<A: Aggregate>(events: &[A::Event], pins: &[PinnedSteps]) -> Result<(), StoreError> {
    let named: Vec<(&str, u64)> = events.iter().filter_map(A::pinned).collect();
    for (hash, count) in &named {
        match pins.iter().find(|p| p.hash() == *hash) {
            None => {
                return Err(StoreError::PinMismatch {
                    hash: (*hash).to_owned(),
                    reason: "an event pins it but its steps were not given".into(),
                });
            }
            Some(pin) if pin.len() as u64 != *count => {
                return Err(StoreError::PinMismatch {
                    hash: (*hash).to_owned(),
                    reason: format!("the event says {count} steps, the pin has {}", pin.len()),
                });
            }
            Some(_) => {}
        }
    }
    if let Some(stray) = pins
        .iter()
        .find(|p| !named.iter().any(|(h, _)| *h == p.hash()))
    {
        return Err(StoreError::PinMismatch {
            hash: stray.hash().to_owned(),
            reason: "no event of the append names it".into(),
        });
    }
    Ok(())
}

/// Handles one Procedure command: loads the procedure and, where the decision needs it, the
/// parent Run's status; checks that a define names a registered component; decides at `now`;
/// appends. `pins` carries the steps of a start.
///
/// The parent Run's status is read just before deciding, not inside the append's transaction:
/// nothing cascades between the aggregates (DESIGN §5), so the guard is "Running when asked".
pub async fn handle_procedure<S: EventStore + ComponentStore>(
    store: &S,
    id: Uuid,
    command: &ProcedureCommand,
    now: OffsetDateTime,
    pins: &[PinnedSteps],
) -> Result<Committed<ProcedureState>, HandlerError<ProcedureError>> {
    let stream = super::procedure_stream(id);
    let loaded = load::<Procedure, S>(store, &stream).await?;
    let mut ctx = ProcedureContext::at(now);
    let parent_run = match (command, &loaded.state) {
        (ProcedureCommand::Define(define), None) => {
            if store.component(&define.component_digest).await?.is_none() {
                return Err(HandlerError::ComponentNotRegistered(
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
    if let Some(run) = parent_run {
        let run = load::<Run, S>(store, &super::run_stream(run)).await?;
        if let Some(run) = run.state {
            ctx = ctx.with_parent_run(run.status);
        }
    }
    let decided =
        procedure::decide(loaded.state.as_ref(), command, &ctx).map_err(HandlerError::Refused)?;
    commit::<Procedure, S, ProcedureError>(store, &stream, loaded, decided, pins).await
}

/// Handles one Run command at `now`.
pub async fn handle_run<S: EventStore>(
    store: &S,
    id: Uuid,
    command: &RunCommand,
    now: OffsetDateTime,
) -> Result<Committed<RunState>, HandlerError<RunError>> {
    let ctx = RunContext::at(now);
    handle::<Run, S, RunError, _>(store, &super::run_stream(id), &[], |state| {
        run::decide(state, command, &ctx)
    })
    .await
}
