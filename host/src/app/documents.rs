//! The documents query: everything a procedure's event-model documents are made from, read from
//! a store (its events, the pinned steps, the component's name and version, the whole journal
//! paged to the end), and the export of it. The one loader the HTTP route, the SSE document
//! stream and `baton export` share; the mapping itself is the pure [`crate::documents`].

use time::OffsetDateTime;
use uuid::Uuid;

use crate::documents::{self, ComponentName, DocumentsError, Export, ProcedureRecord};
use crate::domain::procedure::{Procedure, ProcedureEvent, ProcedureStatus};
use crate::domain::{Aggregate, Step};
use crate::store::{
    ComponentStore, EventStore, JournalPage, JournalRecord, StepJournal, StoreError,
    procedure_stream,
};

/// A procedure's documents as of one read of the store, with the status they reflect.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    pub status: ProcedureStatus,
    pub export: Export,
}

/// Why a procedure's documents could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("procedure {0} not found")]
    NotFound(Uuid),
    /// A run begins when the procedure starts (a procedure aborted while Defined never did).
    #[error("procedure {id} has not started (status {status}): it has no documents")]
    NotStarted { id: Uuid, status: ProcedureStatus },
    /// The store failed, or holds something that does not decode.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The procedure's component is not in the store (its name and version are in `start`).
    #[error("component {0} of the procedure is not in the store")]
    ComponentMissing(String),
    #[error("pinned steps {0} are missing")]
    PinMissing(String),
    /// The history does not make documents (a stream without its definition or pin).
    #[error("procedure {id}: {source}")]
    Documents {
        id: Uuid,
        #[source]
        source: DocumentsError,
    },
}

/// Reads the procedure `id` and exports its documents.
pub async fn export_documents<S>(store: &S, id: Uuid) -> Result<Exported, ExportError>
where
    S: EventStore + StepJournal + ComponentStore,
{
    let recorded = store.read_stream(&procedure_stream(id)).await?;
    if recorded.is_empty() {
        return Err(ExportError::NotFound(id));
    }
    let corrupt = |reason: String| StoreError::CorruptStream {
        stream: procedure_stream(id),
        reason,
    };
    let events: Vec<(ProcedureEvent, OffsetDateTime)> =
        documents::decode_events(&recorded).map_err(|e| corrupt(e.to_string()))?;
    let state = Procedure::fold(events.iter().map(|(event, _)| event))
        .map_err(|e| corrupt(e.to_string()))?
        .ok_or(ExportError::NotFound(id))?;
    let Some(pin) = &state.pin else {
        return Err(ExportError::NotStarted {
            id,
            status: state.status,
        });
    };
    let steps: Vec<Step> = store
        .pinned_steps(&pin.content_hash)
        .await?
        .ok_or_else(|| ExportError::PinMissing(pin.content_hash.clone()))?
        .steps()
        .to_vec();
    let component = store
        .component(&state.component_digest)
        .await?
        .ok_or_else(|| ExportError::ComponentMissing(state.component_digest.clone()))?
        .meta;
    let journal = whole_journal(store, id).await?;
    let export = documents::export(&ProcedureRecord {
        id,
        events: &events,
        steps: &steps,
        component: ComponentName {
            name: &component.name,
            version: &component.version,
        },
        journal: &journal,
    })
    .map_err(|source| match source {
        DocumentsError::NotStarted(_) => ExportError::NotStarted {
            id,
            status: state.status,
        },
        source => ExportError::Documents { id, source },
    })?;
    Ok(Exported {
        status: state.status,
        export,
    })
}

/// The procedure's whole journal, a page of [`JournalPage::MAX_LIMIT`] at a time.
async fn whole_journal<S: StepJournal>(
    store: &S,
    id: Uuid,
) -> Result<Vec<JournalRecord>, StoreError> {
    let mut journal: Vec<JournalRecord> = Vec::new();
    loop {
        let page = JournalPage {
            after: journal.last().map_or(0, |r| r.sequence),
            limit: JournalPage::MAX_LIMIT,
        };
        let records = store.journal(id, page).await?;
        let full = records.len() == JournalPage::MAX_LIMIT as usize;
        journal.extend(records);
        if !full {
            return Ok(journal);
        }
    }
}
