//! The conductor on the simulated beamline: conduct, try-conduct and reconduct, the safety check,
//! cooperative hold and abort, restart recovery, and the journal's invariants under random faults.
//!
//! Steps come from real components through the real sandbox: the example procedures, and the
//! `guest-script` test guest, which resolves whatever step list its `script` parameter spells out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use baton_host::app;
use baton_host::conductor::{
    ConductError, ConductOutcome, Conductor, OperatorStop, StopRequest, Verb,
};
use baton_host::domain::observation::Observation;
use baton_host::domain::procedure::{
    DefineProcedure, Procedure, ProcedureCommand, ProcedureError, ProcedureStatus,
};
use baton_host::domain::run::{Run, RunCommand};
use baton_host::domain::{
    ActuationKind, FailureClass, HoldCause, Quality, Reading, StepKind, Value,
};
use baton_host::ports::sim::SimPort;
use baton_host::ports::{Catalog, Router};
use baton_host::sandbox::{Sandbox, SandboxConfig};
use baton_host::store::{
    ComponentStore, JournalPage, JournalRecord, NewComponent, SqliteStore, StepJournal, StepResult,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// One engine for the whole binary: compiling a component costs ~0.1 s.
fn sandbox() -> Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX
        .get_or_init(|| Sandbox::new(SandboxConfig::default()).expect("sandbox"))
        .clone()
}

/// A catalog for the simulated beamline with instantaneous motion and the given extra TOML
/// (faults, limits) appended.
fn catalog(extra: &str) -> Catalog {
    let text = format!(
        r#"
writes_enabled = true
max_steps = 1000

[timeouts]
write_ms = 5000
read_ms = 5000
action_ms = 5000
settle_ms = 2000
poll_ms = 5

[[routes]]
prefix = "sim:"
port = "sim"

[limits."sim:mx"]
min = -20.0
max = 20.0

[sim]
seed = 7
time_scale = 0.0
{extra}
"#
    );
    Catalog::parse(&text).expect("catalog")
}

struct Beamline {
    store: SqliteStore,
    conductor: Conductor<SqliteStore>,
}

impl Beamline {
    async fn new(extra: &str) -> Beamline {
        let store = SqliteStore::memory().await.expect("store");
        Beamline::on(store, extra)
    }

    /// A conductor on `store` with a fresh simulated beamline.
    fn on(store: SqliteStore, extra: &str) -> Beamline {
        Beamline::with_sandbox(store, extra, sandbox())
    }

    fn with_sandbox(store: SqliteStore, extra: &str, sandbox: Sandbox) -> Beamline {
        let catalog = catalog(extra);
        let router = catalog.router().expect("router");
        let conductor = Conductor::new(store.clone(), sandbox, Arc::new(router), Arc::new(catalog));
        Beamline { store, conductor }
    }

    /// A fresh store and a beamline whose motors take real time to move (2 mm/s scaled by
    /// `time_scale`), so a conduct can be interrupted mid-way.
    async fn slow(time_scale: f64) -> Beamline {
        let store = SqliteStore::memory().await.expect("store");
        let catalog = Catalog::parse(&catalog_text_with_time_scale(time_scale)).expect("catalog");
        let router = catalog.router().expect("router");
        let conductor = Conductor::new(
            store.clone(),
            sandbox(),
            Arc::new(router),
            Arc::new(catalog),
        );
        Beamline { store, conductor }
    }

    /// A conductor on the same store whose `sim:` route is declared Physical: the same channels,
    /// now reported as physical hardware.
    fn physical_on(store: SqliteStore) -> Beamline {
        let catalog = catalog("");
        let mut router = Router::new(catalog.router_settings());
        let port = SimPort::new(catalog.sim()).expect("sim port");
        router
            .add_route("sim:", ActuationKind::Physical, false, Arc::new(port))
            .expect("route");
        let conductor = Conductor::new(
            store.clone(),
            sandbox(),
            Arc::new(router),
            Arc::new(catalog),
        );
        Beamline { store, conductor }
    }

    async fn register(&self, wasm: &[u8]) -> String {
        let loaded = sandbox().load(wasm).await.expect("component loads");
        let info = serde_json::to_value(loaded.info()).expect("info");
        let component = NewComponent::new(
            wasm.to_vec(),
            loaded.info().name.clone(),
            loaded.info().version.clone(),
            info,
            OffsetDateTime::now_utc(),
        );
        self.store.put_component(&component).await.expect("stored");
        loaded.digest().to_owned()
    }

    async fn define(
        &self,
        wasm: &[u8],
        params: Vec<(String, Value)>,
        parent_run: Option<Uuid>,
    ) -> Uuid {
        let digest = self.register(wasm).await;
        let id = Uuid::now_v7();
        let define = ProcedureCommand::Define(DefineProcedure {
            id,
            name: "test procedure".into(),
            component_digest: digest,
            params,
            parent_run,
            max_unconverged_iterations: None,
        });
        app::execute::<Procedure, _>(&self.store, id, &define, OffsetDateTime::now_utc(), &[])
            .await
            .expect("defined");
        id
    }

    async fn script(&self, script: &str) -> Uuid {
        self.define(
            baton_artifacts::guest_script_bytes(),
            vec![("script".into(), Value::Text(script.into()))],
            None,
        )
        .await
    }

    async fn status(&self, id: Uuid) -> ProcedureStatus {
        app::load::<Procedure, _>(&self.store, id)
            .await
            .expect("load")
            .state
            .expect("exists")
            .status
    }

    async fn state(&self, id: Uuid) -> baton_host::domain::procedure::ProcedureState {
        app::load::<Procedure, _>(&self.store, id)
            .await
            .expect("load")
            .state
            .expect("exists")
    }

    async fn journal(&self, id: Uuid) -> Vec<JournalRecord> {
        self.store
            .journal(id, JournalPage::first(JournalPage::MAX_LIMIT))
            .await
            .expect("journal")
    }

    async fn read(&self, channel: &str) -> Value {
        self.conductor
            .router()
            .read(channel)
            .await
            .1
            .expect("read")
            .value
    }
}

fn faults(faults: &[(&str, &str)]) -> String {
    faults
        .iter()
        .map(|(channel, mode)| format!("[[sim.faults]]\nchannel = \"{channel}\"\n{mode}\n"))
        .collect()
}

/// (step index, result) of every journal entry, in order.
fn shape(journal: &[JournalRecord]) -> Vec<(u32, &'static str)> {
    journal
        .iter()
        .map(|r| (r.entry.step_index, r.entry.result.as_str()))
        .collect()
}

fn assert_completed(outcome: &ConductOutcome, steps: u64) {
    assert!(outcome.succeeded, "{outcome:#?}");
    assert_eq!(outcome.status, ProcedureStatus::Completed);
    assert_eq!(outcome.completed_steps, steps);
    assert!(outcome.failure.is_none() && outcome.lifecycle_failure.is_none());
}

const MOVE_ACQUIRE_MOVE: &str =
    "set sim:mx 1 rb=sim:mx.rbv tol=0.01; act sim:det acquire exposure_s=0.1; set sim:my 2";

/// A claim taken before a conduct starts (as the HTTP layer does before answering 202) refuses
/// every other verb on the procedure until the claimed conduct ends; then it is released.
#[tokio::test]
async fn a_claim_refuses_a_second_conduct_until_its_conduct_ends() {
    let b = Beamline::new("").await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    let claim = b.conductor.claim(id).unwrap();
    assert_eq!(claim.id(), id);
    assert!(matches!(
        b.conductor.claim(id),
        Err(ConductError::AlreadyConducting(claimed)) if claimed == id
    ));
    assert!(matches!(
        b.conductor.conduct(id, Verb::Conduct).await,
        Err(ConductError::AlreadyConducting(_))
    ));
    assert!(matches!(
        b.conductor.reconduct(id, None).await,
        Err(ConductError::AlreadyConducting(_))
    ));
    assert_eq!(b.status(id).await, ProcedureStatus::Defined);
    let outcome = b
        .conductor
        .conduct_claimed(claim, Verb::Conduct)
        .await
        .unwrap();
    assert_completed(&outcome, 3);
    assert!(
        b.conductor.conducts().get(id).is_none(),
        "released at the end"
    );
    // A claimed verb refused at its start releases its claim too.
    let refused = b.conductor.claim(id).unwrap();
    assert!(matches!(
        b.conductor.conduct_claimed(refused, Verb::Conduct).await,
        Err(ConductError::Refused(ProcedureError::WrongStatus { .. }))
    ));
    assert!(b.conductor.claim(id).is_ok());
}

#[tokio::test]
async fn conduct_runs_every_step_journals_markers_and_completes_simulated() {
    let b = Beamline::new("").await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    let outcome = b.conductor.conduct(id, Verb::Conduct).await.unwrap();
    assert_completed(&outcome, 3);
    assert_eq!(outcome.actuation_kind, ActuationKind::Simulated);
    assert_eq!(b.state(id).await.actuation_kind, ActuationKind::Simulated);
    assert_eq!(
        shape(&b.journal(id).await),
        [
            (0, "in_flight"),
            (0, "ok"),
            (1, "in_flight"),
            (1, "ok"),
            (2, "in_flight"),
            (2, "ok")
        ]
    );
    assert_eq!(b.read("sim:mx.rbv").await, Value::Float(1.0));
    assert_eq!(b.read("sim:my.rbv").await, Value::Float(2.0));

    // What each outcome observed, beside the detail keys it always had.
    let journal = b.journal(id).await;
    for marker in journal
        .iter()
        .filter(|r| r.entry.result == StepResult::InFlight)
    {
        assert_eq!(observed(marker), None, "a marker observes nothing");
    }
    let set_x = &journal[1].entry.detail;
    assert_eq!(set_x["channel"], "sim:mx");
    assert_eq!(set_x["actuation"], "simulated");
    assert!(set_x.get("answer").is_none(), "{set_x}");
    // The setpoint with a readback: its target and the good readback it settled on, within
    // the tolerance (0.01) of the target.
    match observed(&journal[1]) {
        Some(Observation::Setpoint {
            target,
            readback: Some(Reading { value, quality }),
        }) => {
            assert_eq!(target, Value::Float(1.0));
            assert_eq!(quality, Quality::Good);
            assert!((number(&value) - 1.0).abs() <= 0.01, "{value:?}");
        }
        other => panic!("step 0 observed {other:?}"),
    }
    // The acquisition: typed results, and the same counts in the untyped answer as before.
    let acquired = &journal[3].entry.detail;
    assert_eq!(acquired["device"], "sim:det");
    assert_eq!(acquired["command"], "acquire");
    let Some(Observation::Action { results }) = observed(&journal[3]) else {
        panic!("step 1 observed no results: {acquired}");
    };
    let Value::Int(counts) = results["counts"] else {
        panic!("counts are not an int: {results:?}");
    };
    assert_eq!(acquired["answer"]["counts"].as_i64(), Some(counts));
    assert_eq!(results["exposure_s"], Value::Float(0.1));
    assert_eq!(results["detector"], Value::Text("sim:det".into()));
    assert!(matches!(results["frame"], Value::Int(0)), "{results:?}");
    // The setpoint without a readback: its target alone.
    assert_eq!(
        observed(&journal[5]),
        Some(Observation::Setpoint {
            target: Value::Float(2.0),
            readback: None
        })
    );
}

/// The observation a journal row recorded, if any.
fn observed(record: &JournalRecord) -> Option<Observation> {
    Observation::from_detail(&record.entry.detail).expect("a well-formed observation")
}

fn number(value: &Value) -> f64 {
    value
        .as_number()
        .unwrap_or_else(|| panic!("{value:?} is not a number"))
}

#[tokio::test]
async fn an_example_procedure_conducts_end_to_end() {
    let b = Beamline::new("").await;
    let id = b
        .define(
            baton_artifacts::grid_scan_bytes(),
            vec![
                ("x_points".into(), Value::Int(3)),
                ("y_points".into(), Value::Int(2)),
            ],
            None,
        )
        .await;
    let outcome = b.conductor.conduct(id, Verb::Conduct).await.unwrap();
    assert!(outcome.succeeded, "{outcome:#?}");
    assert_eq!(outcome.completed_steps, outcome.step_count);
    let acquisitions = b
        .journal(id)
        .await
        .iter()
        .filter(|r| r.entry.step_kind == StepKind::Action && r.entry.result == StepResult::Ok)
        .count();
    assert_eq!(acquisitions, 6, "one acquisition per grid point");
    // Every outcome observed something of its own kind; every setpoint of the scan names a
    // readback, so each recorded the good reading it settled on.
    for record in b.journal(id).await {
        if record.entry.result != StepResult::Ok {
            continue;
        }
        match (record.entry.step_kind, observed(&record)) {
            (
                StepKind::Setpoint,
                Some(Observation::Setpoint {
                    target,
                    readback: Some(readback),
                }),
            ) => {
                assert_eq!(readback.quality, Quality::Good);
                assert!((number(&readback.value) - number(&target)).abs() < 1e-6);
            }
            (StepKind::Action, Some(Observation::Action { results })) => {
                assert!(matches!(results["counts"], Value::Int(_)), "{results:?}");
            }
            (kind, other) => panic!("a {kind:?} step observed {other:?}"),
        }
    }
}

#[tokio::test]
async fn checks_are_journaled_with_an_outcome_only() {
    let b = Beamline::new("").await;
    let id = b.script("set sim:mx 3; within sim:mx.rbv 3 0.01").await;
    let outcome = b.conductor.conduct(id, Verb::Conduct).await.unwrap();
    assert_completed(&outcome, 2);
    let journal = b.journal(id).await;
    assert_eq!(shape(&journal), [(0, "in_flight"), (0, "ok"), (1, "ok")]);
    // The check records the reading it judged, value and quality; `answer` keeps it as before.
    let Some(Observation::Check { reading }) = observed(&journal[2]) else {
        panic!("the check observed no reading: {:?}", journal[2]);
    };
    assert_eq!(reading.quality, Quality::Good);
    assert!((number(&reading.value) - 3.0).abs() <= 0.01, "{reading:?}");
    assert_eq!(
        journal[2].entry.detail["answer"],
        serde_json::to_value(&reading).unwrap()
    );
}

#[tokio::test]
async fn conduct_aborts_on_a_recoverable_failure() {
    let b = Beamline::new(&faults(&[("sim:my", "mode = \"timeout\"\nafter_ms = 5")])).await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    let outcome = b.conductor.conduct(id, Verb::Conduct).await.unwrap();
    assert!(!outcome.succeeded && !outcome.held);
    assert_eq!(outcome.status, ProcedureStatus::Aborted);
    let failure = outcome.failure.unwrap();
    assert_eq!(
        (failure.step_index, failure.class),
        (2, FailureClass::Timeout)
    );
    assert_eq!(failure.target, "sim:my");
    let state = b.state(id).await;
    assert!(
        state
            .status_reason
            .unwrap()
            .contains("setpoint[2] sim:my failed: timeout")
    );
}

#[tokio::test]
async fn try_conduct_holds_on_a_setpoint_failure_and_reconduct_completes_from_it() {
    let b = Beamline::new(&faults(&[(
        "sim:my",
        "mode = \"disconnect_after\"\nops = 0",
    )]))
    .await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    let outcome = b.conductor.conduct(id, Verb::TryConduct).await.unwrap();
    assert!(outcome.held, "{outcome:#?}");
    assert_eq!(outcome.status, ProcedureStatus::Held);
    assert_eq!(
        outcome.failure.as_ref().unwrap().class,
        FailureClass::Disconnected
    );
    assert_eq!(outcome.completed_steps, 2);
    let state = b.state(id).await;
    assert!(state.hold_claims.contains(HoldCause::StepFault));
    assert!(state.pin.is_some(), "the hold keeps the pin");

    // The beamline is fixed: a host on the same store, without the fault, reconducts.
    // Its own sandbox counts the guest calls this host makes.
    let own_sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let fixed = Beamline::with_sandbox(b.store.clone(), "", own_sandbox.clone());
    let outcome = fixed.conductor.reconduct(id, None).await.unwrap();
    assert_completed(&outcome, 1);
    assert_eq!(
        outcome.boundary,
        Some(2),
        "no boundary: the interrupted step"
    );
    assert_eq!(
        own_sandbox.stats().resolves,
        0,
        "reconduct never calls the guest"
    );
    assert_eq!(own_sandbox.stats().compiled, 0, "nor even loads it");
    let journal = b.journal(id).await;
    assert_eq!(
        shape(&journal)[4..],
        [(2, "in_flight"), (2, "failed"), (2, "in_flight"), (2, "ok")],
        "the replay lines up with the original indices"
    );
}

#[tokio::test]
async fn try_conduct_holds_on_a_check_failure() {
    let b = Beamline::new("").await;
    let id = b
        .script("set sim:mx 1; within sim:mx.rbv 5 0.1; set sim:my 1")
        .await;
    let outcome = b.conductor.conduct(id, Verb::TryConduct).await.unwrap();
    assert!(outcome.held);
    let failure = outcome.failure.unwrap();
    assert_eq!((failure.step_index, failure.kind), (1, StepKind::Check));
    assert_eq!(failure.class, FailureClass::CriterionMismatch);
    assert_eq!(
        b.read("sim:my.rbv").await,
        Value::Float(0.0),
        "nothing after the check ran"
    );
    // A failed check records the reading that failed it (the motor is at 1, not within 0.1
    // of 5), though the step is not `ok`.
    let journal = b.journal(id).await;
    let failed = journal.last().unwrap();
    assert_eq!(failed.entry.result.as_str(), "failed");
    assert_eq!(
        observed(failed),
        Some(Observation::Check {
            reading: Reading::good(Value::Float(1.0))
        })
    );
}

#[tokio::test]
async fn try_conduct_aborts_on_an_action_failure() {
    let b = Beamline::new(&faults(&[("sim:det", "mode = \"reject_writes\"")])).await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    let outcome = b.conductor.conduct(id, Verb::TryConduct).await.unwrap();
    assert!(!outcome.held);
    assert_eq!(outcome.status, ProcedureStatus::Aborted);
    let failure = outcome.failure.unwrap();
    assert_eq!(
        (failure.step_index, failure.kind, failure.class),
        (1, StepKind::Action, FailureClass::Rejected)
    );
}

#[tokio::test]
async fn try_conduct_aborts_on_a_configuration_failure() {
    let b = Beamline::new("").await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    // The catalog allows writes (the safety check passes); the deployment switch is then off.
    b.conductor.router().set_writes_enabled(false);
    let outcome = b.conductor.conduct(id, Verb::TryConduct).await.unwrap();
    assert_eq!(outcome.status, ProcedureStatus::Aborted);
    assert_eq!(outcome.failure.unwrap().class, FailureClass::AccessDenied);
    assert_eq!(
        outcome.actuation_kind,
        ActuationKind::None,
        "a refused write touched nothing"
    );
}

#[tokio::test]
async fn the_safety_check_refuses_before_start_and_touches_nothing() {
    let b = Beamline::new("").await;
    let id = b.script("set sim:my 1; set sim:mx 100").await;
    let error = b.conductor.conduct(id, Verb::Conduct).await.unwrap_err();
    let ConductError::Safety(violation) = &error else {
        panic!("expected a safety refusal, got {error:?}");
    };
    assert_eq!(violation.step_index, 1);
    assert!(error.to_string().contains("sim:mx"), "{error}");
    assert_eq!(b.status(id).await, ProcedureStatus::Defined);
    assert!(b.journal(id).await.is_empty());
    assert_eq!(
        b.read("sim:my.rbv").await,
        Value::Float(0.0),
        "no device touched"
    );

    let id = b.script("set sim:nowhere 1").await;
    let error = b.conductor.conduct(id, Verb::Conduct).await.unwrap_err();
    assert!(
        matches!(error, ConductError::Safety(ref v) if v.step_index == 0),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_guest_refusal_leaves_the_procedure_defined() {
    let b = Beamline::new("").await;
    let id = b.script("teleport sim:mx").await;
    let error = b.conductor.conduct(id, Verb::Conduct).await.unwrap_err();
    assert!(matches!(error, ConductError::Resolve(_)), "{error:?}");
    assert!(error.to_string().contains("teleport"), "{error}");
    assert_eq!(b.status(id).await, ProcedureStatus::Defined);
}

#[tokio::test]
async fn conducting_twice_is_refused_naming_the_status() {
    let b = Beamline::new("").await;
    let id = b.script("set sim:mx 1").await;
    b.conductor.conduct(id, Verb::Conduct).await.unwrap();
    let error = b.conductor.conduct(id, Verb::Conduct).await.unwrap_err();
    assert!(
        matches!(
            error,
            ConductError::Refused(ProcedureError::WrongStatus {
                status: ProcedureStatus::Completed,
                ..
            })
        ),
        "{error:?}"
    );
    let error = b
        .conductor
        .conduct(Uuid::now_v7(), Verb::Conduct)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ConductError::Refused(ProcedureError::NotFound { .. })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_hold_that_cannot_land_leaves_the_procedure_running_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let store = SqliteStore::open(&path, Default::default()).await.unwrap();
    // The database refuses every hold, as a full disk or a revoked grant would.
    sqlx::query(
        "CREATE TRIGGER refuse_holds BEFORE INSERT ON events WHEN NEW.type = 'ProcedureHeld' \
         BEGIN SELECT RAISE(ABORT, 'holds refused by the test'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let b = Beamline::on(
        store,
        &faults(&[("sim:my", "mode = \"timeout\"\nafter_ms = 5")]),
    );
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    let outcome = b.conductor.conduct(id, Verb::TryConduct).await.unwrap();
    assert!(!outcome.held);
    assert_eq!(outcome.status, ProcedureStatus::Running);
    assert_eq!(outcome.failure.as_ref().unwrap().step_index, 2);
    let reported = outcome.lifecycle_failure.unwrap();
    assert!(
        reported.contains("hold did not land") && reported.contains("holds refused"),
        "{reported}"
    );
    assert_eq!(b.status(id).await, ProcedureStatus::Running);
}

#[tokio::test]
async fn reconduct_while_the_parent_run_is_held_is_refused_and_replays_nothing() {
    let b = Beamline::new(&faults(&[("sim:my", "mode = \"timeout\"\nafter_ms = 5")])).await;
    let run = Uuid::now_v7();
    app::execute::<Run, _>(
        &b.store,
        run,
        &RunCommand::Start {
            id: run,
            name: "beamtime".into(),
        },
        OffsetDateTime::now_utc(),
        &[],
    )
    .await
    .unwrap();
    let id = b
        .define(
            baton_artifacts::guest_script_bytes(),
            vec![("script".into(), Value::Text(MOVE_ACQUIRE_MOVE.into()))],
            Some(run),
        )
        .await;
    assert!(
        b.conductor
            .conduct(id, Verb::TryConduct)
            .await
            .unwrap()
            .held
    );
    app::execute::<Run, _>(
        &b.store,
        run,
        &RunCommand::Hold {
            reason: "beam dump".into(),
        },
        OffsetDateTime::now_utc(),
        &[],
    )
    .await
    .unwrap();
    let before = b.journal(id).await.len();
    let error = b.conductor.reconduct(id, Some(0)).await.unwrap_err();
    assert!(
        matches!(
            error,
            ConductError::Refused(ProcedureError::ParentRun { .. })
        ),
        "{error:?}"
    );
    assert_eq!(
        b.journal(id).await.len(),
        before,
        "a refused resume replays nothing"
    );
    assert_eq!(b.status(id).await, ProcedureStatus::Held);
    assert_eq!(b.read("sim:mx.rbv").await, Value::Float(1.0));
}

#[tokio::test]
async fn reconduct_boundaries_past_equal_and_within_the_pin() {
    let b = Beamline::new(&faults(&[("sim:my", "mode = \"timeout\"\nafter_ms = 5")])).await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    assert!(
        b.conductor
            .conduct(id, Verb::TryConduct)
            .await
            .unwrap()
            .held
    );
    let error = b.conductor.reconduct(id, Some(4)).await.unwrap_err();
    assert!(
        matches!(
            error,
            ConductError::BoundaryPastEnd {
                boundary: 4,
                step_count: 3
            }
        ),
        "{error:?}"
    );
    assert_eq!(b.status(id).await, ProcedureStatus::Held);
    let outcome = b.conductor.reconduct(id, Some(3)).await.unwrap();
    assert_completed(&outcome, 0);
    assert_eq!(outcome.boundary, Some(3));
    let error = b.conductor.reconduct(id, None).await.unwrap_err();
    assert!(
        matches!(
            error,
            ConductError::Refused(ProcedureError::WrongStatus { .. })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn replay_halts_before_an_action_that_already_fired() {
    let b = Beamline::new(&faults(&[("sim:my", "mode = \"timeout\"\nafter_ms = 5")])).await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    assert!(
        b.conductor
            .conduct(id, Verb::TryConduct)
            .await
            .unwrap()
            .held
    );
    let outcome = b.conductor.reconduct(id, Some(0)).await.unwrap();
    let halt = outcome.halted.expect("halted");
    assert_eq!(halt.step_index, 1);
    assert_eq!(
        outcome.status,
        ProcedureStatus::Running,
        "a halt leaves the procedure Running"
    );
    assert_eq!(
        outcome.completed_steps, 1,
        "the setpoint before it was re-driven"
    );
    let acquisitions = b
        .journal(id)
        .await
        .iter()
        .filter(|r| r.entry.step_kind == StepKind::Action && r.entry.result == StepResult::InFlight)
        .count();
    assert_eq!(acquisitions, 1, "the acquisition was not fired again");
}

#[tokio::test]
async fn a_reconduct_failure_aborts() {
    let b = Beamline::new(&faults(&[("sim:my", "mode = \"timeout\"\nafter_ms = 5")])).await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    assert!(
        b.conductor
            .conduct(id, Verb::TryConduct)
            .await
            .unwrap()
            .held
    );
    let outcome = b.conductor.reconduct(id, None).await.unwrap();
    assert_eq!(outcome.status, ProcedureStatus::Aborted);
    assert_eq!(outcome.failure.unwrap().class, FailureClass::Timeout);
}

#[tokio::test]
async fn a_simulated_prefix_and_a_physical_tail_end_hybrid() {
    let b = Beamline::new(&faults(&[("sim:my", "mode = \"timeout\"\nafter_ms = 5")])).await;
    let id = b.script(MOVE_ACQUIRE_MOVE).await;
    let held = b.conductor.conduct(id, Verb::TryConduct).await.unwrap();
    assert_eq!(held.actuation_kind, ActuationKind::Simulated);
    assert_eq!(
        b.state(id).await.actuation_kind,
        ActuationKind::Simulated,
        "Held merges the kind so far"
    );
    let physical = Beamline::physical_on(b.store.clone());
    let outcome = physical.conductor.reconduct(id, None).await.unwrap();
    assert_completed(&outcome, 1);
    assert_eq!(outcome.actuation_kind, ActuationKind::Hybrid);
    assert_eq!(b.state(id).await.actuation_kind, ActuationKind::Hybrid);
}

#[tokio::test]
async fn an_operator_hold_takes_effect_at_the_next_step_boundary() {
    let b = Beamline::slow(0.02).await;
    let id = b
        .script("set sim:mx 1; set sim:mx 2; set sim:mx 3; set sim:mx 4; set sim:mx 5")
        .await;
    let conductor = b.conductor.clone();
    let running = tokio::spawn(async move { conductor.conduct(id, Verb::Conduct).await });
    wait_for_journal(&b, id, 1).await;
    assert!(b.conductor.request_stop(
        id,
        StopRequest::Hold {
            reason: "sample change".into()
        }
    ));
    let outcome = running.await.unwrap().unwrap();
    assert_eq!(outcome.stopped_by, Some(OperatorStop::HeldByOperator));
    assert!(outcome.held);
    assert_eq!(outcome.status, ProcedureStatus::Held);
    assert!(
        outcome.completed_steps >= 1 && outcome.completed_steps < 5,
        "{outcome:#?}"
    );
    let journal = b.journal(id).await;
    let markers = journal
        .iter()
        .filter(|r| r.entry.result == StepResult::InFlight)
        .count();
    let outcomes = journal
        .iter()
        .filter(|r| r.entry.result == StepResult::Ok)
        .count();
    assert_eq!(
        markers, outcomes,
        "the write in progress finished before the hold"
    );
    let state = b.state(id).await;
    assert!(state.hold_claims.contains(HoldCause::Operator));
    assert_eq!(state.status_reason.as_deref(), Some("sample change"));

    let outcome = b.conductor.reconduct(id, None).await.unwrap();
    assert!(outcome.succeeded, "{outcome:#?}");
    assert_eq!(b.read("sim:mx.rbv").await, Value::Float(5.0));
}

#[tokio::test]
async fn an_operator_abort_takes_effect_at_the_next_step_boundary() {
    let b = Beamline::slow(0.02).await;
    let id = b
        .script("set sim:mx 1; set sim:mx 2; set sim:mx 3; set sim:mx 4")
        .await;
    let conductor = b.conductor.clone();
    let running = tokio::spawn(async move { conductor.conduct(id, Verb::TryConduct).await });
    wait_for_journal(&b, id, 1).await;
    assert!(b.conductor.request_stop(
        id,
        StopRequest::Abort {
            reason: "wrong sample".into()
        }
    ));
    let outcome = running.await.unwrap().unwrap();
    assert_eq!(outcome.stopped_by, Some(OperatorStop::AbortedByOperator));
    assert_eq!(outcome.status, ProcedureStatus::Aborted);
    assert!(!outcome.held);
    assert!(
        !b.conductor.request_stop(
            id,
            StopRequest::Abort {
                reason: "late".into()
            }
        ),
        "no conduct left to stop"
    );
}

/// A catalog whose motors take real time to move (the default beamline: 2 mm/s, scaled by
/// `time_scale`), so a conduct can be interrupted mid-way.
fn catalog_text_with_time_scale(time_scale: f64) -> String {
    format!(
        r#"
max_steps = 1000
[[routes]]
prefix = "sim:"
port = "sim"
[sim]
time_scale = {time_scale}
"#
    )
}

#[tokio::test]
async fn a_hold_appended_by_another_host_stops_the_conduct_at_a_step_boundary() {
    let b = Beamline::slow(0.05).await;
    // 12 moves of 5 mm, 125 ms each.
    let script: Vec<String> = (0..12)
        .map(|i| format!("set sim:mx {}", (i % 2) * 5))
        .collect();
    let id = b.script(&script.join(";")).await;
    let conductor = b.conductor.clone();
    let running = tokio::spawn(async move { conductor.conduct(id, Verb::Conduct).await });
    wait_for_journal(&b, id, 1).await;
    // Another host (it does not run this conduct) appends the operator's hold itself.
    let elsewhere = Beamline::on(b.store.clone(), "");
    assert!(
        !elsewhere
            .conductor
            .request_stop(id, StopRequest::Hold { reason: "x".into() })
    );
    let hold = ProcedureCommand::Hold {
        cause: HoldCause::Operator,
        reason: "hold from the other control room".into(),
        actuation_kind: ActuationKind::None,
    };
    app::execute::<Procedure, _>(&b.store, id, &hold, OffsetDateTime::now_utc(), &[])
        .await
        .unwrap();
    let journal_at_hold = b.journal(id).await.len();
    let outcome = running.await.unwrap().unwrap();
    assert_eq!(
        outcome.stopped_by,
        Some(OperatorStop::HeldByOperator),
        "{outcome:#?}"
    );
    assert_eq!(outcome.status, ProcedureStatus::Held);
    assert!(outcome.completed_steps < 12);
    let journal = b.journal(id).await;
    assert!(
        journal.len() <= journal_at_hold + 2 * 4,
        "stopped within the watch interval"
    );
    let markers = journal
        .iter()
        .filter(|r| r.entry.result == StepResult::InFlight)
        .count();
    let oks = journal
        .iter()
        .filter(|r| r.entry.result == StepResult::Ok)
        .count();
    assert_eq!(markers, oks, "no write left unfinished");
    assert_eq!(b.status(id).await, ProcedureStatus::Held);
}

async fn wait_for_journal(b: &Beamline, id: Uuid, entries: usize) {
    for _ in 0..2000 {
        if b.journal(id).await.len() >= entries {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("the conduct never journaled {entries} entries");
}

#[tokio::test]
async fn a_conduct_dropped_mid_way_is_held_by_restart_recovery() {
    let b = Beamline::slow(0.05).await;
    let id = b
        .script("set sim:mx 1; set sim:mx 2; set sim:mx 3; act sim:det acquire exposure_s=0.01")
        .await;
    let other = b.script("set sim:my 1").await;
    {
        // The host dies mid-write: the conduct's future is dropped (its task aborted) while a
        // move is in flight, once the journal shows a completed step and the next one's marker.
        // Polled, so a loaded machine cannot drop it before the first step landed; a task of its
        // own, so the conduct keeps running (and releases its connection) while the test reads.
        let conductor = b.conductor.clone();
        let conduct = tokio::spawn(async move { conductor.conduct(id, Verb::Conduct).await });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let journal = b.journal(id).await;
            let one_done = journal.iter().any(|r| r.entry.result == StepResult::Ok);
            let in_flight = journal
                .last()
                .is_some_and(|r| r.entry.result == StepResult::InFlight);
            if one_done && in_flight {
                break;
            }
            assert!(
                !conduct.is_finished() && tokio::time::Instant::now() < deadline,
                "no step completed with the next in flight: {journal:#?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        conduct.abort();
        let dropped = conduct.await;
        assert!(
            dropped.as_ref().is_err_and(|e| e.is_cancelled()),
            "the conduct should still have been running: {dropped:?}"
        );
    }
    assert_eq!(b.status(id).await, ProcedureStatus::Running);
    let dangling = b
        .store
        .interrupted_step(id)
        .await
        .unwrap()
        .expect("a dangling marker");

    // A new host on the same database.
    let restarted = Beamline::on(b.store.clone(), "");
    let recovered = restarted.conductor.recover().await.unwrap();
    assert_eq!(recovered.len(), 1, "{recovered:#?}");
    let r = &recovered[0];
    assert_eq!(r.procedure_id, id);
    assert!(r.error.is_none());
    assert_eq!(r.interrupted_step, u64::from(dangling.entry.step_index));
    assert!(
        r.reason
            .contains(&format!("setpoint[{}] sim:mx", dangling.entry.step_index)),
        "{}",
        r.reason
    );
    let state = restarted.state(id).await;
    assert_eq!(state.status, ProcedureStatus::Held);
    assert!(state.hold_claims.contains(HoldCause::HostRestart));
    assert_eq!(
        state.actuation_kind,
        ActuationKind::Simulated,
        "provenance survives the crash"
    );
    assert_eq!(
        restarted.status(other).await,
        ProcedureStatus::Defined,
        "nothing else touched"
    );
    let journal_len = restarted.journal(id).await.len();
    assert!(
        restarted.conductor.recover().await.unwrap().is_empty(),
        "recovery is idempotent"
    );
    assert_eq!(
        restarted.journal(id).await.len(),
        journal_len,
        "nothing re-driven unasked"
    );

    let outcome = restarted.conductor.reconduct(id, None).await.unwrap();
    assert!(outcome.succeeded, "{outcome:#?}");
    assert_eq!(outcome.boundary, Some(u64::from(dangling.entry.step_index)));
}

mod journal_properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Gen {
        Set(u8, i8),
        Check(u8, bool),
        Act,
    }

    fn step() -> impl Strategy<Value = Gen> {
        prop_oneof![
            (0u8..2, -10i8..10).prop_map(|(m, v)| Gen::Set(m, v)),
            (0u8..2, any::<bool>()).prop_map(|(m, pass)| Gen::Check(m, pass)),
            Just(Gen::Act),
        ]
    }

    fn motor(m: u8) -> &'static str {
        if m == 0 { "sim:mx" } else { "sim:my" }
    }

    fn script(steps: &[Gen]) -> String {
        steps
            .iter()
            .map(|s| match s {
                Gen::Set(m, v) => format!("set {} {v}", motor(*m)),
                // The readback is in [-10, 10]: `between -100 100` passes, `between 50 60` fails.
                Gen::Check(m, true) => format!("between {}.rbv -100 100", motor(*m)),
                Gen::Check(m, false) => format!("between {}.rbv 50 60", motor(*m)),
                Gen::Act => "act sim:det acquire exposure_s=0.01".into(),
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    fn fault(kind: u8, ops: u8) -> String {
        let channel = ["sim:mx", "sim:my", "sim:det"][usize::from(kind % 3)];
        match kind / 3 {
            0 => String::new(),
            1 => faults(&[(
                channel,
                &format!("mode = \"disconnect_after\"\nops = {ops}"),
            )]),
            2 => faults(&[(channel, "mode = \"reject_writes\"")]),
            _ => faults(&[(channel, "mode = \"timeout\"\nafter_ms = 1")]),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

        #[test]
        fn journal_invariants_hold_under_random_faults(
            steps in proptest::collection::vec(step(), 1..12),
            fault_kind in 0u8..12,
            ops in 0u8..6,
            try_conduct in any::<bool>(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let b = Beamline::new(&fault(fault_kind, ops)).await;
                let id = b.script(&script(&steps)).await;
                let verb = if try_conduct { Verb::TryConduct } else { Verb::Conduct };
                let outcome = b.conductor.conduct(id, verb).await.unwrap();
                let journal = b.journal(id).await;

                // Exactly one outcome per executed step, a marker before every side effect,
                // indices absolute and in order.
                let mut expected_index = 0u32;
                let mut open_marker: Option<u32> = None;
                for record in &journal {
                    let e = &record.entry;
                    prop_assert_eq!(e.step_index, expected_index);
                    match e.result {
                        StepResult::InFlight => {
                            prop_assert!(e.step_kind.has_effect());
                            prop_assert!(open_marker.is_none());
                            open_marker = Some(e.step_index);
                        }
                        StepResult::Ok | StepResult::Failed(_) => {
                            prop_assert_eq!(open_marker.take().is_some(), e.step_kind.has_effect());
                            expected_index += 1;
                        }
                    }
                }
                prop_assert!(open_marker.is_none(), "no dangling marker after a finished conduct");
                let outcomes = journal.iter().filter(|r| r.entry.result != StepResult::InFlight).count();
                let oks = journal.iter().filter(|r| r.entry.result == StepResult::Ok).count();
                prop_assert_eq!(oks as u64, outcome.completed_steps);

                // The final status follows the verb's rules.
                match &outcome.failure {
                    None => {
                        prop_assert_eq!(outcome.status, ProcedureStatus::Completed);
                        prop_assert_eq!(outcomes, steps.len());
                    }
                    Some(f) => {
                        prop_assert_eq!(outcomes as u64, f.step_index + 1, "nothing ran after the failure");
                        let holds = try_conduct && f.kind != StepKind::Action && !f.class.is_configuration();
                        let status = if holds { ProcedureStatus::Held } else { ProcedureStatus::Aborted };
                        prop_assert_eq!(outcome.status, status);
                        prop_assert_eq!(outcome.held, holds);
                        prop_assert_eq!(b.status(id).await, status);
                    }
                }
                Ok(())
            })?;
        }
    }
}
