//! `evolve`: the state after one event, and `fold` over a stream. Every arm is a struct update
//! from the prior state, so a field an event does not mention is carried, never reset.

use super::events::{ProcedureDefined, ProcedureEvent};
use super::state::{ProcedureState, ProcedureStatus};
use crate::domain::codec::{DomainEvent, FoldError};
use crate::domain::hold::HoldClaims;
use crate::domain::iteration::Iterations;

fn genesis(e: &ProcedureDefined) -> ProcedureState {
    ProcedureState {
        id: e.id,
        name: e.name.clone(),
        component_digest: e.component_digest.clone(),
        params: e.params.clone(),
        parent_run: e.parent_run,
        status: ProcedureStatus::Defined,
        hold_claims: HoldClaims::new(),
        iterations: Iterations::with_cap(e.max_unconverged_iterations),
        actuation_kind: Default::default(),
        pin: None,
        status_reason: None,
        defined_at: e.defined_at,
        last_changed_at: e.defined_at,
        version: 1,
    }
}

/// The state after `event`. `None` is the empty stream; only the genesis event may follow it,
/// and only once.
pub fn evolve(
    state: Option<ProcedureState>,
    event: &ProcedureEvent,
) -> Result<ProcedureState, FoldError> {
    use ProcedureEvent as E;
    use ProcedureStatus as S;

    let Some(prior) = state else {
        return match event {
            E::Defined(e) => Ok(genesis(e)),
            other => Err(FoldError::MissingGenesis {
                event_type: other.event_type(),
            }),
        };
    };
    let version = prior.version.saturating_add(1);
    Ok(match event {
        E::Defined(_) => {
            return Err(FoldError::RepeatedGenesis {
                event_type: event.event_type(),
                version,
            });
        }
        E::Started(e) => ProcedureState {
            status: S::Running,
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::ResolvedStepsRecorded(e) => ProcedureState {
            pin: Some(e.pin.clone()),
            version,
            ..prior
        },
        E::IterationStarted(e) => ProcedureState {
            iterations: prior.iterations.started(e.index),
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::IterationEnded(e) => ProcedureState {
            iterations: prior.iterations.ended(e.converged),
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::Held(e) => ProcedureState {
            status: S::Held,
            hold_claims: prior.hold_claims.with(e.cause),
            actuation_kind: prior.actuation_kind.join(e.actuation_kind),
            status_reason: Some(e.reason.clone()),
            last_changed_at: e.at,
            version,
            ..prior
        },
        // A resume lands only when no claim is left, so it clears them all.
        E::Resumed(e) => ProcedureState {
            status: S::Running,
            hold_claims: HoldClaims::new(),
            status_reason: None,
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::Completed(e) => ProcedureState {
            status: S::Completed,
            hold_claims: HoldClaims::new(),
            actuation_kind: prior.actuation_kind.join(e.actuation_kind),
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::Aborted(e) => ProcedureState {
            status: S::Aborted,
            hold_claims: HoldClaims::new(),
            actuation_kind: prior.actuation_kind.join(e.actuation_kind),
            status_reason: Some(e.reason.clone()),
            last_changed_at: e.at,
            version,
            ..prior
        },
        E::Truncated(e) => ProcedureState {
            status: S::Truncated,
            hold_claims: HoldClaims::new(),
            status_reason: Some(e.reason.clone()),
            last_changed_at: e.at,
            version,
            ..prior
        },
    })
}

/// Folds a stream from its beginning. `Ok(None)` for an empty stream; a stream that does not
/// begin with `ProcedureDefined`, or repeats it, is corrupt.
pub fn fold<'a>(
    events: impl IntoIterator<Item = &'a ProcedureEvent>,
) -> Result<Option<ProcedureState>, FoldError> {
    events
        .into_iter()
        .try_fold(None, |state, event| evolve(state, event).map(Some))
}
