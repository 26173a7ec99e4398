//! Why a command did not commit.

use crate::store::StoreError;

/// Why a command did not commit; `E` is the aggregate's refusal.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E> {
    /// The aggregate refused the command (wrong status, bad input, a guard).
    #[error(transparent)]
    Refused(E),
    /// A define names a component that is not registered.
    #[error("component {0} is not registered")]
    ComponentNotRegistered(String),
    /// The store failed or refused: a version conflict, a corrupt stream, a pin mismatch, the
    /// database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<E> CommandError<E> {
    /// True for the optimistic-concurrency conflict: someone else appended first.
    pub fn is_conflict(&self) -> bool {
        matches!(self, CommandError::Store(e) if e.is_conflict())
    }
}
