//! The event-model documents baton emits, as typed structs, and their wire form: each
//! [`Document`] serialises to the `[name, doc]` pair that suitcase-jsonl writes one per line and
//! databroker's JSONL reader and Tiled's writer take.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeTuple;
use serde_json::Value as Json;
use uuid::Uuid;

/// One document, in the order a run emits them.
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    Start(RunStart),
    Descriptor(Descriptor),
    Event(Event),
    Stop(RunStop),
}

impl Document {
    /// The event-model document name: `start`, `descriptor`, `event`, `stop`.
    pub fn name(&self) -> &'static str {
        match self {
            Document::Start(_) => "start",
            Document::Descriptor(_) => "descriptor",
            Document::Event(_) => "event",
            Document::Stop(_) => "stop",
        }
    }

    pub fn uid(&self) -> Uuid {
        match self {
            Document::Start(d) => d.uid,
            Document::Descriptor(d) => d.uid,
            Document::Event(d) => d.uid,
            Document::Stop(d) => d.uid,
        }
    }
}

/// `[name, doc]`.
impl Serialize for Document {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut pair = serializer.serialize_tuple(2)?;
        pair.serialize_element(self.name())?;
        match self {
            Document::Start(d) => pair.serialize_element(d)?,
            Document::Descriptor(d) => pair.serialize_element(d)?,
            Document::Event(d) => pair.serialize_element(d)?,
            Document::Stop(d) => pair.serialize_element(d)?,
        }
        pair.end()
    }
}

/// `start` (RunStart): one per procedure, at the time it started.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunStart {
    pub uid: Uuid,
    /// Seconds since the epoch.
    pub time: f64,
    /// The component's name.
    pub plan_name: String,
    /// The parameters, by (sanitised) name, as plain JSON values.
    pub plan_args: BTreeMap<String, Json>,
    /// Acquisitions planned: the action steps in the pin.
    pub num_points: u64,
    /// Data keys of the channels the plan moves, in the order it first moves them.
    pub motors: Vec<String>,
    /// Data-key prefixes of the devices the plan acts on, in the order it first acts on them.
    pub detectors: Vec<String>,
    pub hints: StartHints,
    pub baton: BatonStart,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StartHints {
    /// `[[[data key], "primary"], …]`, slow axis first (the first channel the plan moves).
    pub dimensions: Vec<(Vec<String>, String)>,
}

/// baton's own provenance under `start.baton`. Anything keyed by a channel is a list of pairs:
/// the schema refuses `.` and `/` in keys at any depth.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatonStart {
    pub procedure: Uuid,
    /// The procedure's name.
    pub name: String,
    pub component: ComponentProvenance,
    pub pin: PinProvenance,
    pub parent_run: Option<Uuid>,
    /// What the guest was shown while resolving: `[[channel, value], …]`.
    pub observed_reads: Vec<(String, Json)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentProvenance {
    pub digest: String,
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PinProvenance {
    pub content_hash: String,
    pub step_count: u64,
    pub limits_revision: String,
}

/// `descriptor`: the data keys of a stream's events. A stream gets a new descriptor when an
/// event brings a key (or a new type or shape for one) its current descriptor lacks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Descriptor {
    pub uid: Uuid,
    pub time: f64,
    pub run_start: Uuid,
    /// The stream: `primary` or `interruptions`.
    pub name: String,
    pub data_keys: BTreeMap<String, DataKey>,
}

/// One column of a stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataKey {
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    /// `baton:<channel or device>`, or `baton:procedure` for baton's own columns.
    pub source: String,
    /// The real channel or device name, which the key had to sanitise.
    pub object_name: String,
}

/// event-model's broad JSON types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dtype {
    Number,
    Integer,
    String,
    Array,
    Boolean,
}

/// `event`: one row of a stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub uid: Uuid,
    pub descriptor: Uuid,
    /// From 1, per stream.
    pub seq_num: u64,
    pub time: f64,
    pub data: BTreeMap<String, Json>,
    pub timestamps: BTreeMap<String, f64>,
}

/// `stop` (RunStop): once the procedure is terminal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunStop {
    pub uid: Uuid,
    pub time: f64,
    pub run_start: Uuid,
    pub exit_status: ExitStatus,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Events per stream, for every stream that has a descriptor.
    pub num_events: BTreeMap<String, u64>,
    pub baton: BatonStop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    Success,
    Abort,
    Fail,
}

/// baton's own view of the end under `stop.baton`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatonStop {
    /// `Completed`, `Aborted` or `Truncated`.
    pub status: String,
    /// The actuation kind the terminal event carries (none for a truncation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actuation_kind: Option<String>,
    /// Journal rows that did not make it (whole) into the documents.
    pub gaps: Vec<super::Gap>,
}
