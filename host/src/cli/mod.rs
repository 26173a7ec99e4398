//! The `baton` binary's commands, as library code so they can be tested; `main.rs` only parses
//! the command line and maps outcomes to exit codes.

pub mod conduct;
pub mod demo;
pub mod export;
pub mod serve;
pub mod token;
pub mod validate;
