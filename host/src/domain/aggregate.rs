//! The decider shape every aggregate shares, so one generic handler can load (fold), decide and
//! append for any of them.

use std::fmt::Debug;

use super::codec::{DomainEvent, FoldError};

pub trait Aggregate {
    /// The stream category, e.g. `"procedure"`.
    const CATEGORY: &'static str;
    type State: Clone + Debug;
    type Event: DomainEvent + Clone + Debug;
    type Command: Debug;
    type Context;
    type Error: std::error::Error + Send + Sync + 'static;

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

    /// Folds a stream from its beginning; `Ok(None)` for an empty stream.
    fn fold<'a>(
        events: impl IntoIterator<Item = &'a Self::Event>,
    ) -> Result<Option<Self::State>, FoldError>
    where
        Self::Event: 'a,
    {
        events
            .into_iter()
            .try_fold(None, |state, event| Self::evolve(state, event).map(Some))
    }
}
