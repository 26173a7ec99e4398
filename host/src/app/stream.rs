//! Loading an aggregate's stream (read, decode, fold) and committing decided events to it at
//! the loaded version, with the pins they name.
//!
//! The load reads outside the append's transaction: the expected version makes the append
//! refuse if anything landed in between, so a decision is always about the latest state without
//! holding the write lock while deciding.

use uuid::Uuid;

use super::error::CommandError;
use crate::domain::codec::{DomainEvent, FoldError};
use crate::domain::{Aggregate, stream_name};
use crate::store::{AppendRequest, EventStore, NewEvent, PinnedSteps, RecordedEvent, StoreError};

/// A folded stream: its state (`None` if empty) and the version to expect when appending.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded<S> {
    pub state: Option<S>,
    pub version: u64,
}

/// What a command committed.
#[derive(Clone, Debug, PartialEq)]
pub struct Committed<S> {
    /// The state after the new events.
    pub state: S,
    /// The events as stored (empty if the decision produced none).
    pub events: Vec<RecordedEvent>,
    /// The stream's version after the append.
    pub version: u64,
}

fn fold_error(stream: &str, e: FoldError) -> StoreError {
    StoreError::CorruptStream {
        stream: stream.to_owned(),
        reason: e.to_string(),
    }
}

/// Reads and folds the stream of `A` with this id. An unknown event type fails, naming it.
pub async fn load<A: Aggregate, S: EventStore>(
    store: &S,
    id: Uuid,
) -> Result<Loaded<A::State>, StoreError> {
    let stream = stream_name::<A>(id);
    let events = store.read_stream(&stream).await?;
    let version = events.last().map_or(0, |e| e.version);
    let mut state = A::initial();
    for recorded in events {
        let event: A::Event = recorded.into_decoded()?;
        state = Some(A::evolve(state, &event).map_err(|e| fold_error(&stream, e))?);
    }
    Ok(Loaded { state, version })
}

/// Appends events decided on `loaded` to the stream of `id`, with `pins`, at the loaded
/// version: the second half of [`super::execute`]. Every pin an event names must be among
/// `pins`, and every pin given must be named, so a pin and the events referring to it always
/// land together. No events on a non-empty stream commit nothing and report the state.
pub async fn commit<A: Aggregate, S: EventStore>(
    store: &S,
    id: Uuid,
    loaded: Loaded<A::State>,
    decided: Vec<A::Event>,
    pins: &[PinnedSteps],
) -> Result<Committed<A::State>, CommandError<A::Error>> {
    let stream = stream_name::<A>(id);
    check_pins::<A>(&decided, pins)?;
    if decided.is_empty() {
        let state = loaded
            .state
            .ok_or_else(|| StoreError::EmptyAppend { stream })?;
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
        state = Some(A::evolve(state, event).map_err(|e| fold_error(&stream, e))?);
    }
    let state = state.ok_or_else(|| StoreError::EmptyAppend {
        stream: stream.clone(),
    })?;
    let recorded = store
        .append(AppendRequest::new(&stream, loaded.version, &new_events).with_pins(pins))
        .await?;
    let version = recorded.last().map_or(loaded.version, |e| e.version);
    Ok(Committed {
        state,
        events: recorded,
        version,
    })
}

/// Refuses a pin no event names, and an event naming a pin that is missing or has another step
/// count.
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
