//! The pure core: steps, values, criteria, actuation kind, failure classes, and the Procedure and
//! Run aggregates (events, state, `decide`, `evolve`). Nothing in here does I/O, reads a clock or
//! makes an id: time and ids come in as arguments, so every function is property-testable.

pub mod actuation;
pub mod aggregate;
pub mod codec;
pub mod failure;
pub mod hold;
pub mod input;
pub mod iteration;
pub mod observation;
pub mod procedure;
pub mod refusal;
pub mod run;
pub mod step;
#[cfg(test)]
mod testkit;
pub mod value;

pub use actuation::ActuationKind;
pub use aggregate::{Aggregate, stream_id, stream_name, stream_prefix};
pub use codec::{DomainEvent, EventCodecError, FoldError};
pub use failure::FailureClass;
pub use hold::{HoldCause, HoldClaims};
pub use input::InvalidInput;
pub use iteration::{IterationConflict, IterationIndexError, Iterations};
pub use observation::{Observation, ObservationError, Quality, Reading};
pub use refusal::RefusalKind;
pub use step::{Action, Check, Name, Setpoint, Step, StepKind};
pub use value::{Criterion, CriterionError, Value};
