//! The Run aggregate: the parent experiment of procedures. Statuses `Running <-> Held ->
//! Completed | Aborted | Stopped | Truncated`. A procedure reads its Run's status as a guard;
//! nothing cascades between them.

pub mod events;
pub mod evolve;
pub mod state;

pub use events::{
    RunAborted, RunCompleted, RunEvent, RunHeld, RunResumed, RunStarted, RunStopped, RunTruncated,
};
pub use evolve::{evolve, fold};
pub use state::{RunState, RunStatus};
