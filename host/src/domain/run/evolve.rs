//! `evolve` and `fold` for a Run stream, by struct update like the Procedure's.

use super::events::{RunEvent, RunStarted};
use super::state::{RunState, RunStatus};
use crate::domain::codec::{DomainEvent, FoldError};

fn genesis(e: &RunStarted) -> RunState {
    RunState {
        id: e.id,
        name: e.name.clone(),
        status: RunStatus::Running,
        status_reason: None,
        actuation_kind: Default::default(),
        started_at: e.started_at,
        last_changed_at: e.started_at,
        version: 1,
    }
}

/// The state after `event`; `None` is the empty stream, which only `RunStarted` may follow.
pub fn evolve(state: Option<RunState>, event: &RunEvent) -> Result<RunState, FoldError> {
    use RunEvent as E;
    use RunStatus as S;

    let Some(prior) = state else {
        return match event {
            E::Started(e) => Ok(genesis(e)),
            other => Err(FoldError::MissingGenesis {
                event_type: other.event_type(),
            }),
        };
    };
    let version = prior.version.saturating_add(1);
    Ok(match event {
        E::Started(_) => {
            return Err(FoldError::RepeatedGenesis {
                event_type: event.event_type(),
                version,
            });
        }
        E::Held(e) => RunState {
            status: S::Held,
            status_reason: Some(e.reason.clone()),
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::Resumed(e) => RunState {
            status: S::Running,
            status_reason: None,
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::Completed(e) => RunState {
            status: S::Completed,
            actuation_kind: prior.actuation_kind.join(e.actuation_kind),
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::Aborted(e) => RunState {
            status: S::Aborted,
            actuation_kind: prior.actuation_kind.join(e.actuation_kind),
            status_reason: Some(e.reason.clone()),
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::Stopped(e) => RunState {
            status: S::Stopped,
            actuation_kind: prior.actuation_kind.join(e.actuation_kind),
            status_reason: Some(e.reason.clone()),
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::Truncated(e) => RunState {
            status: S::Truncated,
            status_reason: Some(e.reason.clone()),
            last_changed_at: e.at,
            version,
            ..prior
        },
    })
}

/// Folds a Run stream; `Ok(None)` for an empty stream.
pub fn fold<'a>(
    events: impl IntoIterator<Item = &'a RunEvent>,
) -> Result<Option<RunState>, FoldError> {
    events
        .into_iter()
        .try_fold(None, |state, event| evolve(state, event).map(Some))
}
