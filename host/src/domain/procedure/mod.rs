//! The Procedure aggregate (DESIGN §5): events, state, `decide` and `evolve`.
//!
//! Statuses `Defined -> Running <-> Held -> Completed | Aborted | Truncated`. Start and pin are
//! one command producing `[ProcedureStarted, ResolvedStepsRecorded]` for one atomic append.

pub mod command;
pub mod decide;
pub mod error;
pub mod events;
pub mod evolve;
pub mod pin;
pub mod state;

pub use command::{DefineProcedure, ProcedureCommand, ProcedureCommandKind, ProcedureContext};
pub use decide::{allowed_from, decide};
pub use error::ProcedureError;
pub use events::{
    IterationEnded, IterationStarted, ProcedureAborted, ProcedureCompleted, ProcedureDefined,
    ProcedureEvent, ProcedureHeld, ProcedureResumed, ProcedureStarted, ProcedureTruncated,
    ResolvedStepsRecorded,
};
pub use evolve::{evolve, fold};
pub use pin::{Pin, canonical_steps_json, sha256_hex};
pub use state::{ProcedureState, ProcedureStatus};
