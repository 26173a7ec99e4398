//! The walk behind [`super::export`]: the procedure's events and journal rows merged into one
//! timeline, each turned into the documents it causes.
//!
//! The timeline is ordered by time (an event's `recorded_at`, a row's `at`, both taken after the
//! fact they record), and on a tie an event that opens a segment (start, resume) comes before the
//! rows and one that closes it (hold, the terminal events) after them, as the conductor wrote
//! them.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, Keys, Source};
use super::model::{
    BatonStart, BatonStop, ComponentProvenance, DataKey, Descriptor, Document, Event, ExitStatus,
    PinProvenance, RunStart, RunStop, StartHints,
};
use super::{DocumentsError, Export, Gap, INTERRUPTIONS, PRIMARY, ProcedureRecord};
use crate::domain::observation::Observation;
use crate::domain::procedure::{Pin, ProcedureDefined, ProcedureEvent};
use crate::domain::{Step, StepKind, Value};
use crate::store::{JournalRecord, StepResult};

pub(super) fn build(record: &ProcedureRecord<'_>) -> Result<Export, DocumentsError> {
    let (defined, started_at, pin) = preamble(record)?;
    if pin.step_count != record.steps.len() as u64 {
        return Err(DocumentsError::StepCount {
            pinned: pin.step_count,
            given: record.steps.len(),
        });
    }
    let mut walk = Walk::new(record);
    let start = walk.start(defined, started_at, pin);
    walk.documents.push(Document::Start(start));

    let mut journal: Vec<&JournalRecord> = record.journal.iter().collect();
    journal.sort_by_key(|r| r.sequence);
    let mut rows = journal.into_iter().peekable();
    for (event, at) in record.events {
        let rank = rank(event);
        while let Some(row) = rows.next_if(|row| (row.entry.at, 1) < (*at, rank)) {
            walk.row(row);
        }
        walk.event(event, *at);
    }
    for row in rows {
        walk.row(row);
    }
    Ok(Export {
        documents: walk.documents,
        gaps: walk.gaps,
    })
}

/// The definition, when the procedure started, and its pin.
fn preamble<'a>(
    record: &ProcedureRecord<'a>,
) -> Result<(&'a ProcedureDefined, OffsetDateTime, &'a Pin), DocumentsError> {
    let Some((first, _)) = record.events.first() else {
        return Err(DocumentsError::Empty);
    };
    let ProcedureEvent::Defined(defined) = first else {
        return Err(DocumentsError::MissingDefinition);
    };
    let started_at = record
        .events
        .iter()
        .find_map(|(e, at)| matches!(e, ProcedureEvent::Started(_)).then_some(*at))
        .ok_or(DocumentsError::NotStarted(record.id))?;
    let pin = record
        .events
        .iter()
        .find_map(|(e, _)| match e {
            ProcedureEvent::ResolvedStepsRecorded(r) => Some(&r.pin),
            _ => None,
        })
        .ok_or(DocumentsError::MissingPin(record.id))?;
    Ok((defined, started_at, pin))
}

/// Where an event sorts among journal rows of the same instant: 0 before, 2 after (rows are 1).
fn rank(event: &ProcedureEvent) -> u8 {
    match event {
        ProcedureEvent::Defined(_)
        | ProcedureEvent::Started(_)
        | ProcedureEvent::ResolvedStepsRecorded(_)
        | ProcedureEvent::IterationStarted(_)
        | ProcedureEvent::Resumed(_) => 0,
        ProcedureEvent::IterationEnded(_)
        | ProcedureEvent::Held(_)
        | ProcedureEvent::Completed(_)
        | ProcedureEvent::Aborted(_)
        | ProcedureEvent::Truncated(_) => 2,
    }
}

/// One stream's running state.
#[derive(Debug, Default)]
struct Stream {
    /// The current descriptor's uid and data keys.
    descriptor: Option<(Uuid, BTreeMap<String, DataKey>)>,
    descriptors: u64,
    events: u64,
}

struct Walk<'a> {
    record: &'a ProcedureRecord<'a>,
    run_start: Uuid,
    keys: Keys,
    step_index_key: String,
    /// Where each moved channel last settled, and when: data key → (channel, value, time).
    positions: BTreeMap<String, (&'a str, Value, OffsetDateTime)>,
    primary: Stream,
    interruptions: Stream,
    /// Where the plan stands: the step after the last one that ran to `ok`, the step that
    /// failed or was left in flight, or the boundary of the last resume. A hold records it.
    next_step: u64,
    /// The last row walked since the last hold or resume was a failure: an abort now is the
    /// conduct's answer to a failed step, not an operator's.
    failed: bool,
    stopped: bool,
    documents: Vec<Document>,
    gaps: Vec<Gap>,
}

impl<'a> Walk<'a> {
    fn new(record: &'a ProcedureRecord<'a>) -> Self {
        let mut keys = Keys::default();
        let step_index_key = keys.key(Source::Baton("step_index"));
        // Channels first, in plan order, so their keys (named in `start.motors`) never depend on
        // which result names a device happens to return first.
        for step in record.steps {
            if let Step::Setpoint(sp) = step {
                keys.key(Source::Channel(sp.channel.to_string()));
            }
        }
        Walk {
            record,
            run_start: super::uid(record.id, "start"),
            keys,
            step_index_key,
            positions: BTreeMap::new(),
            primary: Stream::default(),
            interruptions: Stream::default(),
            next_step: 0,
            failed: false,
            stopped: false,
            documents: Vec::new(),
            gaps: Vec::new(),
        }
    }

    fn start(&mut self, defined: &ProcedureDefined, at: OffsetDateTime, pin: &Pin) -> RunStart {
        let mut motors: Vec<String> = Vec::new();
        let mut detectors: Vec<String> = Vec::new();
        let mut num_points = 0;
        for step in self.record.steps {
            match step {
                Step::Setpoint(sp) => {
                    let key = self.keys.key(Source::Channel(sp.channel.to_string()));
                    if !motors.contains(&key) {
                        motors.push(key);
                    }
                }
                Step::Action(action) => {
                    num_points += 1;
                    let prefix = keys::sanitise(&action.device);
                    if !detectors.contains(&prefix) {
                        detectors.push(prefix);
                    }
                }
                Step::Check(_) => {}
            }
        }
        let mut taken = std::collections::BTreeSet::new();
        let plan_args = defined
            .params
            .iter()
            .map(|(name, value)| {
                let key = keys::unique(&taken, keys::sanitise(name));
                taken.insert(key.clone());
                (key, value.to_plain_json())
            })
            .collect();
        RunStart {
            uid: self.run_start,
            time: super::epoch_seconds(at),
            plan_name: self.record.component.name.to_owned(),
            plan_args,
            num_points,
            hints: dimensions_hint_of(&motors),
            motors,
            detectors,
            baton: BatonStart {
                procedure: self.record.id,
                name: defined.name.clone(),
                component: ComponentProvenance {
                    digest: defined.component_digest.clone(),
                    name: self.record.component.name.to_owned(),
                    version: self.record.component.version.to_owned(),
                },
                pin: PinProvenance {
                    content_hash: pin.content_hash.clone(),
                    step_count: pin.step_count,
                    limits_revision: pin.limits_revision.clone(),
                },
                parent_run: defined.parent_run,
                observed_reads: pin
                    .observed_reads
                    .iter()
                    .map(|(channel, value)| (channel.clone(), value.to_plain_json()))
                    .collect(),
            },
        }
    }

    fn gap(&mut self, row: &JournalRecord, reason: String) {
        self.gaps.push(Gap {
            sequence: row.sequence,
            step_index: row.entry.step_index,
            reason,
        });
    }

    fn row(&mut self, row: &'a JournalRecord) {
        if self.stopped {
            self.gap(row, "journaled after the procedure ended".to_owned());
            return;
        }
        let index = row.entry.step_index;
        self.failed = matches!(row.entry.result, StepResult::Failed(_));
        self.next_step = match row.entry.result {
            StepResult::Ok => u64::from(index) + 1,
            StepResult::InFlight | StepResult::Failed(_) => u64::from(index),
        };
        if row.entry.result != StepResult::Ok {
            return;
        }
        let Some(step) = self.record.steps.get(index as usize) else {
            self.gap(
                row,
                format!(
                    "step index {index} is outside the pin ({} steps)",
                    self.record.steps.len()
                ),
            );
            return;
        };
        if step.kind() != row.entry.step_kind {
            self.gap(
                row,
                format!(
                    "journaled as a {} but step {index} is a {}",
                    row.entry.step_kind.as_str(),
                    step.kind().as_str()
                ),
            );
            return;
        }
        let observation = match Observation::from_detail(&row.entry.detail) {
            Ok(observation) => observation,
            Err(error) => {
                self.gap(row, error.to_string());
                return;
            }
        };
        if let Some(o) = &observation
            && observation_kind(o) != step.kind()
        {
            self.gap(
                row,
                format!(
                    "a {} observation on a {} step",
                    observation_kind(o).as_str(),
                    step.kind().as_str()
                ),
            );
            return;
        }
        match step {
            Step::Setpoint(sp) => {
                // A row from before observations: the write completed (and settled, if it had a
                // readback) at its target.
                let settled = observation
                    .as_ref()
                    .and_then(Observation::settled)
                    .unwrap_or(&sp.value)
                    .clone();
                let key = self.keys.key(Source::Channel(sp.channel.to_string()));
                self.positions
                    .insert(key, (&*sp.channel, settled, row.entry.at));
            }
            Step::Check(_) => {}
            Step::Action(action) => {
                let results = match observation {
                    Some(Observation::Action { results }) => results,
                    _ => {
                        self.gap(
                            row,
                            "an acquisition without recorded results (journaled before observations): its event has the positions only".to_owned(),
                        );
                        BTreeMap::new()
                    }
                };
                self.acquisition(row, &action.device, results);
            }
        }
    }

    fn acquisition(&mut self, row: &JournalRecord, device: &str, results: BTreeMap<String, Value>) {
        let at = super::epoch_seconds(row.entry.at);
        let mut keys = BTreeMap::new();
        let mut data = BTreeMap::new();
        let mut timestamps = BTreeMap::new();
        let index = Value::Int(i64::from(row.entry.step_index));
        keys.insert(self.step_index_key.clone(), key_of(&index, "procedure"));
        data.insert(self.step_index_key.clone(), index.to_plain_json());
        timestamps.insert(self.step_index_key.clone(), at);
        for (key, (channel, value, settled_at)) in &self.positions {
            keys.insert(key.clone(), keys::data_key(value, channel));
            data.insert(key.clone(), value.to_plain_json());
            timestamps.insert(key.clone(), super::epoch_seconds(*settled_at));
        }
        for (name, value) in results {
            let key = self.keys.key(Source::Result {
                device: device.to_owned(),
                name: name.clone(),
            });
            keys.insert(key.clone(), keys::data_key(&value, device));
            data.insert(key.clone(), value.to_plain_json());
            timestamps.insert(key, at);
        }
        self.emit(PRIMARY, at, keys, data, timestamps);
    }

    fn interruption(&mut self, text: String, boundary: u64, at: OffsetDateTime) {
        let at = super::epoch_seconds(at);
        let text = Value::Text(text);
        let boundary = Value::Int(i64::try_from(boundary).unwrap_or(i64::MAX));
        let keys = BTreeMap::from([
            ("interruption".to_owned(), key_of(&text, "procedure")),
            ("boundary".to_owned(), key_of(&boundary, "procedure")),
        ]);
        let data = BTreeMap::from([
            ("interruption".to_owned(), text.to_plain_json()),
            ("boundary".to_owned(), boundary.to_plain_json()),
        ]);
        let timestamps =
            BTreeMap::from([("interruption".to_owned(), at), ("boundary".to_owned(), at)]);
        self.emit(INTERRUPTIONS, at, keys, data, timestamps);
    }

    /// Emits an event on `name`, preceded by a new descriptor when the stream has none yet or
    /// the event brings a key its descriptor does not describe as it is.
    fn emit(
        &mut self,
        name: &str,
        time: f64,
        keys: BTreeMap<String, DataKey>,
        data: BTreeMap<String, Json>,
        timestamps: BTreeMap<String, f64>,
    ) {
        let procedure = self.record.id;
        let run_start = self.run_start;
        let stream = if name == PRIMARY {
            &mut self.primary
        } else {
            &mut self.interruptions
        };
        let described = stream
            .descriptor
            .as_ref()
            .is_some_and(|(_, described)| keys.iter().all(|(k, v)| described.get(k) == Some(v)));
        if !described {
            // Keys only grow: earlier columns stay described for events that lack them.
            let mut data_keys = stream
                .descriptor
                .take()
                .map(|(_, described)| described)
                .unwrap_or_default();
            data_keys.extend(keys);
            stream.descriptors += 1;
            let uid = super::uid(
                procedure,
                &format!("descriptor/{name}/{}", stream.descriptors),
            );
            stream.descriptor = Some((uid, data_keys.clone()));
            self.documents.push(Document::Descriptor(Descriptor {
                uid,
                time,
                run_start,
                name: name.to_owned(),
                data_keys,
            }));
        }
        let stream = if name == PRIMARY {
            &mut self.primary
        } else {
            &mut self.interruptions
        };
        stream.events += 1;
        let descriptor = stream
            .descriptor
            .as_ref()
            .map_or(Uuid::nil(), |(uid, _)| *uid);
        let seq_num = stream.events;
        self.documents.push(Document::Event(Event {
            uid: super::uid(procedure, &format!("event/{name}/{seq_num}")),
            descriptor,
            seq_num,
            time,
            data,
            timestamps,
        }));
    }

    fn event(&mut self, event: &ProcedureEvent, at: OffsetDateTime) {
        if self.stopped {
            return;
        }
        match event {
            ProcedureEvent::Held(held) => {
                self.failed = false;
                let text = format!("hold: {} ({})", held.reason, held.cause);
                self.interruption(text, self.next_step, at);
            }
            ProcedureEvent::Resumed(resumed) => {
                let released: Vec<&str> = resumed.released.iter().map(|c| c.as_str()).collect();
                let text = format!(
                    "resume: by {} (released {})",
                    resumed.cause,
                    released.join(", ")
                );
                self.failed = false;
                self.next_step = resumed.boundary;
                self.interruption(text, resumed.boundary, at);
            }
            ProcedureEvent::Completed(done) => {
                self.stop(
                    at,
                    ExitStatus::Success,
                    String::new(),
                    "Completed",
                    Some(done.actuation_kind.as_str()),
                );
            }
            ProcedureEvent::Aborted(aborted) => {
                // A conduct aborts on a failed step right after journaling the failure; an
                // operator's abort comes at a step boundary or while held.
                let status = if self.failed {
                    ExitStatus::Fail
                } else {
                    ExitStatus::Abort
                };
                self.stop(
                    at,
                    status,
                    aborted.reason.clone(),
                    "Aborted",
                    Some(aborted.actuation_kind.as_str()),
                );
            }
            ProcedureEvent::Truncated(truncated) => {
                self.stop(
                    at,
                    ExitStatus::Fail,
                    format!("truncated: {}", truncated.reason),
                    "Truncated",
                    None,
                );
            }
            ProcedureEvent::Defined(_)
            | ProcedureEvent::Started(_)
            | ProcedureEvent::ResolvedStepsRecorded(_)
            | ProcedureEvent::IterationStarted(_)
            | ProcedureEvent::IterationEnded(_) => {}
        }
    }

    fn stop(
        &mut self,
        at: OffsetDateTime,
        exit_status: ExitStatus,
        reason: String,
        status: &str,
        actuation_kind: Option<&str>,
    ) {
        self.stopped = true;
        let mut num_events = BTreeMap::new();
        for (name, stream) in [
            (PRIMARY, &self.primary),
            (INTERRUPTIONS, &self.interruptions),
        ] {
            if stream.descriptors > 0 {
                num_events.insert(name.to_owned(), stream.events);
            }
        }
        self.documents.push(Document::Stop(RunStop {
            uid: super::uid(self.record.id, "stop"),
            time: super::epoch_seconds(at),
            run_start: self.run_start,
            exit_status,
            reason,
            num_events,
            baton: BatonStop {
                status: status.to_owned(),
                actuation_kind: actuation_kind.map(str::to_owned),
                gaps: self.gaps.clone(),
            },
        }));
    }
}

fn dimensions_hint_of(motors: &[String]) -> StartHints {
    StartHints {
        dimensions: motors
            .iter()
            .map(|m| (vec![m.clone()], PRIMARY.to_owned()))
            .collect(),
    }
}

/// A data key for one of baton's own columns.
fn key_of(value: &Value, object_name: &str) -> DataKey {
    keys::data_key(value, object_name)
}

fn observation_kind(o: &Observation) -> StepKind {
    match o {
        Observation::Setpoint { .. } => StepKind::Setpoint,
        Observation::Check { .. } => StepKind::Check,
        Observation::Action { .. } => StepKind::Action,
    }
}
