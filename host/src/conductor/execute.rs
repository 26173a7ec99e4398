//! execute and execute_from: walk pinned steps through the router, journaling each boundary.
//!
//! The journal write at a boundary carries the previous step's outcome and, for a setpoint or an
//! action, the next step's `in_flight` marker, in one transaction: every outcome and every marker
//! is durable before the next effect starts, at one commit per step. Checks are pure reads and
//! get an outcome only. Indices are absolute in the pinned list, so a replayed journal lines up
//! with the original.
//!
//! An `ok` outcome records what the step observed ([`Observation`], under `detail.observed`): a
//! setpoint's target and settled readback, a check's reading, an action's typed results. A
//! failed check records the reading it judged too, so the journal says what value failed.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::outcome::{Halt, StepFailure};
use super::stop::{ConductHandle, StopRequest};
use crate::domain::observation::Observation;
use crate::domain::{ActuationKind, FailureClass, Step, StepKind};
use crate::ports::{PortError, Router};
use crate::store::{EventStore, JournalEntry, StepJournal, StepResult, StoreError};

/// How often a walk checks that nobody else (an operator on another host, restart recovery)
/// appended to the procedure's stream. Between checks at most this long of steps can run after
/// such an append.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// The stream a walk watches, and the version its own last append left it at.
pub(crate) struct Watch<'a> {
    pub stream: &'a str,
    pub version: u64,
}

/// How replayed steps are treated.
#[derive(Clone, Debug, Default)]
pub(crate) enum Mode {
    /// First run: every step is dispatched.
    #[default]
    Fresh,
    /// Replay (reconduct): setpoints are re-driven and checks re-run, but an action whose index
    /// is in `fired` was dispatched before (it may have acquired): the replay halts before it for
    /// the operator instead of firing it again.
    Replay { fired: HashSet<u64> },
}

/// How a walk ended.
#[derive(Debug)]
pub(crate) enum End {
    /// Every step ran to `ok`.
    Finished,
    Failed(StepFailure),
    Halted(Halt),
    /// An operator's (or shutdown's) request, taken at a step boundary.
    Stopped(StopRequest),
    /// Someone else appended to the procedure's stream (a hold or abort through another host,
    /// restart recovery): the walk stopped at a step boundary and leaves the transition to them.
    Superseded {
        version: u64,
    },
    /// The journal could not be written: nothing more may run, because an effect must never
    /// go unjournaled.
    Journal {
        step_index: u64,
        error: StoreError,
    },
}

/// The result of a walk.
#[derive(Debug)]
pub(crate) struct Walk {
    pub end: End,
    /// Kinds of every channel the router dispatched, joined.
    pub kind: ActuationKind,
    /// Steps that ran to `ok`.
    pub completed: u64,
}

/// Walks `steps[from..]` (absolute indices) and journals every boundary.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn execute_from<J: StepJournal + EventStore>(
    journal: &J,
    watch: &Watch<'_>,
    router: &Router,
    procedure: Uuid,
    steps: &[Step],
    from: usize,
    mode: &Mode,
    handle: &ConductHandle,
) -> Walk {
    let mut walk = Walk {
        end: End::Finished,
        kind: ActuationKind::None,
        completed: 0,
    };
    // The previous step's outcome, written together with the next marker.
    let mut pending: Vec<JournalEntry> = Vec::with_capacity(2);
    let mut next_watch = Instant::now() + WATCH_INTERVAL;
    for (index, step) in steps.iter().enumerate().skip(from) {
        let step_index = index as u64;
        if Instant::now() >= next_watch {
            next_watch = Instant::now() + WATCH_INTERVAL;
            match journal.stream_version(watch.stream).await {
                Ok(version) if version != watch.version => {
                    walk.end = match flush(journal, &mut pending, step_index).await {
                        Ok(()) => End::Superseded { version },
                        Err(end) => end,
                    };
                    return walk;
                }
                // A failed check is not a reason to stop: the next journal write will tell.
                Ok(_) | Err(_) => {}
            }
        }
        if let Some(request) = handle.take() {
            walk.end = match flush(journal, &mut pending, step_index).await {
                Ok(()) => End::Stopped(request),
                Err(end) => end,
            };
            return walk;
        }
        if let (Step::Action(action), Mode::Replay { fired }) = (step, mode)
            && fired.contains(&step_index)
        {
            walk.end = match flush(journal, &mut pending, step_index).await {
                Ok(()) => End::Halted(Halt {
                    step_index,
                    target: action.device.to_string(),
                    reason: format!(
                        "action[{step_index}] {} {} was dispatched before; replay never re-runs an action: reconduct with a boundary past it, or after checking the device, from it",
                        action.device, action.command
                    ),
                }),
                Err(end) => end,
            };
            return walk;
        }
        let kind = step.kind();
        if kind.has_effect() {
            pending.push(entry(
                procedure,
                step_index,
                kind,
                StepResult::InFlight,
                None,
                detail(step),
            ));
            if let Err(end) = flush(journal, &mut pending, step_index).await {
                walk.end = end;
                return walk;
            }
        }
        let (dispatched_kind, result) = dispatch(router, step).await;
        walk.kind = walk.kind.join(dispatched_kind);
        match result {
            Ok(Answered { answer, observed }) => {
                walk.completed += 1;
                handle
                    .completed
                    .store(walk.completed, std::sync::atomic::Ordering::Relaxed);
                pending.push(entry(
                    procedure,
                    step_index,
                    kind,
                    StepResult::Ok,
                    None,
                    outcome_detail(step, dispatched_kind, answer, observed.as_ref()),
                ));
            }
            Err(Refused {
                class,
                message,
                observed,
            }) => {
                pending.push(entry(
                    procedure,
                    step_index,
                    kind,
                    StepResult::Failed(class),
                    Some(message.clone()),
                    outcome_detail(step, dispatched_kind, Json::Null, observed.as_ref()),
                ));
                walk.end = match flush(journal, &mut pending, step_index).await {
                    Ok(()) => End::Failed(StepFailure {
                        step_index,
                        kind,
                        target: step.target().to_string(),
                        class,
                        message,
                    }),
                    Err(end) => end,
                };
                return walk;
            }
        }
    }
    if let Err(end) = flush(journal, &mut pending, steps.len() as u64).await {
        walk.end = end;
    }
    walk
}

async fn flush<J: StepJournal>(
    journal: &J,
    pending: &mut Vec<JournalEntry>,
    step_index: u64,
) -> Result<(), End> {
    if pending.is_empty() {
        return Ok(());
    }
    let result = journal.append_journal(pending).await;
    pending.clear();
    result
        .map(|_| ())
        .map_err(|error| End::Journal { step_index, error })
}

/// What a step that ran to `ok` answered: the device's answer for `detail.answer` (`Null`:
/// none) and what it observed.
struct Answered {
    answer: Json,
    observed: Option<Observation>,
}

/// Why a step failed, and what it observed on the way when that is worth keeping (a failed
/// check's reading).
struct Refused {
    class: FailureClass,
    message: String,
    observed: Option<Observation>,
}

impl Refused {
    fn new(error: PortError) -> Refused {
        Refused {
            class: error.class,
            message: error.message,
            observed: None,
        }
    }
}

/// Sends one step to the router.
async fn dispatch(router: &Router, step: &Step) -> (ActuationKind, Result<Answered, Refused>) {
    match step {
        Step::Setpoint(sp) => {
            let (kind, result) = router.write(sp).await;
            let result = result.map_err(Refused::new).map(|readback| Answered {
                answer: Json::Null,
                observed: Some(Observation::Setpoint {
                    target: sp.value.clone(),
                    readback,
                }),
            });
            (kind, result)
        }
        Step::Check(check) => {
            let (kind, outcome) = router.check(check).await;
            let answer = outcome
                .reading
                .as_ref()
                .and_then(|r| serde_json::to_value(r).ok())
                .unwrap_or(Json::Null);
            let observed = outcome
                .reading
                .map(|reading| Observation::Check { reading });
            let result = match outcome.result {
                Ok(()) => Ok(Answered { answer, observed }),
                Err(e) => Err(Refused {
                    observed,
                    ..Refused::new(e)
                }),
            };
            (kind, result)
        }
        Step::Action(action) => {
            let (kind, result) = router.act(action).await;
            let result = result.map_err(Refused::new).map(|a| Answered {
                answer: a.answer,
                observed: Some(Observation::Action { results: a.results }),
            });
            (kind, result)
        }
    }
}

fn entry(
    procedure: Uuid,
    step_index: u64,
    kind: StepKind,
    result: StepResult,
    message: Option<String>,
    detail: Json,
) -> JournalEntry {
    JournalEntry {
        id: Uuid::now_v7(),
        procedure_id: procedure,
        step_index: step_index as u32,
        step_kind: kind,
        result,
        message,
        detail,
        at: OffsetDateTime::now_utc(),
    }
}

/// The journal's detail object: the target (`channel` / `device`, `command`, the written
/// `value`). An `in_flight` marker carries only that.
fn detail(step: &Step) -> Json {
    match step {
        Step::Setpoint(sp) => json!({ "channel": &*sp.channel, "value": sp.value }),
        Step::Check(check) => json!({ "channel": &*check.channel }),
        Step::Action(action) => json!({ "device": &*action.device, "command": &*action.command }),
    }
}

/// An outcome's detail object: the target, the actuation kind the router reported (so
/// provenance survives a dead host), the device's answer unless `Null`, and the observation.
fn outcome_detail(
    step: &Step,
    kind: ActuationKind,
    answer: Json,
    observed: Option<&Observation>,
) -> Json {
    let mut detail = detail(step);
    if let Some(map) = detail.as_object_mut() {
        map.insert("actuation".into(), json!(kind));
        if !answer.is_null() {
            map.insert("answer".into(), answer);
        }
    }
    if let Some(observed) = observed {
        // The detail is an object built just above and an observation always serialises, so
        // this cannot fail; were it to, the outcome is still journaled, without the member.
        let _ = observed.insert_into(&mut detail);
    }
    detail
}
