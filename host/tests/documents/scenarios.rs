//! Procedures built from domain events and journal entries, as the conductor would have left
//! them: a grid scan, an energy scan, a held-then-reconducted scan, an operator's abort, an abort
//! on a failed step, a truncation, one still running, and one with rows that cannot be mapped.

use std::collections::BTreeMap;

use baton_host::documents::{self, ComponentName, Export, ProcedureRecord};
use baton_host::domain::observation::{Observation, Quality, Reading};
use baton_host::domain::procedure::{
    Pin, ProcedureAborted, ProcedureCompleted, ProcedureDefined, ProcedureEvent, ProcedureHeld,
    ProcedureResumed, ProcedureStarted, ProcedureTruncated, ResolvedStepsRecorded,
};
use baton_host::domain::{
    Action, ActuationKind, FailureClass, HoldCause, Setpoint, Step, StepKind, Value,
};
use baton_host::store::{JournalEntry, JournalRecord, StepResult};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00.25 UTC);

/// A procedure's history, appended to as a conduct would.
pub struct Scenario {
    pub name: &'static str,
    pub id: Uuid,
    pub steps: Vec<Step>,
    pub events: Vec<(ProcedureEvent, OffsetDateTime)>,
    pub journal: Vec<JournalRecord>,
    clock: OffsetDateTime,
}

pub fn setpoint(channel: &str, value: f64) -> Step {
    Step::Setpoint(Setpoint {
        channel: channel.into(),
        value: Value::Float(value),
        readback: Some(format!("{channel}.RBV").into()),
        tolerance: Some(0.01),
        settle_ms: None,
    })
}

pub fn acquire(device: &str) -> Step {
    Step::Action(Action {
        device: device.into(),
        command: "acquire".into(),
        args: vec![("exposure".into(), Value::Float(0.1))],
        timeout_ms: None,
    })
}

/// `ny` rows of `nx` points: a setpoint of `sim:my` per row, of `sim:mx` and an acquisition of
/// `sim:det` per point.
pub fn grid_steps(nx: usize, ny: usize) -> Vec<Step> {
    let mut steps = Vec::new();
    for y in 0..ny {
        steps.push(setpoint("sim:my", y as f64));
        for x in 0..nx {
            steps.push(setpoint("sim:mx", x as f64 * 0.5));
            steps.push(acquire("sim:det"));
        }
    }
    steps
}

/// What the device "read back" for a setpoint to `target`: a little off, as a real axis.
pub fn readback_of(target: f64) -> f64 {
    target + 0.001
}

impl Scenario {
    /// Defined and started, with `steps` pinned.
    pub fn started(name: &'static str, steps: Vec<Step>) -> Scenario {
        let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes());
        let params = vec![
            ("nx".to_owned(), Value::Int(3)),
            ("x.start".to_owned(), Value::Float(0.0)),
            ("label".to_owned(), Value::Text(name.to_owned())),
        ];
        let pin = Pin::for_steps(
            &steps,
            "ab".repeat(32),
            params.clone(),
            vec![("sim:mx.RBV".to_owned(), Value::Float(0.0))],
            "rev-1".to_owned(),
        )
        .unwrap();
        let mut s = Scenario {
            name,
            id,
            steps,
            events: Vec::new(),
            journal: Vec::new(),
            clock: T0,
        };
        let at = s.tick();
        s.events.push((
            ProcedureDefined {
                id,
                name: format!("{name} #1"),
                component_digest: "ab".repeat(32),
                params,
                parent_run: None,
                max_unconverged_iterations: None,
                defined_at: at,
            }
            .into(),
            at,
        ));
        let at = s.tick();
        s.events.push((ProcedureStarted { at }.into(), at));
        s.events.push((ResolvedStepsRecorded { pin }.into(), at));
        s
    }

    fn tick(&mut self) -> OffsetDateTime {
        self.clock += Duration::milliseconds(7);
        self.clock
    }

    fn row(&mut self, step_index: usize, result: StepResult, detail: serde_json::Value) {
        let at = self.tick();
        let kind = self.steps[step_index].kind();
        let sequence = self.journal.len() as u64 + 1;
        self.journal.push(JournalRecord {
            sequence,
            entry: JournalEntry::new(self.id, step_index as u32, kind, result, at)
                .with_detail(detail),
        });
    }

    /// The detail the conductor writes for `step` (target keys, actuation).
    fn detail(&self, step_index: usize) -> serde_json::Value {
        match &self.steps[step_index] {
            Step::Setpoint(sp) => json!({ "channel": &*sp.channel, "value": sp.value }),
            Step::Check(c) => json!({ "channel": &*c.channel }),
            Step::Action(a) => json!({ "device": &*a.device, "command": &*a.command }),
        }
    }

    /// The step runs to `ok` and its observation is journaled (the marker first, for effects).
    pub fn ok(&mut self, step_index: usize, observation: Observation) {
        if self.steps[step_index].kind().has_effect() {
            let marker = self.detail(step_index);
            self.row(step_index, StepResult::InFlight, marker);
        }
        let mut detail = self.detail(step_index);
        detail["actuation"] = json!("simulated");
        observation.insert_into(&mut detail).unwrap();
        self.row(step_index, StepResult::Ok, detail);
    }

    /// Runs `steps[from..to]` to `ok`, observing what a healthy simulator would.
    pub fn run(&mut self, from: usize, to: usize) {
        for index in from..to {
            let observation = match &self.steps[index] {
                Step::Setpoint(sp) => {
                    let target = sp.value.as_number().unwrap();
                    Observation::Setpoint {
                        target: sp.value.clone(),
                        readback: Some(Reading {
                            value: Value::Float(readback_of(target)),
                            quality: Quality::Good,
                        }),
                    }
                }
                Step::Check(_) => Observation::Check {
                    reading: Reading {
                        value: Value::Int(1),
                        quality: Quality::Good,
                    },
                },
                Step::Action(_) => Observation::Action {
                    results: results_for(index),
                },
            };
            self.ok(index, observation);
        }
    }

    pub fn fail(&mut self, step_index: usize, class: FailureClass) {
        if self.steps[step_index].kind().has_effect() {
            let marker = self.detail(step_index);
            self.row(step_index, StepResult::InFlight, marker);
        }
        let mut detail = self.detail(step_index);
        detail["actuation"] = json!("simulated");
        self.row(step_index, StepResult::Failed(class), detail);
    }

    /// An `in_flight` marker with no outcome: the host died.
    pub fn in_flight(&mut self, step_index: usize) {
        let marker = self.detail(step_index);
        self.row(step_index, StepResult::InFlight, marker);
    }

    /// A raw `ok` row with any detail (for rows that cannot be mapped).
    pub fn raw_ok(&mut self, step_index: usize, kind: StepKind, detail: serde_json::Value) {
        let at = self.tick();
        let sequence = self.journal.len() as u64 + 1;
        self.journal.push(JournalRecord {
            sequence,
            entry: JournalEntry::new(self.id, step_index as u32, kind, StepResult::Ok, at)
                .with_detail(detail),
        });
    }

    pub fn hold(&mut self, cause: HoldCause, reason: &str) {
        let at = self.tick();
        self.events.push((
            ProcedureHeld {
                cause,
                reason: reason.to_owned(),
                actuation_kind: ActuationKind::Simulated,
                at,
            }
            .into(),
            at,
        ));
    }

    pub fn resume(&mut self, boundary: u64, released: Vec<HoldCause>) {
        let at = self.tick();
        self.events.push((
            ProcedureResumed {
                boundary,
                cause: HoldCause::Operator,
                released,
                at,
            }
            .into(),
            at,
        ));
    }

    pub fn complete(&mut self) {
        let at = self.tick();
        self.events.push((
            ProcedureCompleted {
                actuation_kind: ActuationKind::Simulated,
                at,
            }
            .into(),
            at,
        ));
    }

    pub fn abort(&mut self, reason: &str) {
        let at = self.tick();
        self.events.push((
            ProcedureAborted {
                reason: reason.to_owned(),
                actuation_kind: ActuationKind::Simulated,
                at,
            }
            .into(),
            at,
        ));
    }

    pub fn truncate(&mut self, reason: &str) {
        let at = self.tick();
        self.events.push((
            ProcedureTruncated {
                reason: reason.to_owned(),
                interrupted_at: at - Duration::milliseconds(3),
                at,
            }
            .into(),
            at,
        ));
    }

    pub fn record(&self) -> ProcedureRecord<'_> {
        ProcedureRecord {
            id: self.id,
            events: &self.events,
            steps: &self.steps,
            component: ComponentName {
                name: "grid-scan",
                version: "0.3.1",
            },
            journal: &self.journal,
        }
    }

    pub fn export(&self) -> Export {
        documents::export(&self.record()).unwrap()
    }

    /// The history up to `cut` (events and rows at or before it), as a store read then.
    pub fn until(&self, cut: OffsetDateTime) -> Scenario {
        Scenario {
            name: self.name,
            id: self.id,
            steps: self.steps.clone(),
            events: self
                .events
                .iter()
                .filter(|(_, at)| *at <= cut)
                .cloned()
                .collect(),
            journal: self
                .journal
                .iter()
                .filter(|r| r.entry.at <= cut)
                .cloned()
                .collect(),
            clock: cut,
        }
    }

    /// Every instant something was recorded at.
    pub fn instants(&self) -> Vec<OffsetDateTime> {
        let mut all: Vec<OffsetDateTime> = self
            .events
            .iter()
            .map(|(_, at)| *at)
            .chain(self.journal.iter().map(|r| r.entry.at))
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// A detector's results for the acquisition at `index`: counts, the exposure, and a result
/// whose name needs sanitising.
pub fn results_for(index: usize) -> BTreeMap<String, Value> {
    BTreeMap::from([
        ("counts".to_owned(), Value::Int(100 + index as i64)),
        ("exposure".to_owned(), Value::Float(0.1)),
        (
            "stats.total/sum".to_owned(),
            Value::Float(index as f64 * 2.5),
        ),
    ])
}

pub fn grid() -> Scenario {
    let mut s = Scenario::started("grid", grid_steps(3, 2));
    let n = s.steps.len();
    s.run(0, n);
    s.complete();
    s
}

/// A setpoint on a monochromator energy, then a spectrum per point: array, text and flag
/// results.
pub fn energy() -> Scenario {
    let mut steps = Vec::new();
    for e in 0..4 {
        steps.push(setpoint("mono:energy", 7000.0 + f64::from(e) * 10.0));
        steps.push(acquire("xs3"));
    }
    let mut s = Scenario::started("energy", steps);
    for index in 0..s.steps.len() {
        if let Step::Action(_) = s.steps[index] {
            s.ok(
                index,
                Observation::Action {
                    results: BTreeMap::from([
                        (
                            "spectrum".to_owned(),
                            Value::Floats(vec![1.0, 2.0, index as f64]),
                        ),
                        ("mode".to_owned(), Value::Text("fluorescence".into())),
                        ("saturated".to_owned(), Value::Flag(false)),
                    ]),
                },
            );
        } else {
            s.run(index, index + 1);
        }
    }
    s.complete();
    s
}

/// Held by the operator after the third point, reconducted from an earlier boundary (the
/// setpoints of the row are driven again), held again on a step fault, resumed, completed.
pub fn held_then_reconducted() -> Scenario {
    let mut s = Scenario::started("held", grid_steps(3, 2));
    // Row 0: steps 0..7 (my, then 3 × (mx, acquire)).
    s.run(0, 7);
    s.hold(HoldCause::Operator, "beam dump");
    // Reconduct from the start of row 1 (step 7) ...
    s.resume(7, vec![HoldCause::Operator]);
    s.run(7, 10);
    // ... a setpoint times out: try-conduct holds on a step fault.
    s.fail(10, FailureClass::Timeout);
    s.hold(
        HoldCause::StepFault,
        "setpoint[10] sim:mx failed: timeout: not settled",
    );
    // Reconducted from step 9 (the operator checked the detector): the segment from the
    // acquisition at 9 is driven again.
    s.resume(9, vec![HoldCause::StepFault]);
    let n = s.steps.len();
    s.run(9, n);
    s.complete();
    s
}

pub fn aborted_by_operator() -> Scenario {
    let mut s = Scenario::started("operator-abort", grid_steps(3, 2));
    s.run(0, 5);
    s.abort("operator: wrong sample");
    s
}

/// An operator's abort while held on a step fault is still the operator's: `abort`.
pub fn aborted_while_held() -> Scenario {
    let mut s = Scenario::started("abort-held", grid_steps(3, 1));
    s.run(0, 3);
    s.fail(3, FailureClass::Timeout);
    s.hold(
        HoldCause::StepFault,
        "setpoint[3] sim:mx failed: timeout: x",
    );
    s.abort("operator: giving up");
    s
}

/// Resumed after a failure, then aborted by the operator before any step ran: `abort`, and a
/// hold at that point would have stood at the resume's boundary.
pub fn resumed_then_aborted() -> Scenario {
    let mut s = Scenario::started("resumed-abort", grid_steps(3, 1));
    s.run(0, 3);
    s.fail(3, FailureClass::Timeout);
    s.hold(
        HoldCause::StepFault,
        "setpoint[3] sim:mx failed: timeout: x",
    );
    s.resume(1, vec![HoldCause::StepFault]);
    s.hold(HoldCause::Operator, "look first");
    s.abort("operator: giving up");
    s
}

pub fn aborted_on_failure() -> Scenario {
    let mut s = Scenario::started("failure-abort", grid_steps(3, 2));
    s.run(0, 4);
    s.fail(4, FailureClass::Rejected);
    s.abort("action[4] sim:det failed: rejected: detector busy");
    s
}

pub fn truncated() -> Scenario {
    let mut s = Scenario::started("truncated", grid_steps(3, 2));
    s.run(0, 3);
    s.in_flight(3);
    s.hold(
        HoldCause::HostRestart,
        "host restarted while conducting step 3",
    );
    s.truncate("host died at step 3; ended by the operator");
    s
}

pub fn running() -> Scenario {
    let mut s = Scenario::started("running", grid_steps(3, 2));
    s.run(0, 6);
    s.in_flight(6);
    s
}

/// Rows that cannot be (wholly) mapped: a malformed observation, an index outside the pin, a
/// kind that disagrees with the pin, an acquisition journaled before observations.
pub fn unmappable() -> Scenario {
    let mut s = Scenario::started("unmappable", grid_steps(2, 1));
    s.run(0, 2);
    s.raw_ok(
        2,
        StepKind::Action,
        json!({ "device": "sim:det", "observed": { "kind": "action", "results": { "counts": 3 } } }),
    );
    s.raw_ok(
        99,
        StepKind::Setpoint,
        json!({ "channel": "sim:mx", "value": { "type": "float", "value": 1.0 } }),
    );
    s.raw_ok(3, StepKind::Action, json!({ "channel": "sim:mx" }));
    s.raw_ok(
        4,
        StepKind::Action,
        json!({ "device": "sim:det", "command": "acquire", "actuation": "simulated",
                "answer": { "counts": 7 } }),
    );
    s.complete();
    s
}

/// Every scenario whose documents must validate.
pub fn all() -> Vec<Scenario> {
    vec![
        grid(),
        energy(),
        held_then_reconducted(),
        aborted_by_operator(),
        aborted_while_held(),
        resumed_then_aborted(),
        aborted_on_failure(),
        truncated(),
        running(),
        unmappable(),
    ]
}
