//! Why a procedure refuses to resolve: the two refusals the WIT contract knows.

use crate::bindings::baton::procedure::types as wit;

/// A refusal from `resolve`. The host shows the message to the operator as it is, so say which
/// parameter or channel is at fault and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The parameters are wrong: missing, of the wrong kind, out of range, inconsistent.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// The parameters are fine but no plan can be made, e.g. a readback is unusable.
    #[error("resolution failed: {0}")]
    Failed(String),
}

impl ResolveError {
    /// Shorthand for [`ResolveError::InvalidParams`].
    pub fn invalid_params(message: impl Into<String>) -> Self {
        ResolveError::InvalidParams(message.into())
    }

    /// Shorthand for [`ResolveError::Failed`].
    pub fn failed(message: impl Into<String>) -> Self {
        ResolveError::Failed(message.into())
    }

    /// The message without the "invalid parameters: " or "resolution failed: " prefix.
    pub fn message(&self) -> &str {
        match self {
            ResolveError::InvalidParams(m) | ResolveError::Failed(m) => m,
        }
    }
}

impl From<ResolveError> for wit::ResolveError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::InvalidParams(m) => wit::ResolveError::InvalidParams(m),
            ResolveError::Failed(m) => wit::ResolveError::Failed(m),
        }
    }
}
