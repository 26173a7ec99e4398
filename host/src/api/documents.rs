//! A procedure's bluesky event-model documents ([`crate::documents`]), read through
//! [`app::export_documents`]:
//!
//! - `GET /procedures/{id}/documents`: `application/x-ndjson`, one `[name, doc]` JSON array per
//!   line (the suitcase-jsonl format databroker's JSONL reader takes). `?after=n` skips the first
//!   `n` documents: a reader that has `n` lines asks for the rest, because a longer history's
//!   documents begin with a shorter one's (the stop excepted, which comes last and only once).
//! - `GET /procedures/{id}/documents/stream`: the same documents as Server-Sent Events while they
//!   happen, `event: document`, `data: [name, doc]`, `id: n` = the document's position from 1,
//!   so `Last-Event-ID: n` (or `?after=n`) is the same cursor as the NDJSON route's `after`.
//!   A separate stream rather than more events on `/stream`: an SSE connection has one
//!   `Last-Event-ID`, and that stream's ids are journal sequences.
//!
//! Journal rows the documents cannot carry (gaps) are never dropped in silence: once terminal
//! they are in `stop.baton.gaps`; before that the NDJSON answer counts them in
//! `x-baton-document-gaps` (and the host logs them), and the SSE stream sends an `event: gaps`
//! (no id) with the list whenever it grows.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::watch;
use utoipa::IntoParams;
use uuid::Uuid;

use super::error::{ApiError, Extension, Problem, ProblemBody};
use super::extract::{Params, PathParams};
use super::state::ApiState;
use super::stream::last_event_id;
use crate::app::{self, ExportError, Exported};
use crate::documents::Gap;
use crate::store::{EventStore, JournalPage, StepJournal, procedure_stream};

/// The NDJSON media type of the documents.
pub const NDJSON: &str = "application/x-ndjson";
/// How many journal rows the documents could not carry (also in `stop.baton.gaps` once terminal).
pub const GAPS_HEADER: &str = "x-baton-document-gaps";
/// The procedure's status when the documents were read.
pub const STATUS_HEADER: &str = "x-baton-procedure-status";

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentsQuery {
    /// Skip the first `after` documents (the number already received; default 0).
    pub after: Option<u64>,
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::NotFound(_) => ApiError::not_found(e.to_string()),
            ExportError::NotStarted { status, .. } => {
                ApiError::new(Problem::WrongStatus, e.to_string())
                    .with(Extension::CurrentStatus, status)
            }
            ExportError::Store(e) => e.into(),
            ExportError::ComponentMissing(_)
            | ExportError::PinMissing(_)
            | ExportError::Documents { .. } => ApiError::internal(e.to_string()),
        }
    }
}

fn log_gaps(id: Uuid, gaps: &[Gap]) {
    if !gaps.is_empty() {
        tracing::warn!(procedure = %id, gaps = gaps.len(), first = ?gaps.first(), "journal rows the documents cannot carry");
    }
}

fn position(after: u64) -> usize {
    usize::try_from(after).unwrap_or(usize::MAX)
}

/// The procedure's event-model documents as NDJSON (`[name, doc]` per line).
#[utoipa::path(
    get, path = "/procedures/{id}/documents", tag = "procedures",
    params(("id" = Uuid, Path), DocumentsQuery),
    responses(
        (status = 200, description = "one `[name, doc]` JSON array per line: start, descriptors, events, and the stop once terminal",
            content_type = "application/x-ndjson", body = String,
            headers(
                ("x-baton-document-gaps" = u64, description = "journal rows the documents cannot carry (listed in stop.baton.gaps once terminal)"),
                ("x-baton-procedure-status" = String, description = "the procedure's status when read"),
            )),
        (status = 400, description = "malformed `after`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the procedure never started (the problem names its status)", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn documents(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Params(query): Params<DocumentsQuery>,
) -> Result<Response, ApiError> {
    let Exported { status, export } = app::export_documents(state.store(), id).await?;
    log_gaps(id, &export.gaps);
    let mut body = Vec::new();
    for document in export.after(position(query.after.unwrap_or(0))) {
        serde_json::to_writer(&mut body, document)
            .map_err(|e| ApiError::internal(format!("a document does not encode: {e}")))?;
        body.push(b'\n');
    }
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    headers.insert(GAPS_HEADER, HeaderValue::from(export.gaps.len()));
    headers.insert(STATUS_HEADER, HeaderValue::from_static(status.as_str()));
    Ok(response)
}

/// Follows a procedure's documents: re-exports when its stream or journal grew.
struct Follow {
    state: ApiState,
    id: Uuid,
    /// Documents sent: the id of the last one.
    sent: usize,
    gaps: usize,
    /// The stream version and last journal sequence of the last export.
    seen: Option<(u64, u64)>,
    queue: VecDeque<Event>,
    changes: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    done: bool,
}

impl Follow {
    /// What the store holds for the procedure now: its stream version and last journal sequence.
    async fn mark(&self) -> Result<(u64, u64), ApiError> {
        let store = self.state.store();
        let version = store.stream_version(&procedure_stream(self.id)).await?;
        let page = JournalPage {
            after: self.seen.map_or(0, |(_, sequence)| sequence),
            limit: JournalPage::MAX_LIMIT,
        };
        // Only the last sequence matters; a page is cheaper than the whole journal.
        let last = store
            .journal(self.id, page)
            .await?
            .last()
            .map(|r| r.sequence);
        Ok((
            version,
            last.or(self.seen.map(|(_, s)| s)).unwrap_or_default(),
        ))
    }

    /// Queues what is new; true if the procedure is terminal (its stop, if any, queued).
    async fn export(&mut self) -> Result<bool, ApiError> {
        let exported = match app::export_documents(self.state.store(), self.id).await {
            Ok(exported) => exported,
            // Defined: the documents begin when it starts.
            Err(ExportError::NotStarted { status, .. }) => return Ok(status.is_terminal()),
            Err(e) => return Err(e.into()),
        };
        for (i, document) in exported.export.after(self.sent).iter().enumerate() {
            let id = (self.sent + i + 1).to_string();
            let event = Event::default()
                .event("document")
                .id(id)
                .json_data(document)
                .map_err(|e| ApiError::internal(format!("a document does not encode: {e}")))?;
            self.queue.push_back(event);
        }
        self.sent = self.sent.max(exported.export.documents.len());
        if exported.export.gaps.len() > self.gaps {
            self.gaps = exported.export.gaps.len();
            log_gaps(self.id, &exported.export.gaps);
            let event = Event::default()
                .event("gaps")
                .json_data(&exported.export.gaps)
                .map_err(|e| ApiError::internal(format!("gaps do not encode: {e}")))?;
            self.queue.push_back(event);
        }
        Ok(exported.status.is_terminal())
    }

    async fn fill(&mut self) -> Result<(), ApiError> {
        let mark = self.mark().await?;
        if self.seen != Some(mark) {
            self.seen = Some(mark);
            if self.export().await? {
                self.queue
                    .push_back(Event::default().event("end").data("{}"));
                self.done = true;
            }
            if !self.queue.is_empty() || self.done {
                return Ok(());
            }
        }
        self.done = super::stream::wait_for_change(
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
                self.queue
                    .push_back(super::stream::event("error", &e.body()));
                self.done = true;
            }
        }
    }
}

/// The procedure's documents as they happen (Server-Sent Events; see the module doc).
#[utoipa::path(
    get, path = "/procedures/{id}/documents/stream", tag = "procedures",
    params(
        ("id" = Uuid, Path),
        ("Last-Event-ID" = Option<u64>, Header, description = "documents already received: resume after the n-th"),
        DocumentsQuery,
    ),
    responses(
        (status = 200, description = "events document (id = position from 1, data = [name, doc]), gaps (no id, data = the gaps so far), end (no id: terminal, every document sent)", content_type = "text/event-stream", body = String),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the procedure ended without starting", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"]))
)]
pub async fn stream(
    State(state): State<ApiState>,
    PathParams(id): PathParams<Uuid>,
    Params(query): Params<DocumentsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = last_event_id(&headers, "a document position")?
        .or(query.after)
        .unwrap_or(0);
    let follow = Follow {
        changes: state.store().changes(),
        shutdown: state.shutdown_signal(),
        state,
        id,
        sent: position(after),
        gaps: 0,
        seen: None,
        queue: VecDeque::new(),
        done: false,
    };
    // Refusals are answers, not an empty stream: 404 unknown, 409 ended without starting.
    match app::export_documents(follow.state.store(), id).await {
        Err(ExportError::NotStarted { status, .. }) if !status.is_terminal() => {}
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let events = futures::stream::unfold(follow, |mut follow| async move {
        follow.next().await.map(|event| (Ok(event), follow))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
