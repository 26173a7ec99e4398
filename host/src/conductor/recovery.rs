//! Restart recovery: procedures left Running by a host that died are held with cause
//! `host-restart` and a reason naming the interrupted step (from the journal's last `in_flight`
//! marker without an outcome), so an operator reconducts from it. Nothing is re-driven unasked.
//!
//! A procedure this process is conducting right now is skipped. With SQLite one host owns the
//! database, so every other Running procedure belonged to a dead process.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ConductError, Conductor, JournalHistory};
use crate::app;
use crate::domain::HoldCause;
use crate::domain::procedure::{Procedure, ProcedureCommand, ProcedureStatus};
use crate::store::{JournalRecord, StepResult, Store, SummaryQuery};

/// One procedure restart recovery held (or failed to hold).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recovered {
    pub procedure_id: Uuid,
    /// The step a reconduct starts from by default.
    pub interrupted_step: u64,
    pub reason: String,
    /// Why the hold did not land, if it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub(super) async fn recover<S: Store>(
    conductor: &Conductor<S>,
) -> Result<Vec<Recovered>, ConductError> {
    let store = conductor.store();
    let live = conductor.conducts().running();
    let mut running = Vec::new();
    let mut query =
        SummaryQuery::first(SummaryQuery::MAX_LIMIT).with_status(ProcedureStatus::Running);
    loop {
        let page = store.list_procedures(&query).await?;
        running.extend(page.items.iter().map(|s| s.id));
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    let mut recovered = Vec::new();
    for id in running.into_iter().filter(|id| !live.contains(id)) {
        let history = JournalHistory::read(store, id).await?;
        let reason = reason(&history);
        let hold = ProcedureCommand::Hold {
            cause: HoldCause::HostRestart,
            reason: reason.clone(),
            actuation_kind: history.kind,
        };
        let landed =
            app::execute::<Procedure, _>(store, id, &hold, OffsetDateTime::now_utc(), &[]).await;
        recovered.push(Recovered {
            procedure_id: id,
            interrupted_step: history.interrupted,
            reason,
            error: landed.err().map(|e| e.to_string()),
        });
    }
    Ok(recovered)
}

fn reason(history: &JournalHistory) -> String {
    match &history.last {
        Some(JournalRecord { entry, .. }) if entry.result == StepResult::InFlight => {
            let target = entry
                .detail
                .get("channel")
                .or_else(|| entry.detail.get("device"))
                .and_then(|t| t.as_str())
                .unwrap_or("?");
            format!(
                "host restarted while {}[{}] {target} was in flight: its outcome is unknown",
                entry.step_kind.as_str(),
                entry.step_index
            )
        }
        _ => format!(
            "host restarted between steps; the next step is {}",
            history.interrupted
        ),
    }
}
