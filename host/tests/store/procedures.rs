//! Conformance tests of the domain-aware half of the store: the application layer's command
//! path (`baton_host::app`), the pinned steps of a start, the `procedure_summary` projection (live, rebuilt, listed) and the loud
//! failure on an unknown event type. Generic over the backend like the rest of the suite.

use std::convert::Infallible;

use baton_host::app::{CommandError, Committed, commit, execute, load};
use baton_host::domain::procedure::{
    DefineProcedure, Pin, Procedure, ProcedureCommand, ProcedureError, ProcedureEvent,
    ProcedureState, ProcedureStatus,
};
use baton_host::domain::run::{
    Run, RunCommand, RunError, RunEvent, RunHeld, RunStarted, RunState, RunStatus,
};
use baton_host::domain::{ActuationKind, Check, Criterion, HoldCause, Setpoint, Step, Value};
use baton_host::store::{
    AppendRequest, NewComponent, NewEvent, PinnedSteps, ProcedureSummary, StoreError,
    SummaryCursor, SummaryQuery, procedure_stream, run_stream,
};
use serde_json::json;
use strum::VariantArray;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::harness::Backend;

fn t(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
        + Duration::seconds(seconds)
        + Duration::nanoseconds(123_456_789)
}

async fn execute_run<S: Backend>(
    store: &S,
    id: Uuid,
    command: &RunCommand,
    now: OffsetDateTime,
) -> Result<Committed<RunState>, CommandError<RunError>> {
    execute::<Run, S>(store, id, command, now, &[]).await
}

async fn execute_procedure<S: Backend>(
    store: &S,
    id: Uuid,
    command: &ProcedureCommand,
    now: OffsetDateTime,
    pins: &[PinnedSteps],
) -> Result<Committed<ProcedureState>, CommandError<ProcedureError>> {
    execute::<Procedure, S>(store, id, command, now, pins).await
}

/// Loads the run, lets `decide` choose any events from its state, and commits them: the
/// application layer's commit is generic over the decision.
async fn handle<S: Backend>(
    store: &S,
    id: Uuid,
    decide: impl FnOnce(Option<&RunState>) -> Result<Vec<RunEvent>, Infallible>,
) -> Result<Committed<RunState>, CommandError<RunError>> {
    let loaded = load::<Run, S>(store, id).await?;
    let decided = match decide(loaded.state.as_ref()) {
        Ok(events) => events,
        Err(never) => match never {},
    };
    commit::<Run, S>(store, id, loaded, decided, &[]).await
}

async fn register_component<S: Backend>(store: &S) -> String {
    let wasm = format!("\0asm {}", Uuid::new_v4()).into_bytes();
    let c = NewComponent::new(wasm, "scan", "1.0.0", json!({"name": "scan"}), t(0));
    store.put_component(&c).await.unwrap();
    c.digest
}

async fn start_run<S: Backend>(store: &S, held: bool) -> Uuid {
    let id = Uuid::new_v4();
    let start = RunCommand::Start {
        id,
        name: "run".into(),
    };
    let started = execute_run(store, id, &start, t(0)).await.unwrap();
    assert_eq!(started.state.status, RunStatus::Running);
    if held {
        let hold = RunCommand::Hold {
            reason: "beam dump".into(),
        };
        let held = execute_run(store, id, &hold, t(1)).await.unwrap();
        assert_eq!(held.state.status, RunStatus::Held);
        assert_eq!(held.version, 2);
        // Repeating the hold is a refusal naming the status, and appends nothing.
        let err = execute_run(store, id, &hold, t(2)).await.unwrap_err();
        assert!(
            matches!(
                err,
                CommandError::Refused(RunError::WrongStatus {
                    status: RunStatus::Held,
                    ..
                })
            ),
            "{err}"
        );
        assert_eq!(store.stream_version(&run_stream(id)).await.unwrap(), 2);
    }
    id
}

pub async fn generic_handle_with_any_decider<S: Backend>(store: &S) {
    // The generic commit drives any aggregate with any decision closure.
    let id = Uuid::new_v4();
    let started = RunEvent::Started(RunStarted {
        id,
        name: "raw".into(),
        started_at: t(0),
    });
    let committed = handle(store, id, |state| {
        assert!(state.is_none());
        Ok(vec![started])
    })
    .await
    .unwrap();
    assert_eq!(committed.version, 1);
    let held = RunEvent::Held(RunHeld {
        reason: "r".into(),
        at: t(1),
    });
    let committed = handle(store, id, |state| {
        assert_eq!(state.map(|s| s.status), Some(RunStatus::Running));
        Ok(vec![held])
    })
    .await
    .unwrap();
    assert_eq!(committed.state.status, RunStatus::Held);
    // A decision with no events appends nothing and reports the unchanged state.
    let unchanged = handle(store, id, |_| Ok(vec![])).await.unwrap();
    assert!(unchanged.events.is_empty());
    assert_eq!((unchanged.version, unchanged.state), (2, committed.state));
    // ... but on an empty stream there is no state to report.
    let none = handle(store, Uuid::new_v4(), |_| Ok(vec![])).await;
    assert!(matches!(
        none,
        Err(CommandError::Store(StoreError::EmptyAppend { .. }))
    ));
}

fn define_as(id: Uuid, digest: &str, parent_run: Option<Uuid>) -> ProcedureCommand {
    ProcedureCommand::Define(DefineProcedure {
        id,
        name: "energy scan".into(),
        component_digest: digest.to_owned(),
        params: vec![("energy".into(), Value::Float(8.3))],
        parent_run,
        max_unconverged_iterations: Some(3),
    })
}

fn steps() -> Vec<Step> {
    vec![
        Step::Setpoint(Setpoint {
            channel: "mono:energy".into(),
            value: Value::Float(8.3),
            readback: None,
            tolerance: None,
            settle_ms: None,
        }),
        Step::Check(Check {
            channel: "ring:current".into(),
            criterion: Criterion::Within {
                target: 200.0,
                tolerance: 5.0,
            },
            timeout_ms: Some(100),
        }),
    ]
}

fn start(digest: &str) -> (ProcedureCommand, PinnedSteps) {
    let pinned = PinnedSteps::new(steps()).unwrap();
    let pin = Pin::for_steps(
        pinned.steps(),
        digest.to_owned(),
        vec![("energy".into(), Value::Float(8.3))],
        vec![],
        "limits-1".into(),
    )
    .unwrap();
    assert_eq!(
        pin.content_hash,
        pinned.hash(),
        "store and domain hash alike"
    );
    (ProcedureCommand::Start { pin }, pinned)
}

/// Defines a procedure (id chosen here) and applies `commands` in order.
async fn drive<S: Backend>(
    store: &S,
    digest: &str,
    parent_run: Option<Uuid>,
    commands: &[ProcedureCommand],
) -> (Uuid, ProcedureState) {
    let id = Uuid::new_v4();
    let mut state = execute_procedure(store, id, &define_as(id, digest, parent_run), t(1), &[])
        .await
        .unwrap()
        .state;
    for (i, command) in commands.iter().enumerate() {
        let pins = match command {
            ProcedureCommand::Start { .. } => vec![PinnedSteps::new(steps()).unwrap()],
            _ => vec![],
        };
        state = execute_procedure(store, id, command, t(2 + i as i64), &pins)
            .await
            .unwrap_or_else(|e| panic!("{command:?}: {e}"))
            .state;
    }
    (id, state)
}

fn hold(cause: HoldCause, reason: &str) -> ProcedureCommand {
    ProcedureCommand::Hold {
        cause,
        reason: reason.into(),
        actuation_kind: ActuationKind::Simulated,
    }
}

/// One procedure per interesting path through the state machine.
async fn populate<S: Backend>(store: &S) -> Vec<(Uuid, ProcedureState)> {
    let digest = register_component(store).await;
    let run = start_run(store, false).await;
    let (start_cmd, _) = start(&digest);
    let scripts: Vec<(Option<Uuid>, Vec<ProcedureCommand>)> = vec![
        (None, vec![]),
        (Some(run), vec![start_cmd.clone()]),
        (
            None,
            vec![
                start_cmd.clone(),
                hold(HoldCause::StepFault, "readback timeout"),
                hold(HoldCause::Operator, "checking the sample"),
            ],
        ),
        (
            Some(run),
            vec![
                start_cmd.clone(),
                ProcedureCommand::StartIteration { index: 1 },
                ProcedureCommand::EndIteration {
                    index: 1,
                    converged: Some(false),
                    reason: None,
                },
                ProcedureCommand::StartIteration { index: 2 },
                hold(HoldCause::Operator, "pause"),
                ProcedureCommand::Resume {
                    cause: HoldCause::Operator,
                    boundary: 1,
                },
                ProcedureCommand::Complete {
                    actuation_kind: ActuationKind::Physical,
                },
            ],
        ),
        (
            None,
            vec![
                start_cmd.clone(),
                ProcedureCommand::Abort {
                    reason: "detector fault".into(),
                    actuation_kind: ActuationKind::Physical,
                },
            ],
        ),
        (
            None,
            vec![
                start_cmd.clone(),
                hold(HoldCause::HostRestart, "host restarted during step 1"),
                ProcedureCommand::Truncate {
                    reason: "conduct died".into(),
                    interrupted_at: t(0),
                },
            ],
        ),
    ];
    let mut out = Vec::new();
    for (parent, commands) in scripts {
        out.push(drive(store, &digest, parent, &commands).await);
    }
    out
}

async fn all_summaries<S: Backend>(store: &S, query: SummaryQuery) -> Vec<ProcedureSummary> {
    let mut out = Vec::new();
    let mut query = query;
    loop {
        let page = store.list_procedures(&query).await.unwrap();
        assert!(page.items.len() <= query.limit as usize);
        out.extend(page.items);
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => return out,
        }
    }
}

pub async fn projection_follows_every_status<S: Backend>(store: &S) {
    let procedures = populate(store).await;
    let statuses: Vec<ProcedureStatus> = procedures.iter().map(|(_, s)| s.status).collect();
    for &status in ProcedureStatus::VARIANTS {
        assert!(statuses.contains(&status), "{status} is exercised");
    }
    for (id, state) in &procedures {
        let row = store.procedure_summary(*id).await.unwrap().unwrap();
        let defined = store.read_stream(&procedure_stream(*id)).await.unwrap()[0].position;
        assert_eq!(row, ProcedureSummary::from_state(state, defined));
    }
    let held = &procedures[2].1;
    let row = store.procedure_summary(held.id).await.unwrap().unwrap();
    assert_eq!(row.status, ProcedureStatus::Held);
    assert_eq!(row.hold_causes, [HoldCause::Operator, HoldCause::StepFault]);
    assert_eq!(row.status_reason.as_deref(), Some("checking the sample"));
    assert_eq!(row.actuation_kind, ActuationKind::Simulated);

    let completed = store
        .procedure_summary(procedures[3].0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(completed.status, ProcedureStatus::Completed);
    assert_eq!(
        completed.status_reason, None,
        "resume cleared the hold reason"
    );
    assert!(completed.hold_causes.is_empty());
    assert_eq!(completed.iteration_count, 2);
    assert_eq!(completed.actuation_kind, ActuationKind::Hybrid);
    assert_eq!(
        completed.last_changed_at,
        t(2 + 6).replace_nanosecond(123_456_000).unwrap()
    );
    assert_eq!(
        completed.defined_at,
        t(1).replace_nanosecond(123_456_000).unwrap()
    );

    let truncated = store
        .procedure_summary(procedures[5].0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(truncated.status_reason.as_deref(), Some("conduct died"));
    assert!(
        store
            .procedure_summary(Uuid::new_v4())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn projection_rebuild_equals_live<S: Backend>(store: &S) {
    populate(store).await;
    populate(store).await;
    let live = all_summaries(store, SummaryQuery::first(1000)).await;
    assert!(live.len() >= 12);
    let rebuilt = store.rebuild_summaries().await.unwrap();
    assert_eq!(rebuilt, live.len() as u64);
    let after = all_summaries(store, SummaryQuery::first(1000)).await;
    assert_eq!(after, live);
    // Rebuilding twice changes nothing either.
    store.rebuild_summaries().await.unwrap();
    assert_eq!(all_summaries(store, SummaryQuery::first(1000)).await, live);
}

pub async fn list_filters_and_keyset_paging<S: Backend>(store: &S) {
    let digest = register_component(store).await;
    let run_a = start_run(store, false).await;
    let run_b = start_run(store, false).await;
    let (start_cmd, _) = start(&digest);
    let mut made = Vec::new();
    for i in 0..23 {
        let parent = match i % 3 {
            0 => Some(run_a),
            1 => Some(run_b),
            _ => None,
        };
        let commands = if i % 2 == 0 {
            vec![start_cmd.clone()]
        } else {
            vec![]
        };
        made.push(drive(store, &digest, parent, &commands).await);
    }

    let everything = all_summaries(store, SummaryQuery::first(7)).await;
    assert_eq!(everything.len(), 23, "every procedure once across pages");
    assert!(
        everything
            .windows(2)
            .all(|w| w[0].defined_position > w[1].defined_position),
        "newest first, no duplicates"
    );
    let newest_first: Vec<Uuid> = made.iter().rev().map(|(id, _)| *id).collect();
    assert_eq!(
        everything.iter().map(|s| s.id).collect::<Vec<_>>(),
        newest_first
    );

    let running = all_summaries(
        store,
        SummaryQuery::first(5).with_status(ProcedureStatus::Running),
    )
    .await;
    assert_eq!(running.len(), 12);
    assert!(running.iter().all(|s| s.status == ProcedureStatus::Running));

    let in_a = all_summaries(store, SummaryQuery::first(3).with_parent_run(run_a)).await;
    assert_eq!(in_a.len(), 8);
    assert!(in_a.iter().all(|s| s.parent_run == Some(run_a)));

    let defined_in_b = all_summaries(
        store,
        SummaryQuery::first(2)
            .with_parent_run(run_b)
            .with_status(ProcedureStatus::Defined),
    )
    .await;
    let expected = made
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 1 && i % 2 == 1)
        .count();
    assert_eq!(defined_in_b.len(), expected);

    // A full last page still says there may be more; the next page is then empty.
    let page = store
        .list_procedures(&SummaryQuery::first(8).with_parent_run(run_a))
        .await
        .unwrap();
    let next = page.next.unwrap();
    let rest = store
        .list_procedures(
            &SummaryQuery::first(8)
                .with_parent_run(run_a)
                .after(Some(next)),
        )
        .await
        .unwrap();
    assert!(rest.items.is_empty() && rest.next.is_none());

    // Cursors round-trip through text; bad ones and bad limits are refused.
    assert_eq!(next.to_string().parse::<SummaryCursor>().unwrap(), next);
    assert!(matches!(
        "42".parse::<SummaryCursor>(),
        Err(StoreError::InvalidQuery(_))
    ));
    for limit in [0, SummaryQuery::MAX_LIMIT + 1] {
        assert!(matches!(
            store.list_procedures(&SummaryQuery::first(limit)).await,
            Err(StoreError::InvalidQuery(_))
        ));
    }
}

pub async fn unknown_event_type_fails_loudly<S: Backend>(store: &S) {
    let digest = register_component(store).await;
    let (id, state) = drive(store, &digest, None, &[]).await;
    let stream = procedure_stream(id);

    // Through the store: the projection cannot fold it, so the append is refused whole.
    let bogus = [NewEvent::new("ProcedureExploded", json!({"at": "now"}))];
    match store.append(AppendRequest::new(&stream, 1, &bogus)).await {
        Err(StoreError::UnknownEventType {
            event_type,
            version,
            stream: s,
        }) => assert_eq!(
            (event_type.as_str(), version, s),
            ("ProcedureExploded", 2, stream.clone())
        ),
        other => panic!("expected UnknownEventType, got {other:?}"),
    }
    assert_eq!(store.stream_version(&stream).await.unwrap(), 1);

    // Behind the store's back: loading and rebuilding fail naming the type and the version.
    store
        .insert_raw_event(&stream, 2, "ProcedureExploded", "{\"at\": \"now\"}")
        .await;
    match load::<Procedure, S>(store, id).await {
        Err(StoreError::UnknownEventType {
            event_type,
            version,
            ..
        }) => assert_eq!((event_type.as_str(), version), ("ProcedureExploded", 2)),
        other => panic!("expected UnknownEventType, got {other:?}"),
    }
    let err = store.rebuild_summaries().await.unwrap_err();
    assert!(err.to_string().contains("ProcedureExploded"), "{err}");
    // The failed rebuild rolled back: the old row is still there.
    let row = store.procedure_summary(id).await.unwrap().unwrap();
    assert_eq!(row.status, state.status);
    let err = execute_procedure(
        store,
        id,
        &ProcedureCommand::Abort {
            reason: "x".into(),
            actuation_kind: ActuationKind::None,
        },
        t(9),
        &[],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            CommandError::Store(StoreError::UnknownEventType { .. })
        ),
        "{err}"
    );
}

pub async fn handler_refuses_and_conflicts<S: Backend>(store: &S) {
    let digest = register_component(store).await;

    // Define needs a registered component.
    let unknown = "ab".repeat(32);
    let new_id = Uuid::new_v4();
    let err = execute_procedure(store, new_id, &define_as(new_id, &unknown, None), t(0), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::ComponentNotRegistered(d) if d == unknown));

    let (id, _) = drive(store, &digest, None, &[]).await;
    let stream = procedure_stream(id);

    // A refusal appends nothing.
    let err = execute_procedure(
        store,
        id,
        &ProcedureCommand::Complete {
            actuation_kind: ActuationKind::None,
        },
        t(3),
        &[],
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Refused(ProcedureError::WrongStatus {
            status: ProcedureStatus::Defined,
            ..
        })
    ));
    assert_eq!(store.stream_version(&stream).await.unwrap(), 1);

    // A start without its steps, or with the wrong steps, is refused before anything lands.
    let (start_cmd, pinned) = start(&digest);
    let err = execute_procedure(store, id, &start_cmd, t(3), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Store(StoreError::PinMismatch { .. })),
        "{err}"
    );
    let other_steps = PinnedSteps::new(steps()[..1].to_vec()).unwrap();
    let err = execute_procedure(store, id, &start_cmd, t(3), &[pinned.clone(), other_steps])
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Store(StoreError::PinMismatch { .. })),
        "{err}"
    );
    assert_eq!(store.stream_version(&stream).await.unwrap(), 1);
    assert!(store.pinned_steps(pinned.hash()).await.unwrap().is_none());

    // Start + pin: one append of two events, the steps in the same transaction.
    let committed = execute_procedure(store, id, &start_cmd, t(3), std::slice::from_ref(&pinned))
        .await
        .unwrap();
    assert_eq!(committed.version, 3);
    assert_eq!(
        committed
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["ProcedureStarted", "ResolvedStepsRecorded"]
    );
    assert_eq!(committed.state.status, ProcedureStatus::Running);
    let hash = committed.state.pin.as_ref().unwrap().content_hash.clone();
    assert_eq!(
        store.pinned_steps(&hash).await.unwrap().unwrap().steps(),
        &steps()[..]
    );
    let loaded = load::<Procedure, S>(store, id).await.unwrap();
    assert_eq!(loaded.version, 3);
    assert_eq!(loaded.state.as_ref(), Some(&committed.state));

    // Optimistic concurrency: a decision on a stale load is a typed conflict, not a retry.
    let stale = load::<Procedure, S>(store, id).await.unwrap();
    execute_procedure(store, id, &hold(HoldCause::Operator, "first"), t(4), &[])
        .await
        .unwrap();
    let decided = baton_host::domain::procedure::decide(
        stale.state.as_ref(),
        &hold(HoldCause::StepFault, "second"),
        &baton_host::domain::procedure::ProcedureContext::at(t(5)),
    )
    .unwrap();
    let err = commit::<Procedure, S>(store, id, stale, decided, &[])
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(matches!(
        err,
        CommandError::Store(StoreError::Conflict {
            expected: 3,
            actual: 4,
            ..
        })
    ));

    // Racing commands decided on the same state: exactly one lands.
    let seen = load::<Procedure, S>(store, id).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        let stale = seen.clone();
        tasks.push(tokio::spawn(async move {
            let events: Vec<ProcedureEvent> = baton_host::domain::procedure::decide(
                stale.state.as_ref(),
                &ProcedureCommand::Abort {
                    reason: format!("racer {i}"),
                    actuation_kind: ActuationKind::None,
                },
                &baton_host::domain::procedure::ProcedureContext::at(t(6)),
            )
            .unwrap();
            commit::<Procedure, S>(&store, id, stale, events, &[]).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(e.is_conflict(), "{e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one racing command commits");
    let summary = store.procedure_summary(id).await.unwrap().unwrap();
    assert_eq!(summary.status, ProcedureStatus::Aborted);
    assert_eq!(summary.version, 5, "one abort, however many raced");

    // The component is now referenced: deleting it is refused.
    assert!(matches!(
        store.delete_component(&digest).await,
        Err(StoreError::ComponentInUse { procedures: 1, .. })
    ));
    assert!(store.component(&digest).await.unwrap().is_some());
}

pub async fn parent_run_guards<S: Backend>(store: &S) {
    let digest = register_component(store).await;
    let held_run = start_run(store, true).await;
    // Define under a held run is allowed; start is not.
    let (id, _) = drive(store, &digest, Some(held_run), &[]).await;
    let (start_cmd, pinned) = start(&digest);
    let err = execute_procedure(store, id, &start_cmd, t(3), &[pinned])
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Refused(ProcedureError::ParentRun { run, .. }) if run == held_run),
        "{err}"
    );
    // A parent run that does not exist is refused at define.
    let missing = Uuid::new_v4();
    let new_id = Uuid::new_v4();
    let err = execute_procedure(
        store,
        new_id,
        &define_as(new_id, &digest, Some(missing)),
        t(0),
        &[],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CommandError::Refused(ProcedureError::ParentRunNotFound { run, .. }) if run == missing),
        "{err}"
    );
}
