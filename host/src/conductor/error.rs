//! Why a conduct verb was refused before it ran anything. Each variant keeps enough to map to an
//! HTTP status: not found 404, wrong status / conflict / already conducting 409, bad boundary
//! 400, resolution or safety refusal 422, store or pin corruption 500.

use uuid::Uuid;

use crate::app::CommandError;
use crate::domain::procedure::ProcedureError;
use crate::ports::SafetyViolation;
use crate::sandbox::{LoadError, ResolveFailure};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ConductError {
    /// The procedure refused the transition (wrong status, claims remain, parent run guard).
    #[error(transparent)]
    Refused(#[from] ProcedureError),
    /// This process already conducts the procedure.
    #[error("procedure {0} is already being conducted by this host")]
    AlreadyConducting(Uuid),
    /// The boundary lies past the pinned list.
    #[error("boundary {boundary} is past the {step_count} pinned steps")]
    BoundaryPastEnd { boundary: u64, step_count: u64 },
    /// The component the procedure names is not in the store.
    #[error("component {0} is not registered")]
    ComponentMissing(String),
    /// The stored component no longer loads (e.g. the sandbox limits changed).
    #[error("component {digest} does not load: {error}")]
    ComponentLoad { digest: String, error: LoadError },
    /// The guest refused or failed to resolve; the procedure stays Defined.
    #[error("resolve failed: {0}")]
    Resolve(Box<ResolveFailure>),
    /// A resolved step violates the device catalog; the procedure stays Defined and no device
    /// was touched.
    #[error("safety check refused the conduct: {0}")]
    Safety(SafetyViolation),
    /// The pin a Running/Held procedure names has no stored steps.
    #[error("the steps pinned under {0} are missing from the store")]
    PinMissing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CommandError<ProcedureError>> for ConductError {
    fn from(e: CommandError<ProcedureError>) -> Self {
        match e {
            CommandError::Refused(e) => ConductError::Refused(e),
            CommandError::ComponentNotRegistered(d) => ConductError::ComponentMissing(d),
            CommandError::Store(e) => ConductError::Store(e),
        }
    }
}
