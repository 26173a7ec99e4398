//! The one decider shape every aggregate shares (`initial`, `decide`, `evolve`), and the stream
//! names derived from its category, so the application layer (`crate::app`) can load, decide
//! and append for any aggregate through one generic path.

use std::fmt::Debug;

use uuid::Uuid;

use super::codec::{DomainEvent, FoldError};

/// An event-sourced aggregate: a pure decider over its stream.
///
/// The empty stream is `None` rather than a variant of `State`: an aggregate's state only
/// exists once its genesis event is folded, and `evolve` returning `State` (not `Option`) proves
/// that a stream with events always has one.
pub trait Aggregate {
    /// The stream category: streams are named `{CATEGORY}-{id}` (see [`stream_name`]).
    const CATEGORY: &'static str;
    /// The state of a stream holding at least its genesis event.
    type State: Clone + Debug + Send + Sync;
    type Event: DomainEvent + Clone + Debug + Send + Sync;
    type Command: Debug + Send + Sync;
    /// What a decision needs besides the state: the clock, facts from other streams.
    type Context: Send + Sync;
    type Error: std::error::Error + Send + Sync + 'static;

    /// The state before any event: none (an empty stream).
    fn initial() -> Option<Self::State> {
        None
    }

    /// The events `command` yields from `state` (`None`: empty stream), or why it is refused.
    fn decide(
        state: Option<&Self::State>,
        command: &Self::Command,
        ctx: &Self::Context,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// The state after one event.
    fn evolve(state: Option<Self::State>, event: &Self::Event) -> Result<Self::State, FoldError>;

    /// The number of events folded into `state`: the expected version of the next append.
    fn version(state: &Self::State) -> u64;

    /// The step-list pin (content hash, step count) an event names, if any: the steps must be
    /// appended with the event, in the same transaction.
    fn pinned(_event: &Self::Event) -> Option<(&str, u64)> {
        None
    }

    /// Folds a stream from [`Aggregate::initial`]; `Ok(None)` for an empty stream.
    fn fold<'a>(
        events: impl IntoIterator<Item = &'a Self::Event>,
    ) -> Result<Option<Self::State>, FoldError>
    where
        Self::Event: 'a,
    {
        events
            .into_iter()
            .try_fold(Self::initial(), |state, event| {
                Self::evolve(state, event).map(Some)
            })
    }
}

/// The stream of the aggregate `A` with this id: `{CATEGORY}-{id}`. The one place stream names
/// are made.
pub fn stream_name<A: Aggregate>(id: Uuid) -> String {
    format!("{}{id}", stream_prefix::<A>())
}

/// What every stream name of `A` starts with (a rebuild selects its streams by it).
pub fn stream_prefix<A: Aggregate>() -> String {
    format!("{}-", A::CATEGORY)
}

/// The id of a stream of `A` (the inverse of [`stream_name`]); `None` for any other stream.
pub fn stream_id<A: Aggregate>(stream: &str) -> Option<Uuid> {
    stream
        .strip_prefix(A::CATEGORY)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| Uuid::parse_str(rest).ok())
}
