//! `GET /procedures/{id}/stream`: live progress as Server-Sent Events.
//!
//! - `event: journal`, `id: <sequence>`: each journal entry, in order. A client that reconnects
//!   with `Last-Event-ID: n` (or `?after=n`) gets every entry after `n`: nothing is missed,
//!   because the stream reads the journal itself, not a live feed that may have moved on.
//! - `event: progress` (no id): steps done of the pinned count, an ETA while Running; after
//!   every batch of entries and every status change.
//! - `event: status` (no id): the status, its reason and the hold claims, when it changes
//!   (and once at the start).
//! - `event: end` (no id): the procedure is terminal and its journal drained; the stream
//!   closes. A Defined, Running or Held procedure keeps the stream open (a hold is usually
//!   followed by a reconduct), with keep-alive comments every 15 s; a host shutting down closes
//!   it, and the client reconnects to the next one.
//!
//! The stream wakes when this host appends, and polls for what other hosts append.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::watch;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, Problem, ProblemBody};
use super::extract::{Params, PathParams};
use super::procedures::JournalView;
use super::progress::{Progress, progress};
use super::state::ApiState;
use crate::app;
use crate::domain::procedure::{Procedure, ProcedureStatus};
use crate::domain::{ActuationKind, HoldCause};
use crate::store::{JournalPage, StepJournal, StepResult};

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Start after this journal sequence (as `Last-Event-ID`, which wins if both are given).
    pub after: Option<u64>,
}

/// The data of a `status` event.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StatusEvent {
    pub status: ProcedureStatus,
    pub status_reason: Option<String>,
    pub hold_claims: Vec<HoldCause>,
    pub actuation_kind: ActuationKind,
}

/// The data of a `progress` event.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProgressEvent {
    pub status: ProcedureStatus,
    #[serde(flatten)]
    pub progress: Progress,
}

/// Entries read per journal page.
const PAGE: u32 = 500;
/// `ok` entries the stream's own pace estimate looks back over.
const PACE_WINDOW: usize = 32;

struct Follow {
    state: ApiState,
    id: Uuid,
    /// The last journal sequence sent.
    cursor: u64,
    queue: VecDeque<Event>,
    last_status: Option<StatusEvent>,
    /// Times of recent `ok` entries, for the pace of a conduct another host runs.
    oks: VecDeque<OffsetDateTime>,
    changes: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    done: bool,
}

/// Waits until the store reports an append, the poll interval passes (another host appends
/// without passing through this process) or the server shuts down; true on shutdown.
pub(super) async fn wait_for_change(
    changes: &mut watch::Receiver<u64>,
    shutdown: &mut watch::Receiver<bool>,
    poll: std::time::Duration,
) -> bool {
    tokio::select! {
        _ = changes.changed() => false,
        _ = tokio::time::sleep(poll) => false,
        _ = shutdown.wait_for(|down| *down) => true,
    }
}

pub(super) fn event(name: &str, data: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|e| Event::default().event("error").data(e.to_string()))
}

impl Follow {
    fn pace(&self) -> Option<f64> {
        let (first, last) = (self.oks.front()?, self.oks.back()?);
        let steps = self.oks.len().checked_sub(1).filter(|n| *n > 0)?;
        Some((*last - *first).as_seconds_f64() / steps as f64)
    }

    fn fail(&mut self, error: ApiError) {
        self.queue.push_back(event("error", &error.body()));
        self.done = true;
    }

    /// Pushes `status` (if it changed, or `force`) and `progress`; true if terminal.
    async fn status_and_progress(&mut self, force_progress: bool) -> Result<bool, ApiError> {
        let procedure = app::load::<Procedure, _>(self.state.store(), self.id)
            .await?
            .state
            .ok_or_else(|| ApiError::not_found(format!("procedure {} not found", self.id)))?;
        let status = StatusEvent {
            status: procedure.status,
            status_reason: procedure.status_reason.clone(),
            hold_claims: procedure.hold_claims.iter().collect(),
            actuation_kind: procedure.actuation_kind,
        };
        let changed = self.last_status.as_ref() != Some(&status);
        if changed {
            self.queue.push_back(event("status", &status));
            self.last_status = Some(status);
        }
        if changed || force_progress {
            let total = procedure.pin.as_ref().map_or(0, |p| p.step_count);
            let progress =
                progress(&self.state, self.id, total, procedure.status, self.pace()).await?;
            self.queue.push_back(event(
                "progress",
                &ProgressEvent {
                    status: procedure.status,
                    progress,
                },
            ));
        }
        Ok(procedure.status.is_terminal())
    }

    /// Reads what is new; if nothing is, waits for a change, the poll interval or shutdown.
    async fn fill(&mut self) -> Result<(), ApiError> {
        let page = JournalPage {
            after: self.cursor,
            limit: PAGE,
        };
        let records = self.state.store().journal(self.id, page).await?;
        if !records.is_empty() {
            for record in records {
                self.cursor = record.sequence;
                if record.entry.result == StepResult::Ok {
                    self.oks.push_back(record.entry.at);
                    if self.oks.len() > PACE_WINDOW {
                        self.oks.pop_front();
                    }
                }
                let id = record.sequence.to_string();
                self.queue
                    .push_back(event("journal", &JournalView::from(record)).id(id));
            }
            self.status_and_progress(true).await?;
            return Ok(());
        }
        // The journal is drained: a terminal procedure writes nothing more.
        if self.status_and_progress(false).await? {
            self.queue.push_back(event(
                "end",
                &serde_json::json!({ "status": self.last_status.as_ref().map(|s| s.status) }),
            ));
            self.done = true;
            return Ok(());
        }
        if !self.queue.is_empty() {
            return Ok(());
        }
        self.done = wait_for_change(
            &mut self.changes,
            &mut self.shutdown,
            self.state.config.stream_poll,
        )
        .await;
        Ok(())
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.fill().await {
                self.fail(e);
            }
        }
    }
}

/// The `Last-Event-ID` header as a number (`what` names it in the refusal).
pub(super) fn last_event_id(headers: &HeaderMap, what: &str) -> Result<Option<u64>, ApiError> {
    headers
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::new(
                        Problem::MalformedRequest,
                        format!("Last-Event-ID must be {what}"),
                    )
                })
        })
        .transpose()
}

/// Live progress of a procedure (Server-Sent Events; see the module doc for the events).
#[utoipa::path(
    get, path = "/procedures/{id}/stream", tag = "procedures",
    params(
        ("id" = Uuid, Path),
        ("Last-Event-ID" = Option<u64>, Header, description = "resume after this journal sequence"),
        StreamQuery,
    ),
    responses(
        (status = 200, description = "events journal (id = sequence, data = JournalView), progress (ProgressEvent), status (StatusEvent), end", content_type = "text/event-stream", body = String),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn stream(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Params(query): Params<StreamQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = last_event_id(&headers, "a journal sequence number")?
        .or(query.after)
        .unwrap_or(0);
    let mut follow = Follow {
        changes: state.store().changes(),
        shutdown: state.shutdown_signal(),
        state,
        id,
        cursor: after,
        queue: VecDeque::new(),
        last_status: None,
        oks: VecDeque::new(),
        done: false,
    };
    // A procedure that does not exist is a 404, not an empty stream.
    follow.status_and_progress(true).await?;
    let events = futures::stream::unfold(follow, |mut follow| async move {
        follow.next().await.map(|event| (Ok(event), follow))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
