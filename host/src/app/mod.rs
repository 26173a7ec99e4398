//! The application layer: every command of every aggregate goes through [`execute`], which
//! loads the stream (read, decode, fold), gathers the context the decision needs
//! ([`GatherContext`]: the parent Run's status, the registered component), decides (pure, from
//! the domain's [`Aggregate`]) and appends at the loaded version with the pins the events name,
//! in one transaction. The HTTP API, the CLI and the conductor all call it; `store` only
//! persists.
//!
//! Besides the commands, one query: [`export_documents`] reads what a procedure's event-model
//! documents are made from and exports them (for the HTTP routes and `baton export`).
//!
//! A conflict comes back as [`StoreError::Conflict`](crate::store::StoreError::Conflict) inside
//! [`CommandError::Store`]; nothing here retries, because a retry would re-decide on a state the
//! caller has not seen.

mod context;
mod documents;
mod error;
mod stream;

use time::OffsetDateTime;
use uuid::Uuid;

pub use context::GatherContext;
pub use documents::{ExportError, Exported, export_documents};
pub use error::CommandError;
pub use stream::{Committed, Loaded, commit, load};

use crate::store::{ComponentStore, EventStore, PinnedSteps};

/// Handles one command of aggregate `A` on the stream of `id` at `now`: load, gather the
/// context, decide, append. `pins` carries the step lists the decided events name (a start's
/// steps); a pin without an event naming it, or the reverse, is refused before anything lands.
pub async fn execute<A, S>(
    store: &S,
    id: Uuid,
    command: &A::Command,
    now: OffsetDateTime,
    pins: &[PinnedSteps],
) -> Result<Committed<A::State>, CommandError<A::Error>>
where
    A: GatherContext,
    S: EventStore + ComponentStore,
{
    let loaded = load::<A, S>(store, id).await?;
    let ctx = A::context(store, loaded.state.as_ref(), command, now).await?;
    let decided = A::decide(loaded.state.as_ref(), command, &ctx).map_err(CommandError::Refused)?;
    commit::<A, S>(store, id, loaded, decided, pins).await
}
