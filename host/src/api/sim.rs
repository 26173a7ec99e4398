//! `/sim/faults`: lifts the faults injected into the simulated beamline, so an operator can
//! rehearse a recovery on the dry-run beamline: inject a fault in the catalog, watch
//! try-conduct hold, "fix the motor", reconduct.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::state::ApiState;

/// What was lifted.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FaultsCleared {
    /// Simulated ports that had faults and have none now (0: nothing to lift).
    pub cleared_ports: usize,
}

/// Lifts every injected fault of the simulated beamline.
#[utoipa::path(
    delete, path = "/sim/faults", tag = "sim",
    responses((status = 200, body = FaultsCleared)),
    security(("bearer" = ["operate"]))
)]
pub async fn clear_faults(State(state): State<ApiState>) -> Result<Json<FaultsCleared>, ApiError> {
    let cleared_ports = state.conductor.router().clear_faults();
    tracing::info!(cleared_ports, "simulated faults lifted");
    Ok(Json(FaultsCleared { cleared_ports }))
}
