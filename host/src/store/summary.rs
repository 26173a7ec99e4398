//! The projections, backend-neutral: `procedure_summary` behind `GET /procedures` and
//! `run_summary` behind `GET /runs`, one row per procedure or run, derived from the folded
//! state. Every append to a procedure or run stream refolds that stream inside the append's
//! transaction and upserts the row, so the row never lags or leads its stream; a rebuild runs
//! the same fold over every stream and so gives the same rows.
//!
//! Refolding costs a read of the stream per append. Procedure and run streams are short (the
//! step list and the journal are kept out of them), so this buys a projection that is correct
//! by construction for raw appends as well as for the application layer.
//!
//! This module holds the rows, the queries and pages, and the folding; the backends hold only
//! the SQL that reads and writes the rows.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use uuid::Uuid;

use super::error::StoreError;
use super::event::{RecordedEvent, normalize_time, procedure_id_of, run_id_of};
use crate::domain::codec::DomainEvent;
use crate::domain::procedure::{Procedure, ProcedureEvent, ProcedureState, ProcedureStatus};
use crate::domain::run::{Run, RunEvent, RunState, RunStatus};
use crate::domain::{ActuationKind, HoldCause, stream_prefix};

/// One row of the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcedureSummary {
    pub id: Uuid,
    pub name: String,
    pub component_digest: String,
    pub status: ProcedureStatus,
    /// The reason of the last hold, abort or truncate; cleared on resume.
    pub status_reason: Option<String>,
    /// The causes holding the procedure (empty unless Held).
    pub hold_causes: Vec<HoldCause>,
    pub parent_run: Option<Uuid>,
    /// Iterations begun.
    pub iteration_count: u32,
    pub actuation_kind: ActuationKind,
    /// The stream version the row reflects.
    pub version: u64,
    /// Global position of the defining event: the paging key (newest first).
    pub defined_position: u64,
    pub defined_at: OffsetDateTime,
    pub last_changed_at: OffsetDateTime,
}

impl ProcedureSummary {
    /// The row for a folded state. Times are truncated to microseconds, the precision both
    /// databases keep.
    pub fn from_state(state: &ProcedureState, defined_position: u64) -> Self {
        ProcedureSummary {
            id: state.id,
            name: state.name.clone(),
            component_digest: state.component_digest.clone(),
            status: state.status,
            status_reason: state.status_reason.clone(),
            hold_causes: state.hold_claims.iter().collect(),
            parent_run: state.parent_run,
            iteration_count: state.iterations.count,
            actuation_kind: state.actuation_kind,
            version: state.version,
            defined_position,
            defined_at: normalize_time(state.defined_at),
            last_changed_at: normalize_time(state.last_changed_at),
        }
    }
}

/// Folds a whole procedure stream (in version order) into its summary row.
pub fn summarize(events: Vec<RecordedEvent>) -> Result<Option<ProcedureSummary>, StoreError> {
    let Some((state, defined_position)) = fold_stream::<ProcedureEvent, _>(
        events,
        "procedure",
        |events: &[ProcedureEvent]| crate::domain::procedure::fold(events),
        procedure_id_of,
        |state: &ProcedureState| state.id,
    )?
    else {
        return Ok(None);
    };
    Ok(Some(ProcedureSummary::from_state(&state, defined_position)))
}

/// Folds a whole run stream (in version order) into its summary row.
pub fn summarize_run(events: Vec<RecordedEvent>) -> Result<Option<RunSummary>, StoreError> {
    let Some((state, started_position)) = fold_stream::<RunEvent, _>(
        events,
        "run",
        |events: &[RunEvent]| crate::domain::run::fold(events),
        run_id_of,
        |state: &RunState| state.id,
    )?
    else {
        return Ok(None);
    };
    Ok(Some(RunSummary::from_state(&state, started_position)))
}

/// Decodes and folds one stream, checking that the `kind` it defines is the one its name says;
/// returns the state and the global position of the stream's first event.
fn fold_stream<E: DomainEvent, S>(
    events: Vec<RecordedEvent>,
    kind: &str,
    fold: impl FnOnce(&[E]) -> Result<Option<S>, crate::domain::codec::FoldError>,
    id_of_stream: fn(&str) -> Option<Uuid>,
    id_of_state: fn(&S) -> Uuid,
) -> Result<Option<(S, u64)>, StoreError> {
    let Some(first) = events.first() else {
        return Ok(None);
    };
    let stream = first.stream.clone();
    let first_position = first.position;
    let decoded = events
        .into_iter()
        .map(RecordedEvent::into_decoded::<E>)
        .collect::<Result<Vec<_>, _>>()?;
    let state = fold(&decoded).map_err(|e| StoreError::CorruptStream {
        stream: stream.clone(),
        reason: e.to_string(),
    })?;
    let Some(state) = state else {
        return Ok(None);
    };
    let id = id_of_state(&state);
    if id_of_stream(&stream) != Some(id) {
        return Err(StoreError::CorruptStream {
            reason: format!("it defines {kind} {id}"),
            stream,
        });
    }
    Ok(Some((state, first_position)))
}

/// An opaque keyset cursor: the page continues with procedures defined before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SummaryCursor(u64);

impl SummaryCursor {
    pub fn after(summary: &ProcedureSummary) -> Self {
        SummaryCursor(summary.defined_position)
    }

    pub(crate) fn position(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SummaryCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl FromStr for SummaryCursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('p')
            .and_then(|n| n.parse().ok())
            .map(SummaryCursor)
            .ok_or_else(|| StoreError::InvalidQuery(format!("malformed cursor {s:?}")))
    }
}

/// A listing request: optional filters, a page size and where to continue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryQuery {
    pub status: Option<ProcedureStatus>,
    pub parent_run: Option<Uuid>,
    pub after: Option<SummaryCursor>,
    pub limit: u32,
}

impl SummaryQuery {
    pub const MAX_LIMIT: u32 = 1_000;

    /// The first page of everything, newest first.
    pub fn first(limit: u32) -> Self {
        SummaryQuery {
            status: None,
            parent_run: None,
            after: None,
            limit,
        }
    }

    pub fn with_status(self, status: ProcedureStatus) -> Self {
        SummaryQuery {
            status: Some(status),
            ..self
        }
    }

    pub fn with_parent_run(self, run: Uuid) -> Self {
        SummaryQuery {
            parent_run: Some(run),
            ..self
        }
    }

    pub fn after(self, cursor: Option<SummaryCursor>) -> Self {
        SummaryQuery {
            after: cursor,
            ..self
        }
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        check_page_limit(self.limit, Self::MAX_LIMIT)
    }
}

/// One page of summaries, newest first; `next` is set when more may follow.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryPage {
    pub items: Vec<ProcedureSummary>,
    pub next: Option<SummaryCursor>,
}

impl SummaryPage {
    pub(crate) fn from_rows(items: Vec<ProcedureSummary>, limit: u32) -> Self {
        let next = if items.len() == limit as usize {
            items.last().map(SummaryCursor::after)
        } else {
            None
        };
        SummaryPage { items, next }
    }
}

/// Groups events ordered by (stream, version) into streams.
fn by_stream(events: Vec<RecordedEvent>) -> Vec<Vec<RecordedEvent>> {
    let mut streams: Vec<Vec<RecordedEvent>> = Vec::new();
    for event in events {
        match streams.last_mut() {
            Some(current) if current[0].stream == event.stream => current.push(event),
            _ => streams.push(vec![event]),
        }
    }
    streams
}

/// One row of the run summary: what `GET /runs` shows of a run, plus its paging key.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub id: Uuid,
    pub name: String,
    pub status: RunStatus,
    /// The reason of the last hold, abort, stop or truncate; cleared on resume.
    pub status_reason: Option<String>,
    pub actuation_kind: ActuationKind,
    /// The stream version the row reflects.
    pub version: u64,
    /// Global position of the RunStarted event: the paging key (oldest first).
    pub started_position: u64,
    /// As the events carry them (not truncated: the row equals a fold of the stream).
    pub started_at: OffsetDateTime,
    pub last_changed_at: OffsetDateTime,
}

impl RunSummary {
    pub fn from_state(state: &RunState, started_position: u64) -> Self {
        RunSummary {
            id: state.id,
            name: state.name.clone(),
            status: state.status,
            status_reason: state.status_reason.clone(),
            actuation_kind: state.actuation_kind,
            version: state.version,
            started_position,
            started_at: state.started_at,
            last_changed_at: state.last_changed_at,
        }
    }
}

/// A run listing request: oldest first, runs started after the position `after` (0 for the
/// first page), at most `limit`, optionally only those in `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunQuery {
    pub status: Option<RunStatus>,
    pub after: u64,
    pub limit: u32,
}

impl RunQuery {
    pub const MAX_LIMIT: u32 = 1_000;

    /// The first page of every run, oldest first.
    pub fn first(limit: u32) -> Self {
        RunQuery {
            status: None,
            after: 0,
            limit,
        }
    }

    pub fn with_status(self, status: RunStatus) -> Self {
        RunQuery {
            status: Some(status),
            ..self
        }
    }

    /// Continues after the page whose `next` was `cursor`.
    pub fn after(self, cursor: u64) -> Self {
        RunQuery {
            after: cursor,
            ..self
        }
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        check_page_limit(self.limit, Self::MAX_LIMIT)
    }
}

/// One page of runs, oldest first. `next` (the last row's `started_position`) is set whenever
/// the page is full, so a full last page is followed by an empty one.
#[derive(Clone, Debug, PartialEq)]
pub struct RunPage {
    pub items: Vec<RunSummary>,
    pub next: Option<u64>,
}

impl RunPage {
    pub(crate) fn from_rows(items: Vec<RunSummary>, limit: u32) -> Self {
        let next = if items.len() == limit as usize {
            items.last().map(|run| run.started_position)
        } else {
            None
        };
        RunPage { items, next }
    }
}

/// A page size must be 1..=`max`.
pub(crate) fn check_page_limit(limit: u32, max: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > max {
        return Err(StoreError::InvalidQuery(format!(
            "page limit must be 1..={max}, got {limit}"
        )));
    }
    Ok(())
}

/// The projections, and which streams feed each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Projection {
    Procedures,
    Runs,
}

/// A projection row, ready to upsert.
pub(crate) enum Row {
    Procedure(ProcedureSummary),
    Run(RunSummary),
}

impl Projection {
    /// The projection an append to `stream` updates, if any.
    pub(crate) fn of(stream: &str) -> Option<Self> {
        if procedure_id_of(stream).is_some() {
            Some(Projection::Procedures)
        } else if run_id_of(stream).is_some() {
            Some(Projection::Runs)
        } else {
            None
        }
    }

    /// The prefix its streams' names start with (what a rebuild selects).
    pub(crate) fn stream_prefix(self) -> String {
        match self {
            Projection::Procedures => stream_prefix::<Procedure>(),
            Projection::Runs => stream_prefix::<Run>(),
        }
    }

    /// The statement that empties its table before a rebuild.
    pub(crate) fn clear(self) -> &'static str {
        match self {
            Projection::Procedures => super::sql::CLEAR_PROCEDURE_SUMMARY,
            Projection::Runs => super::sql::CLEAR_RUN_SUMMARY,
        }
    }

    /// The row for a whole stream of this projection (in version order).
    pub(crate) fn summarize(self, events: Vec<RecordedEvent>) -> Result<Option<Row>, StoreError> {
        Ok(match self {
            Projection::Procedures => summarize(events)?.map(Row::Procedure),
            Projection::Runs => summarize_run(events)?.map(Row::Run),
        })
    }

    /// The rows of a rebuild from every event of the projection's streams, ordered by stream
    /// and version. Streams of the prefix that are not this projection's (a malformed id) are
    /// skipped, as appends skip them.
    pub(crate) fn rebuild_rows(self, events: Vec<RecordedEvent>) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        for stream in by_stream(events) {
            if Projection::of(&stream[0].stream) != Some(self) {
                continue;
            }
            if let Some(row) = self.summarize(stream)? {
                rows.push(row);
            }
        }
        Ok(rows)
    }
}
