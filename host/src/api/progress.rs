//! Progress of a procedure: steps done of the pinned count, and an ETA while it runs. Steps done
//! are the distinct steps with an `ok` in the journal (so a reconduct does not count a step
//! twice). The ETA extrapolates the pace of the conduct running here (time since it began over
//! the steps it finished); for a conduct another host runs, a progress stream passes the pace
//! it measured from the journal's timestamps instead.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ApiError;
use super::state::ApiState;
use crate::domain::procedure::ProcedureStatus;
use crate::store::StepJournal;

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Progress {
    /// Distinct steps that ran to `ok`.
    pub done: u64,
    /// Steps pinned (0 before the first conduct).
    pub total: u64,
    /// A conduct of this procedure runs in this host now.
    pub conducting: bool,
    /// Seconds until the last step, at the current pace; absent unless Running with a pace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<f64>,
}

/// The progress of `id`. `pace` is seconds per step measured elsewhere, used when no conduct
/// runs here.
pub async fn progress(
    state: &ApiState,
    id: Uuid,
    total: u64,
    status: ProcedureStatus,
    pace: Option<f64>,
) -> Result<Progress, ApiError> {
    let done = state.store().completed_steps(id).await?.min(total);
    let active = state.active(id);
    let local_pace = active.and_then(|active| {
        let completed = state.active_completed(id)?;
        (completed > 0).then(|| active.since.elapsed().as_secs_f64() / completed as f64)
    });
    let eta_seconds = match (status, local_pace.or(pace)) {
        (ProcedureStatus::Running, Some(per_step)) if per_step.is_finite() => {
            Some(per_step * total.saturating_sub(done) as f64)
        }
        _ => None,
    };
    Ok(Progress {
        done,
        total,
        conducting: active.is_some(),
        eta_seconds,
    })
}
