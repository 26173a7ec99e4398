//! Raw events as the store sees them: a type name and a JSON object payload on a named stream,
//! plus the pinned steps an append may carry. Decoding into domain events happens above this.

use serde_json::Value as Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::{StoreError, json_kind};
use crate::domain::codec::DomainEvent;
use crate::domain::procedure::{Procedure, canonical_steps_json, sha256_hex as domain_sha256_hex};
use crate::domain::run::Run;
use crate::domain::{EventCodecError, Step, stream_id, stream_name};

/// The stream of one procedure (named by [`stream_name`], from the aggregate's category).
pub fn procedure_stream(id: Uuid) -> String {
    stream_name::<Procedure>(id)
}

/// The stream of one run.
pub fn run_stream(id: Uuid) -> String {
    stream_name::<Run>(id)
}

/// The procedure id of a procedure stream name, if it is one.
pub fn procedure_id_of(stream: &str) -> Option<Uuid> {
    stream_id::<Procedure>(stream)
}

/// The run id of a run stream name, if it is one.
pub fn run_id_of(stream: &str) -> Option<Uuid> {
    stream_id::<Run>(stream)
}

/// An event to append. The payload must be a JSON object.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub id: Uuid,
    pub event_type: String,
    pub payload: Json,
}

impl NewEvent {
    pub fn new(event_type: impl Into<String>, payload: Json) -> Self {
        NewEvent {
            id: Uuid::now_v7(),
            event_type: event_type.into(),
            payload,
        }
    }
}

/// An event as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent {
    pub id: Uuid,
    pub stream: String,
    /// 1-based position within the stream.
    pub version: u64,
    /// Global position across all streams (commit order, gaps possible).
    pub position: u64,
    pub event_type: String,
    pub payload: Json,
    pub recorded_at: OffsetDateTime,
}

/// One atomic append: all events land, with consecutive versions after `expected_version`, and
/// all pins with them, or nothing does.
#[derive(Clone, Copy, Debug)]
pub struct AppendRequest<'a> {
    pub stream: &'a str,
    /// The version the caller's decision was based on; 0 for a stream that must not exist yet.
    pub expected_version: u64,
    pub events: &'a [NewEvent],
    /// Step lists referenced by the events (by hash), written in the same transaction.
    pub pins: &'a [PinnedSteps],
}

impl<'a> AppendRequest<'a> {
    pub fn new(stream: &'a str, expected_version: u64, events: &'a [NewEvent]) -> Self {
        AppendRequest {
            stream,
            expected_version,
            events,
            pins: &[],
        }
    }

    pub fn with_pins(self, pins: &'a [PinnedSteps]) -> Self {
        AppendRequest { pins, ..self }
    }

    /// Checks everything that can be checked without the database, so a bad request is refused
    /// before a transaction starts.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.stream.is_empty() || self.stream.chars().any(char::is_control) {
            return Err(StoreError::InvalidStream(self.stream.to_owned()));
        }
        if self.events.is_empty() {
            return Err(StoreError::EmptyAppend {
                stream: self.stream.to_owned(),
            });
        }
        for event in self.events {
            if event.event_type.is_empty() {
                return Err(StoreError::EmptyEventType {
                    stream: self.stream.to_owned(),
                });
            }
            if !event.payload.is_object() {
                return Err(StoreError::PayloadNotObject {
                    stream: self.stream.to_owned(),
                    event_type: event.event_type.clone(),
                    kind: json_kind(&event.payload),
                });
            }
        }
        Ok(())
    }
}

impl AppendRequest<'_> {
    /// The stream's `actual` version if it is the one the caller expected, else the
    /// [`StoreError::Conflict`] both backends report.
    pub(crate) fn check_version(&self, actual: u64) -> Result<u64, StoreError> {
        if actual != self.expected_version {
            return Err(StoreError::Conflict {
                stream: self.stream.to_owned(),
                expected: self.expected_version,
                actual,
            });
        }
        Ok(actual)
    }

    /// What `event` of this request became once stored.
    pub(crate) fn recorded(
        &self,
        event: &NewEvent,
        version: u64,
        position: u64,
        recorded_at: OffsetDateTime,
    ) -> RecordedEvent {
        RecordedEvent {
            id: event.id,
            stream: self.stream.to_owned(),
            version,
            position,
            event_type: event.event_type.clone(),
            payload: event.payload.clone(),
            recorded_at,
        }
    }
}

/// A step list with the content hash it is filed under: sha256 (hex) of its canonical JSON
/// (`domain::procedure::canonical_steps_json`, the hash a `Pin` carries). Built only by
/// [`PinnedSteps::new`] (which computes the hash) or read back from the store (which checks
/// it), so a hash and its steps always agree.
#[derive(Clone, Debug, PartialEq)]
pub struct PinnedSteps {
    hash: String,
    json: String,
    steps: Vec<Step>,
}

impl PinnedSteps {
    /// Serializes the steps once and hashes that text.
    pub fn new(steps: Vec<Step>) -> Result<Self, StoreError> {
        let bytes = canonical_steps_json(&steps)
            .map_err(|e| StoreError::Corrupt(format!("steps do not serialize: {e}")))?;
        let hash = domain_sha256_hex(&bytes);
        let json = String::from_utf8(bytes)
            .map_err(|e| StoreError::Corrupt(format!("steps JSON is not UTF-8: {e}")))?;
        Ok(PinnedSteps { hash, json, steps })
    }

    /// Rebuilds a pin from stored JSON, checking that it still hashes to `hash`.
    pub(crate) fn from_stored(hash: &str, json: String) -> Result<Self, StoreError> {
        let steps: Vec<Step> = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("pinned steps {hash} do not decode: {e}")))?;
        let pin = PinnedSteps::new(steps)?;
        if pin.hash != hash {
            return Err(StoreError::PinHashMismatch {
                claimed: hash.to_owned(),
                actual: pin.hash,
            });
        }
        Ok(pin)
    }

    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn into_steps(self) -> Vec<Step> {
        self.steps
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub(crate) fn json(&self) -> &str {
        &self.json
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    domain_sha256_hex(bytes)
}

impl RecordedEvent {
    /// Decodes the event into a domain event. An unknown type is
    /// [`StoreError::UnknownEventType`], naming the type, the stream and the version.
    pub fn decode<E: DomainEvent>(&self) -> Result<E, StoreError> {
        E::from_stored(&self.event_type, self.payload.clone()).map_err(|e| self.codec_error(e))
    }

    /// [`Self::decode`] without copying the payload.
    pub fn into_decoded<E: DomainEvent>(mut self) -> Result<E, StoreError> {
        let payload = std::mem::take(&mut self.payload);
        E::from_stored(&self.event_type, payload).map_err(|e| self.codec_error(e))
    }

    fn codec_error(&self, e: EventCodecError) -> StoreError {
        match e {
            EventCodecError::UnknownType(event_type) => StoreError::UnknownEventType {
                stream: self.stream.clone(),
                version: self.version,
                event_type,
            },
            other => StoreError::Decode {
                stream: self.stream.clone(),
                version: self.version,
                event_type: self.event_type.clone(),
                reason: other.to_string(),
            },
        }
    }
}

/// The store's clock, truncated to microseconds (PostgreSQL's precision) and in UTC, so both
/// backends return exactly the instant they were given.
pub(crate) fn now() -> OffsetDateTime {
    normalize_time(OffsetDateTime::now_utc())
}

pub(crate) fn normalize_time(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).unwrap_or(t)
}
