//! The pure core: steps, values, criteria, actuation kind, failure classes, and the Procedure and
//! Run aggregates (events, state, `decide`, `evolve`). Nothing in here does I/O, reads a clock or
//! makes an id: time and ids come in as arguments, so every function is property-testable.

pub mod actuation;
pub mod failure;
pub mod step;
pub mod value;

pub use actuation::ActuationKind;
pub use failure::FailureClass;
pub use step::{Action, Check, Name, Setpoint, Step, StepKind};
pub use value::{Criterion, CriterionError, Value};
