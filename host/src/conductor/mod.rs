//! The conductor: conduct, try-conduct and reconduct (docs/procedures.md#conduct-verbs), cooperative hold and abort at
//! step boundaries, and restart recovery.
//!
//! - conduct / try-conduct call the guest once, before anything has an effect: resolve → safety
//!   check → start + pin (one atomic append) → execute → complete, or abort / hold.
//! - reconduct resumes and replays the pinned steps from a boundary; it never calls the sandbox.
//! - A terminal transition that fails is reported in the outcome, never swallowed.

mod error;
mod execute;
mod outcome;
mod reader;
mod recovery;
mod stop;

use std::collections::HashSet;
use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

pub use error::ConductError;
pub use outcome::{ConductOutcome, Halt, OperatorStop, ResolutionCost, StepFailure, Verb};
pub use recovery::Recovered;
pub use stop::{ConductGuard, ConductHandle, Conducts, StopRequest};

use execute::{End, Mode, Walk, Watch};
use reader::RouterReader;

use crate::app;
use crate::domain::procedure::{
    Pin, Procedure, ProcedureCommand, ProcedureCommandKind, ProcedureError, ProcedureState,
    ProcedureStatus,
};
use crate::domain::{ActuationKind, HoldCause, Step, StepKind};
use crate::ports::{Catalog, Router, safety};
use crate::sandbox::{LoadedComponent, Sandbox};
use crate::store::{
    JournalPage, JournalRecord, PinnedSteps, StepResult, Store, StoreError, procedure_stream,
};

/// Conducts procedures against one device router. Cheap to clone.
#[derive(Clone)]
pub struct Conductor<S> {
    store: S,
    sandbox: Sandbox,
    router: Arc<Router>,
    catalog: Arc<Catalog>,
    conducts: Conducts,
}

impl<S: Store> Conductor<S> {
    pub fn new(store: S, sandbox: Sandbox, router: Arc<Router>, catalog: Arc<Catalog>) -> Self {
        Conductor {
            store,
            sandbox,
            router,
            catalog,
            conducts: Conducts::default(),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The conducts running in this process.
    pub fn conducts(&self) -> &Conducts {
        &self.conducts
    }

    /// Asks a conduct running in this process to hold or abort at its next step boundary.
    /// False if this process is not conducting the procedure (the caller then appends the
    /// transition itself) or a request is already pending.
    pub fn request_stop(&self, id: Uuid, request: StopRequest) -> bool {
        self.conducts
            .get(id)
            .is_some_and(|handle| handle.request(request))
    }

    /// Claims `id` for a conduct in this process: from now until the guard drops (the conduct
    /// ended, however), a second local conduct of it is refused. Taking the claim before a
    /// conduct is announced (an HTTP 202) makes the announcement exact; the claim covers the
    /// resolve, before the start lands.
    pub fn claim(&self, id: Uuid) -> Result<ConductGuard, ConductError> {
        self.conducts
            .begin(id)
            .ok_or(ConductError::AlreadyConducting(id))
    }

    /// conduct (`Verb::Conduct`) or try-conduct (`Verb::TryConduct`) a Defined procedure.
    pub async fn conduct(&self, id: Uuid, verb: Verb) -> Result<ConductOutcome, ConductError> {
        self.conduct_claimed(self.claim(id)?, verb).await
    }

    /// [`Self::conduct`] under a claim taken with [`Self::claim`] (of this conductor).
    pub async fn conduct_claimed(
        &self,
        guard: ConductGuard,
        verb: Verb,
    ) -> Result<ConductOutcome, ConductError> {
        let id = guard.id();
        let verb = if verb == Verb::Reconduct {
            Verb::Conduct
        } else {
            verb
        };
        let state = self.load(id, ProcedureCommandKind::Start).await?;
        if state.status != ProcedureStatus::Defined {
            return Err(ProcedureError::WrongStatus {
                command: ProcedureCommandKind::Start,
                status: state.status,
            }
            .into());
        }
        let component = self.component(&state.component_digest).await?;
        let params = component.info().with_defaults(&state.params);
        let reader = RouterReader {
            router: &self.router,
        };
        let resolve_started = std::time::Instant::now();
        let resolution = self
            .sandbox
            .resolve(&component, &params, &reader)
            .await
            .map_err(|e| ConductError::Resolve(Box::new(e)))?;
        let cost = ResolutionCost {
            fuel_used: resolution.fuel_used,
            resolve_seconds: resolve_started.elapsed().as_secs_f64(),
            peak_memory_bytes: resolution.peak_memory_bytes,
            reads: resolution.reads.len(),
        };
        safety::check(&self.catalog, &resolution.steps).map_err(ConductError::Safety)?;
        let pinned = PinnedSteps::new(resolution.steps)?;
        let pin = Pin {
            content_hash: pinned.hash().to_owned(),
            step_count: pinned.len() as u64,
            component_digest: resolution.digest,
            params,
            observed_reads: resolution.reads,
            limits_revision: self.catalog.revision().to_owned(),
        };
        let start = ProcedureCommand::Start { pin };
        let started = app::execute::<Procedure, _>(
            &self.store,
            id,
            &start,
            OffsetDateTime::now_utc(),
            std::slice::from_ref(&pinned),
        )
        .await?;
        let steps = pinned.steps();
        let walk = self
            .walk(id, started.version, steps, 0, &Mode::Fresh, &guard.handle)
            .await;
        let mut outcome = self
            .finish(id, verb, steps, started.state.actuation_kind, None, walk)
            .await;
        outcome.resolution = Some(cost);
        Ok(outcome)
    }

    /// reconduct: resume a Held procedure and replay its pinned steps from `boundary` (default:
    /// the interrupted step). Never calls the guest.
    pub async fn reconduct(
        &self,
        id: Uuid,
        boundary: Option<u64>,
    ) -> Result<ConductOutcome, ConductError> {
        self.reconduct_claimed(self.claim(id)?, boundary).await
    }

    /// [`Self::reconduct`] under a claim taken with [`Self::claim`] (of this conductor).
    pub async fn reconduct_claimed(
        &self,
        guard: ConductGuard,
        boundary: Option<u64>,
    ) -> Result<ConductOutcome, ConductError> {
        let id = guard.id();
        let state = self.load(id, ProcedureCommandKind::Resume).await?;
        if state.status != ProcedureStatus::Held {
            return Err(ProcedureError::WrongStatus {
                command: ProcedureCommandKind::Resume,
                status: state.status,
            }
            .into());
        }
        let pin = state.pin.clone().ok_or_else(|| {
            ConductError::PinMissing(format!("(procedure {id} is Held without a pin)"))
        })?;
        let pinned = self
            .store
            .pinned_steps(&pin.content_hash)
            .await?
            .ok_or_else(|| ConductError::PinMissing(pin.content_hash.clone()))?;
        let history = JournalHistory::read(&self.store, id).await?;
        let step_count = pinned.len() as u64;
        let boundary = boundary.unwrap_or(history.interrupted);
        if boundary > step_count {
            return Err(ConductError::BoundaryPastEnd {
                boundary,
                step_count,
            });
        }
        let resume = ProcedureCommand::Resume {
            cause: HoldCause::Operator,
            boundary,
        };
        let resumed =
            app::execute::<Procedure, _>(&self.store, id, &resume, OffsetDateTime::now_utc(), &[])
                .await?;
        let steps = pinned.steps();
        let mode = Mode::Replay {
            fired: history.fired_actions,
        };
        let walk = self
            .walk(
                id,
                resumed.version,
                steps,
                boundary as usize,
                &mode,
                &guard.handle,
            )
            .await;
        Ok(self
            .finish(
                id,
                Verb::Reconduct,
                steps,
                resumed.state.actuation_kind,
                Some(boundary),
                walk,
            )
            .await)
    }

    /// Restart recovery: holds every procedure left Running by a dead host (cause
    /// `host-restart`), with a reason naming the interrupted step. Nothing is re-driven.
    pub async fn recover(&self) -> Result<Vec<Recovered>, ConductError> {
        recovery::recover(self).await
    }

    /// Walks `steps[from..]`, watching the procedure's stream from `version` (the version this
    /// conduct's own start or resume left it at).
    async fn walk(
        &self,
        id: Uuid,
        version: u64,
        steps: &[Step],
        from: usize,
        mode: &Mode,
        handle: &ConductHandle,
    ) -> Walk {
        let stream = procedure_stream(id);
        let watch = Watch {
            stream: &stream,
            version,
        };
        execute::execute_from(
            &self.store,
            &watch,
            &self.router,
            id,
            steps,
            from,
            mode,
            handle,
        )
        .await
    }

    async fn load(
        &self,
        id: Uuid,
        command: ProcedureCommandKind,
    ) -> Result<ProcedureState, ConductError> {
        app::load::<Procedure, S>(&self.store, id)
            .await?
            .state
            .ok_or(ConductError::Refused(ProcedureError::NotFound { command }))
    }

    /// The component, from the sandbox's caches or else from the store.
    async fn component(&self, digest: &str) -> Result<LoadedComponent, ConductError> {
        if let Some(component) = self.sandbox.get(digest) {
            return Ok(component);
        }
        let stored = self
            .store
            .component(digest)
            .await?
            .ok_or_else(|| ConductError::ComponentMissing(digest.to_owned()))?;
        self.sandbox
            .load(&stored.wasm)
            .await
            .map_err(|error| ConductError::ComponentLoad {
                digest: digest.to_owned(),
                error,
            })
    }

    /// Applies the verb's rules to how the walk ended, and lands the transition.
    async fn finish(
        &self,
        id: Uuid,
        verb: Verb,
        steps: &[Step],
        prior_kind: ActuationKind,
        boundary: Option<u64>,
        walk: Walk,
    ) -> ConductOutcome {
        let kind = prior_kind.join(walk.kind);
        let mut outcome = ConductOutcome {
            procedure_id: id,
            verb,
            status: ProcedureStatus::Running,
            succeeded: false,
            held: false,
            halted: None,
            stopped_by: None,
            failure: None,
            lifecycle_failure: None,
            completed_steps: walk.completed,
            step_count: steps.len() as u64,
            boundary,
            actuation_kind: kind,
            resolution: None,
        };
        let transition = match walk.end {
            End::Finished => Some(ProcedureCommand::Complete {
                actuation_kind: walk.kind,
            }),
            End::Halted(halt) => {
                outcome.halted = Some(halt);
                None
            }
            End::Superseded { version } => {
                // Whoever appended decided the transition; report where it left the procedure.
                match self.load(id, ProcedureCommandKind::Hold).await {
                    Ok(state) => {
                        outcome.status = state.status;
                        outcome.held = state.status == ProcedureStatus::Held;
                        outcome.actuation_kind = state.actuation_kind.join(walk.kind);
                        outcome.stopped_by = match state.status {
                            ProcedureStatus::Held
                                if state.hold_claims.contains(HoldCause::Operator) =>
                            {
                                Some(OperatorStop::HeldByOperator)
                            }
                            ProcedureStatus::Aborted | ProcedureStatus::Truncated => {
                                Some(OperatorStop::AbortedByOperator)
                            }
                            _ => None,
                        };
                        if outcome.stopped_by.is_none() {
                            outcome.lifecycle_failure = Some(format!(
                                "the procedure's stream moved to version {version} under the conduct: it is now {}; the conduct stopped at a step boundary",
                                state.status
                            ));
                        }
                    }
                    Err(e) => {
                        outcome.lifecycle_failure = Some(format!(
                            "the procedure's stream moved under the conduct and could not be read: {e}"
                        ));
                    }
                }
                None
            }
            End::Failed(failure) => {
                let reason = failure.reason();
                // A setpoint or check failure may clear (try-conduct holds to keep the pin); an
                // action is not idempotent and a configuration failure would fail again: abort.
                let hold = verb == Verb::TryConduct
                    && failure.kind != StepKind::Action
                    && !failure.class.is_configuration();
                outcome.failure = Some(failure);
                Some(if hold {
                    ProcedureCommand::Hold {
                        cause: HoldCause::StepFault,
                        reason,
                        actuation_kind: walk.kind,
                    }
                } else {
                    ProcedureCommand::Abort {
                        reason,
                        actuation_kind: walk.kind,
                    }
                })
            }
            End::Stopped(request) => Some(match request {
                StopRequest::Hold { reason } => {
                    outcome.stopped_by = Some(OperatorStop::HeldByOperator);
                    ProcedureCommand::Hold {
                        cause: HoldCause::Operator,
                        reason,
                        actuation_kind: walk.kind,
                    }
                }
                StopRequest::Abort { reason } => {
                    outcome.stopped_by = Some(OperatorStop::AbortedByOperator);
                    ProcedureCommand::Abort {
                        reason,
                        actuation_kind: walk.kind,
                    }
                }
                StopRequest::Shutdown { reason } => ProcedureCommand::Hold {
                    cause: HoldCause::HostRestart,
                    reason,
                    actuation_kind: walk.kind,
                },
            }),
            End::Journal { step_index, error } => {
                // Nothing more may run unjournaled. Hold (the database may come back); if even
                // that fails, restart recovery will find the procedure Running.
                outcome.lifecycle_failure = Some(format!(
                    "journal append failed at step {step_index}: {error}"
                ));
                Some(ProcedureCommand::Hold {
                    cause: HoldCause::StepFault,
                    reason: format!("journal append failed at step {step_index}: {error}"),
                    actuation_kind: walk.kind,
                })
            }
        };
        let Some(command) = transition else {
            return outcome;
        };
        let landed =
            app::execute::<Procedure, _>(&self.store, id, &command, OffsetDateTime::now_utc(), &[])
                .await;
        match landed {
            Ok(committed) => {
                outcome.status = committed.state.status;
                outcome.actuation_kind = committed.state.actuation_kind;
                outcome.held = committed.state.status == ProcedureStatus::Held;
                outcome.succeeded = committed.state.status == ProcedureStatus::Completed;
            }
            Err(e) => {
                let message = format!("{} did not land: {e}", command.kind());
                outcome.lifecycle_failure = Some(match outcome.lifecycle_failure.take() {
                    Some(first) => format!("{first}; {message}"),
                    None => message,
                });
                // Report the status as it is now, if it can be read.
                if let Ok(state) = self.load(id, command.kind()).await {
                    outcome.status = state.status;
                }
            }
        }
        outcome
    }
}

/// What a procedure's journal says about its past: the actions dispatched (which a replay must
/// not fire again) and the interrupted step (where a reconduct starts by default).
#[derive(Debug, Default)]
pub(crate) struct JournalHistory {
    pub fired_actions: HashSet<u64>,
    /// The first step not known to have completed: a dangling `in_flight` marker's step, a failed
    /// step, or the one after the last `ok`.
    pub interrupted: u64,
    /// The last entry, if any.
    pub last: Option<JournalRecord>,
    /// Every actuation kind the journal recorded, joined.
    pub kind: ActuationKind,
}

impl JournalHistory {
    pub(crate) async fn read<S: Store>(store: &S, id: Uuid) -> Result<Self, StoreError> {
        let mut history = JournalHistory::default();
        let mut after = 0;
        loop {
            let page = store
                .journal(
                    id,
                    JournalPage {
                        after,
                        limit: JournalPage::MAX_LIMIT,
                    },
                )
                .await?;
            let Some(last) = page.last() else { break };
            after = last.sequence;
            for record in &page {
                let entry = &record.entry;
                let index = u64::from(entry.step_index);
                if entry.step_kind == StepKind::Action && entry.result == StepResult::InFlight {
                    history.fired_actions.insert(index);
                }
                if let Some(kind) = entry
                    .detail
                    .get("actuation")
                    .and_then(|k| serde_json::from_value::<ActuationKind>(k.clone()).ok())
                {
                    history.kind = history.kind.join(kind);
                }
                history.interrupted = match entry.result {
                    StepResult::Ok => index + 1,
                    StepResult::InFlight | StepResult::Failed(_) => index,
                };
            }
            history.last = page.into_iter().last();
        }
        Ok(history)
    }
}
