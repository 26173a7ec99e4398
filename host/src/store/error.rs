//! The store's typed errors. A version conflict, an unknown event type and a refused delete are
//! their own variants so callers (the handler, the HTTP layer) can map them without parsing text.

use uuid::Uuid;

/// Everything the store can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: someone appended to the stream since the caller read it.
    #[error("version conflict on stream {stream}: expected version {expected}, found {actual}")]
    Conflict {
        stream: String,
        expected: u64,
        actual: u64,
    },

    /// An append with no events: nothing to make atomic, and no version to move.
    #[error("append to stream {stream} carries no events")]
    EmptyAppend { stream: String },

    /// Stream names are non-empty and free of control characters.
    #[error("invalid stream name {0:?}")]
    InvalidStream(String),

    /// Event types are non-empty.
    #[error("event on stream {stream} has an empty type")]
    EmptyEventType { stream: String },

    /// Payloads are stored as real JSON objects; anything else is refused before it is written.
    #[error("event {event_type} on stream {stream}: payload must be a JSON object, got {kind}")]
    PayloadNotObject {
        stream: String,
        event_type: String,
        kind: &'static str,
    },

    /// A stored event whose type no decoder knows. Never skipped: folding past it would build a
    /// state that silently ignores history.
    #[error("unknown event type {event_type:?} at {stream} version {version}")]
    UnknownEventType {
        stream: String,
        version: u64,
        event_type: String,
    },

    /// A stored event of a known type whose payload does not decode.
    #[error("cannot decode event {event_type} at {stream} version {version}: {reason}")]
    Decode {
        stream: String,
        version: u64,
        event_type: String,
        reason: String,
    },

    /// A stream whose events decode but do not fold (no genesis, a repeated genesis, an id that
    /// does not match its stream).
    #[error("corrupt stream {stream}: {reason}")]
    CorruptStream { stream: String, reason: String },

    /// Pins and the events of an append disagree: an event names steps that were not given,
    /// with another count, or a pin is given that no event names.
    #[error("pinned steps {hash}: {reason}")]
    PinMismatch { hash: String, reason: String },

    /// Pinned steps whose content does not hash to the hash they are filed under.
    #[error("pinned steps claim hash {claimed} but hash to {actual}")]
    PinHashMismatch { claimed: String, actual: String },

    /// A journal entry that breaks the journal's rules (a failure without a class, ...).
    #[error("invalid journal entry {id}: {reason}")]
    InvalidJournalEntry { id: Uuid, reason: String },

    /// A component whose bytes do not hash to its digest.
    #[error("component digest {claimed} does not match its bytes (sha256 {actual})")]
    DigestMismatch { claimed: String, actual: String },

    /// A component's info must be a JSON object.
    #[error("component {digest}: info must be a JSON object")]
    InfoNotObject { digest: String },

    /// A component still referenced by procedures cannot be deleted.
    #[error("component {digest} is referenced by {procedures} procedure(s)")]
    ComponentInUse { digest: String, procedures: u64 },

    /// A page size outside 1..=MAX_PAGE, or a malformed cursor.
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    /// A store URL the store cannot open.
    #[error("invalid store url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// Data in the database that violates an invariant the store relies on.
    #[error("corrupt store data: {0}")]
    Corrupt(String),

    /// An embedded migration failed to apply.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// The database itself failed (connection, I/O, constraint).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// True for the optimistic-concurrency refusal (HTTP 409).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Converts a database integer that must be non-negative.
pub(crate) fn non_negative(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what}: {value}")))
}

/// Converts an API integer to the database's signed 64-bit integer.
pub(crate) fn to_db(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidQuery(format!("{what} {value} too large")))
}
