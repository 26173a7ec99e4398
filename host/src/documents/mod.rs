//! A procedure as bluesky event-model documents: a pure function of its events, its pinned steps,
//! its component's name and version, and its step journal (no I/O, no clock, no random ids).
//!
//! One procedure is one run: `start` when it started; a `primary` stream with one event per
//! acquisition (an action's `ok` outcome: where every channel moved so far settled, the action's
//! results and the `step_index`); an `interruptions` stream with one event per hold and per
//! resume (holds do not end the run, reconducts add to it); `stop` once it is terminal.
//! Completed is `success`, an operator's abort `abort`, an abort caused by a failed step `fail`,
//! a truncation `fail` with a `truncated: …` reason; baton's own status is kept in `stop.baton`.
//!
//! uids are name-based (UUIDv5 of the procedure id, the document's role and its sequence), so
//! exporting twice gives identical documents. The export of a longer history begins with the
//! documents of any shorter one (the stop excepted, which only a terminal history has), so a
//! position in the sequence ([`Export::after`]) is a cursor a reader can continue from.
//!
//! A journal row that cannot be mapped (a malformed observation, a step index outside the pin, a
//! kind that disagrees with the pinned step, an acquisition without its results) is never
//! dropped in silence: it is listed in [`Export::gaps`] and, once the procedure is terminal, in
//! `stop.baton.gaps`.

mod build;
pub mod keys;
pub mod model;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

pub use keys::sanitise;
pub use model::{
    BatonStart, BatonStop, ComponentProvenance, DataKey, Descriptor, Document, Dtype, Event,
    ExitStatus, PinProvenance, RunStart, RunStop, StartHints,
};

use crate::domain::procedure::ProcedureEvent;
use crate::domain::{DomainEvent, EventCodecError, Step};
use crate::store::{JournalRecord, RecordedEvent};

/// The streams baton writes.
pub const PRIMARY: &str = "primary";
pub const INTERRUPTIONS: &str = "interruptions";

/// Everything the documents of one procedure are made from, as the store hands it out.
#[derive(Clone, Copy, Debug)]
pub struct ProcedureRecord<'a> {
    pub id: Uuid,
    /// The procedure's stream in version order, each event with its `recorded_at` (see
    /// [`decode_events`]).
    pub events: &'a [(ProcedureEvent, OffsetDateTime)],
    /// The pinned steps (`pinned_steps(pin.content_hash)`); empty before the start.
    pub steps: &'a [Step],
    /// The component the procedure was defined with (`component(digest).meta`).
    pub component: ComponentName<'a>,
    /// The whole journal, in sequence order.
    pub journal: &'a [JournalRecord],
}

/// A component's name and version (the digest comes from the events).
#[derive(Clone, Copy, Debug)]
pub struct ComponentName<'a> {
    pub name: &'a str,
    pub version: &'a str,
}

/// A journal row whose content is not (or not whole) in the documents, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub sequence: u64,
    pub step_index: u32,
    pub reason: String,
}

/// The documents of a procedure, in order, and the journal rows they could not carry.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    pub documents: Vec<Document>,
    pub gaps: Vec<Gap>,
}

impl Export {
    /// The documents after the first `position` (0: all of them; past the end: none).
    pub fn after(&self, position: usize) -> &[Document] {
        self.documents.get(position..).unwrap_or_default()
    }
}

/// Why a procedure has no documents.
#[derive(Debug, thiserror::Error)]
pub enum DocumentsError {
    #[error("the procedure's stream is empty")]
    Empty,
    #[error("the procedure's stream does not begin with ProcedureDefined")]
    MissingDefinition,
    /// A run begins when the procedure starts; before that there is nothing to export.
    #[error("procedure {0} has not started (status Defined)")]
    NotStarted(Uuid),
    #[error("procedure {0} started without a pin")]
    MissingPin(Uuid),
    #[error("the pin names {pinned} steps but {given} were given")]
    StepCount { pinned: u64, given: usize },
}

/// Decodes a procedure stream as the store returns it, pairing each event with `recorded_at`.
pub fn decode_events(
    recorded: &[RecordedEvent],
) -> Result<Vec<(ProcedureEvent, OffsetDateTime)>, EventCodecError> {
    recorded
        .iter()
        .map(|r| {
            ProcedureEvent::from_stored(&r.event_type, r.payload.clone())
                .map(|event| (event, r.recorded_at))
        })
        .collect()
}

/// The documents of a procedure, in causal order.
pub fn export(record: &ProcedureRecord<'_>) -> Result<Export, DocumentsError> {
    build::build(record)
}

/// The name-based uid of a document: UUIDv5 over `procedure/role`.
pub fn uid(procedure: Uuid, role: &str) -> Uuid {
    Uuid::new_v5(&UID_NAMESPACE, format!("{procedure}/{role}").as_bytes())
}

/// The namespace of baton's document uids (fixed once; changing it changes every uid).
const UID_NAMESPACE: Uuid = Uuid::from_u128(0x6b61_7461_6f6e_4e76_8d2c_5e0b_3f1a_9c47);

/// Seconds since the epoch, as event-model's `time`.
pub fn epoch_seconds(t: OffsetDateTime) -> f64 {
    t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1e9
}
