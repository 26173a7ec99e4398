//! What every handler shares: the conductor (and through it the store, sandbox, router and
//! catalog), the metrics, the limits, the conducts this process started (for progress and
//! ETA), the last conduct result of each procedure, and the shutdown switch.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ApiError;
use super::metrics::Metrics;
use super::observe::ObservedStore;
use crate::conductor::{ConductError, ConductGuard, ConductOutcome, Conductor, StopRequest, Verb};
use crate::store::AnyStore;

/// Limits of the HTTP layer.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest component upload, in bytes (413 above it).
    pub component_limit: usize,
    /// Largest JSON body, in bytes (413 above it).
    pub json_limit: usize,
    /// Deadline of an ordinary request. Conducts (`?wait=true` may take hours) and progress
    /// streams have none.
    pub request_timeout: Duration,
    /// How often a progress stream looks for entries another host appended.
    pub stream_poll: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            component_limit: 16 << 20,
            json_limit: 1 << 20,
            request_timeout: Duration::from_secs(30),
            stream_poll: Duration::from_millis(250),
        }
    }
}

/// A conduct verb with its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConductVerb {
    Conduct,
    TryConduct,
    Reconduct { boundary: Option<u64> },
}

impl ConductVerb {
    pub fn verb(self) -> Verb {
        match self {
            ConductVerb::Conduct => Verb::Conduct,
            ConductVerb::TryConduct => Verb::TryConduct,
            ConductVerb::Reconduct { .. } => Verb::Reconduct,
        }
    }
}

/// A conduct this process runs, as progress needs it.
#[derive(Clone, Copy, Debug)]
pub struct ActiveConduct {
    pub verb: Verb,
    pub since: Instant,
}

/// The last conduct verb this host ran on a procedure, waited on or in the background.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LastConduct {
    /// Still running.
    Running { verb: Verb },
    /// Ran: the body a waited conduct answers with.
    Finished {
        #[schema(value_type = ConductOutcome)]
        outcome: Box<ConductOutcome>,
    },
    /// Refused before anything ran: the problem a waited conduct answers with.
    Refused {
        #[schema(value_type = super::error::ProblemBody)]
        problem: serde_json::Value,
    },
}

/// The shared state. Cheap to clone.
#[derive(Clone)]
pub struct ApiState(Arc<Inner>);

pub struct Inner {
    pub conductor: Conductor<ObservedStore>,
    pub metrics: Arc<Metrics>,
    pub config: ApiConfig,
    active: Mutex<HashMap<Uuid, ActiveConduct>>,
    last: Mutex<HashMap<Uuid, LastConduct>>,
    /// The conduct tasks of this process. A task leaves it however it ends, a panic included,
    /// so shutdown cannot wait on a conduct that is gone.
    conduct_tasks: TaskTracker,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Deref for ApiState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Keeps a conduct in the active map for as long as it runs.
struct ActiveGuard<'a> {
    state: &'a Inner,
    id: Uuid,
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut active) = self.state.active.lock() {
            active.remove(&self.id);
        }
    }
}

/// The most conduct results kept; finished ones are forgotten first (the journal keeps them).
const LAST_CONDUCTS: usize = 1_000;

impl ApiState {
    pub fn new(
        conductor: Conductor<ObservedStore>,
        metrics: Arc<Metrics>,
        config: ApiConfig,
    ) -> Self {
        ApiState(Arc::new(Inner {
            conductor,
            metrics,
            config,
            active: Mutex::default(),
            last: Mutex::default(),
            conduct_tasks: TaskTracker::new(),
            shutdown: watch::channel(false).0,
        }))
    }

    pub fn store(&self) -> &ObservedStore {
        self.conductor.store()
    }

    /// The backend without the observation layer (tokens need nothing else).
    pub fn backend(&self) -> &AnyStore {
        self.store().inner()
    }

    /// The conduct of `id` this process runs, if any.
    pub fn active(&self, id: Uuid) -> Option<ActiveConduct> {
        self.active.lock().ok()?.get(&id).copied()
    }

    /// Steps done in the running conduct of `id` (this process only).
    pub fn active_completed(&self, id: Uuid) -> Option<u64> {
        self.conductor
            .conducts()
            .get(id)
            .map(|h| h.completed.load(Ordering::Relaxed))
    }

    pub fn last_conduct(&self, id: Uuid) -> Option<LastConduct> {
        self.last.lock().ok()?.get(&id).cloned()
    }

    fn set_last(&self, id: Uuid, result: LastConduct) {
        if let Ok(mut map) = self.last.lock() {
            if map.len() >= LAST_CONDUCTS && !map.contains_key(&id) {
                // Forget finished results first; a running one is still being reported on.
                let finished: Vec<Uuid> = map
                    .iter()
                    .filter(|(_, r)| !matches!(r, LastConduct::Running { .. }))
                    .map(|(id, _)| *id)
                    .take(LAST_CONDUCTS / 10)
                    .collect();
                for id in finished {
                    map.remove(&id);
                }
            }
            map.insert(id, result);
        }
    }

    /// Runs a conduct verb here and now under its claim, recording it for progress and metrics.
    async fn run_conduct(
        &self,
        claim: ConductGuard,
        verb: ConductVerb,
    ) -> Result<ConductOutcome, ConductError> {
        let id = claim.id();
        if let Ok(mut active) = self.active.lock() {
            active.insert(
                id,
                ActiveConduct {
                    verb: verb.verb(),
                    since: Instant::now(),
                },
            );
        }
        let _guard = ActiveGuard { state: &self.0, id };
        let result = match verb {
            ConductVerb::Conduct => self.conductor.conduct_claimed(claim, Verb::Conduct).await,
            ConductVerb::TryConduct => {
                self.conductor
                    .conduct_claimed(claim, Verb::TryConduct)
                    .await
            }
            ConductVerb::Reconduct { boundary } => {
                self.conductor.reconduct_claimed(claim, boundary).await
            }
        };
        let verb_name = verb.verb().as_str();
        match &result {
            Ok(outcome) => {
                self.metrics
                    .conduct(verb_name, &outcome.status.as_str().to_ascii_lowercase());
                self.observe_resolution(outcome);
            }
            Err(_) => self.metrics.conduct(verb_name, "refused"),
        }
        result
    }

    fn observe_resolution(&self, outcome: &ConductOutcome) {
        if let Some(cost) = &outcome.resolution {
            self.metrics.guest_fuel.observe(cost.fuel_used as f64);
            self.metrics.resolve_seconds.observe(cost.resolve_seconds);
        }
    }

    /// Starts a conduct verb in a task of its own, so that nothing but the verb itself ends
    /// it (a client hanging up does not); its end lands in [`Self::last_conduct`], and the
    /// returned handle gives the result to a caller that waits.
    ///
    /// `claim` (from `conductor.claim`, taken before the verb is answered) moves into the
    /// task and is released when the task ends, a panic included: while it is held, another
    /// verb on the procedure is refused before it is answered, so exactly one is accepted.
    pub fn start_conduct(
        &self,
        claim: ConductGuard,
        verb: ConductVerb,
    ) -> tokio::task::JoinHandle<Result<ConductOutcome, ApiError>> {
        let id = claim.id();
        self.set_last(id, LastConduct::Running { verb: verb.verb() });
        let state = self.clone();
        self.conduct_tasks.spawn(async move {
            match state.run_conduct(claim, verb).await {
                Ok(outcome) => {
                    state.set_last(
                        id,
                        LastConduct::Finished {
                            outcome: Box::new(outcome.clone()),
                        },
                    );
                    Ok(outcome)
                }
                // Accepted but not started (the guest refused, the safety check, the status
                // or the version moved since the check): the refusal is the record, so a
                // client holding a 202 learns that it did not run.
                Err(e) => {
                    let error = ApiError::from(e);
                    tracing::warn!(procedure = %id, error = %error, "conduct refused");
                    state.set_last(
                        id,
                        LastConduct::Refused {
                            problem: serde_json::to_value(error.body()).unwrap_or_default(),
                        },
                    );
                    Err(error)
                }
            }
        })
    }

    /// True once shutdown has begun.
    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// A receiver that turns true when shutdown begins (progress streams end on it).
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Begins a graceful shutdown: new conducts are refused, and every conduct running here is
    /// asked to hold at its next step boundary (cause `host-restart`).
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
        self.stop_all();
    }

    fn stop_all(&self) -> usize {
        let running = self.conductor.conducts().running();
        for id in &running {
            self.conductor.request_stop(
                *id,
                StopRequest::Shutdown {
                    reason: "host shutting down".into(),
                },
            );
        }
        running.len()
    }

    /// Waits until no conduct runs in this process, asking any that
    /// starts meanwhile to stop as well.
    pub async fn wait_for_conducts(&self) {
        // Closed, the tracker's `wait` ends once no task is left; a conduct started after this
        // is still tracked, and waited for.
        self.conduct_tasks.close();
        loop {
            let running = self.stop_all();
            if running == 0 && self.conduct_tasks.is_empty() {
                return;
            }
            // A step may take long (an acquisition); the boundary is what we wait for. Wake when
            // the last task ends, or after a while to ask conducts started meanwhile to stop.
            let tasks_end = async {
                if self.conduct_tasks.is_empty() {
                    std::future::pending::<()>().await;
                }
                self.conduct_tasks.wait().await;
            };
            let _ = tokio::time::timeout(Duration::from_millis(50), tasks_end).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::ports::Catalog;
    use crate::sandbox::{Sandbox, SandboxConfig};
    use crate::store::SqliteStore;

    async fn state() -> ApiState {
        let store = AnyStore::Sqlite(SqliteStore::memory().await.unwrap());
        let metrics = Arc::new(Metrics::new().unwrap());
        let catalog = Catalog::builtin().unwrap();
        let router = Arc::new(catalog.router().unwrap());
        let conductor = Conductor::new(
            ObservedStore::new(store, metrics.clone()),
            Sandbox::new(SandboxConfig::default()).unwrap(),
            router,
            Arc::new(catalog),
        );
        ApiState::new(conductor, metrics, ApiConfig::default())
    }

    /// A claim moved into a conduct task is released when the task panics, so the procedure
    /// can be conducted again (not refused `already-conducting` forever).
    #[tokio::test]
    async fn a_panicking_conduct_task_releases_its_claim() {
        let state = state().await;
        let id = Uuid::new_v4();
        let claim = state.conductor.claim(id).unwrap();
        assert!(state.conductor.claim(id).is_err());
        let task = state.conduct_tasks.spawn(async move {
            let _claim = claim;
            if true {
                panic!("a bug in a conduct");
            }
        });
        assert!(task.await.unwrap_err().is_panic());
        assert!(state.conductor.claim(id).is_ok());
    }

    /// A conduct task that panics leaves the tracker like any other, so the drain at shutdown
    /// still ends (a hand-kept counter would never have been decremented).
    #[tokio::test]
    async fn a_panicking_conduct_task_does_not_hold_up_shutdown() {
        let state = state().await;
        let task = state.conduct_tasks.spawn(async {
            if true {
                panic!("a bug in a conduct");
            }
        });
        assert!(task.await.unwrap_err().is_panic());
        state.begin_shutdown();
        tokio::time::timeout(Duration::from_secs(10), state.wait_for_conducts())
            .await
            .expect("shutdown waits on a conduct that panicked");
    }
}
