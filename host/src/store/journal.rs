//! The step journal's types: one entry per step boundary (an `in_flight` marker before a
//! side effect, then `ok` or `failed`). Append-only, idempotent by entry id, never folded into
//! an aggregate; restart recovery reads the last `in_flight` marker that has no outcome.

use serde_json::Value as Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::StoreError;
use crate::domain::{FailureClass, StepKind};

/// What a journal entry records about its step. Its `result` column is the variant's name in
/// snake case ([`ResultColumn`] spells and parses it); a failure's class has a column of its own.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumDiscriminants,
)]
#[strum(serialize_all = "snake_case")]
#[strum_discriminants(
    name(ResultColumn),
    derive(strum::EnumString, strum::IntoStaticStr),
    strum(serialize_all = "snake_case")
)]
pub enum StepResult {
    /// Written before a side effect is dispatched; an outcome follows unless the host died.
    InFlight,
    Ok,
    Failed(FailureClass),
}

impl StepResult {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn failure_class(self) -> Option<FailureClass> {
        match self {
            StepResult::Failed(class) => Some(class),
            _ => None,
        }
    }

    pub(crate) fn from_columns(
        result: &str,
        class: Option<&str>,
    ) -> Result<StepResult, StoreError> {
        let column = result.parse::<ResultColumn>().ok();
        match (column, class) {
            (Some(ResultColumn::InFlight), None) => Ok(StepResult::InFlight),
            (Some(ResultColumn::Ok), None) => Ok(StepResult::Ok),
            (Some(ResultColumn::Failed), Some(class)) => class
                .parse::<FailureClass>()
                .ok()
                .map(StepResult::Failed)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown failure class {class:?}"))),
            (_, class) => Err(StoreError::Corrupt(format!(
                "journal result {result:?} with failure class {class:?}"
            ))),
        }
    }
}

pub(crate) fn step_kind_from_str(kind: &str) -> Result<StepKind, StoreError> {
    [StepKind::Setpoint, StepKind::Check, StepKind::Action]
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown step kind {kind:?}")))
}

/// One entry to append.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    /// Chosen by the writer; appending the same id twice stores one row.
    pub id: Uuid,
    pub procedure_id: Uuid,
    /// Absolute index in the pinned step list, so a replayed journal lines up with the original.
    pub step_index: u32,
    pub step_kind: StepKind,
    pub result: StepResult,
    pub message: Option<String>,
    /// Free-form structured detail (readback, target, ...); always a JSON object.
    pub detail: Json,
    pub at: OffsetDateTime,
}

impl JournalEntry {
    /// An entry with a fresh (time-ordered) id, no message and an empty detail object.
    pub fn new(
        procedure_id: Uuid,
        step_index: u32,
        step_kind: StepKind,
        result: StepResult,
        at: OffsetDateTime,
    ) -> Self {
        JournalEntry {
            id: Uuid::now_v7(),
            procedure_id,
            step_index,
            step_kind,
            result,
            message: None,
            detail: Json::Object(serde_json::Map::new()),
            at,
        }
    }

    pub fn with_message(self, message: impl Into<String>) -> Self {
        JournalEntry {
            message: Some(message.into()),
            ..self
        }
    }

    /// Sets the detail; it must be a JSON object (checked on append).
    pub fn with_detail(self, detail: Json) -> Self {
        JournalEntry { detail, ..self }
    }

    /// What appending this entry as `sequence` reports.
    pub(crate) fn appended(&self, sequence: u64) -> JournalAppended {
        JournalAppended {
            id: self.id,
            sequence,
            inserted: true,
        }
    }

    /// What appending reports when this entry's id is already stored (by `owner`, as
    /// `sequence`): a replay, unless another procedure owns the id.
    pub(crate) fn replayed(
        &self,
        owner: Uuid,
        sequence: i64,
    ) -> Result<JournalAppended, StoreError> {
        if owner != self.procedure_id {
            return Err(StoreError::InvalidJournalEntry {
                id: self.id,
                reason: format!("the id is already used by procedure {owner}"),
            });
        }
        Ok(JournalAppended {
            id: self.id,
            sequence: super::error::non_negative(sequence, "sequence")?,
            inserted: false,
        })
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if !self.detail.is_object() {
            return Err(StoreError::InvalidJournalEntry {
                id: self.id,
                reason: format!(
                    "detail must be a JSON object, got {}",
                    super::error::json_kind(&self.detail)
                ),
            });
        }
        Ok(())
    }
}

/// A stored entry: the entry plus the per-procedure sequence the store gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalRecord {
    /// Dense per procedure: 1, 2, 3, ...
    pub sequence: u64,
    pub entry: JournalEntry,
}

/// The outcome of appending one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalAppended {
    pub id: Uuid,
    pub sequence: u64,
    /// False when an entry with this id already existed (the append was a replay).
    pub inserted: bool,
}

/// Journal paging: entries with `sequence > after`, at most `limit` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalPage {
    pub after: u64,
    pub limit: u32,
}

impl JournalPage {
    pub const MAX_LIMIT: u32 = 10_000;

    pub fn first(limit: u32) -> Self {
        JournalPage { after: 0, limit }
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.limit == 0 || self.limit > Self::MAX_LIMIT {
            return Err(StoreError::InvalidQuery(format!(
                "journal page limit must be 1..={}, got {}",
                Self::MAX_LIMIT,
                self.limit
            )));
        }
        Ok(())
    }
}
