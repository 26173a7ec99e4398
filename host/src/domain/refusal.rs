//! The class of a refused command, for the edge to map (HTTP 404 / 409 / 422).

/// What kind of refusal an aggregate error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// The aggregate does not exist (404).
    NotFound,
    /// The command does not fit the current state: wrong status, claims remain, a guard on
    /// another aggregate (409).
    Conflict,
    /// The command's input is malformed or refers to something that does not exist (400/422).
    Invalid,
}
