//! Row decoding, written once for both backends. A backend says how to read one column as a
//! Rust value ([`Columns`], in its own `rows.rs`: SQLite keeps ids, JSON and times as text,
//! PostgreSQL as native types); turning a row of the column lists in [`super::sql`] into the
//! store's types, and every database-to-enum conversion, happens here.

use serde_json::Value as Json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::component::ComponentMeta;
use super::error::{StoreError, non_negative};
use super::event::RecordedEvent;
use super::journal::{JournalEntry, JournalRecord, StepResult, step_kind_from_str};
use super::summary::{ProcedureSummary, RunSummary};
use super::token::{TokenRecord, scopes_from_json};
use crate::domain::procedure::ProcedureStatus;
use crate::domain::run::RunStatus;
use crate::domain::{ActuationKind, HoldCause};

/// One column of a result row, read as the type the store wants; a NULL where a value must be,
/// or a value of another type, is an error.
pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    /// Any integer column (PostgreSQL `integer` and `bigint` alike).
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError>;
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError>;
    fn json(&self, column: &str) -> Result<Json, StoreError>;
    fn time(&self, column: &str) -> Result<OffsetDateTime, StoreError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError>;
}

pub(crate) fn parse_uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("{what} {text:?}: {e}")))
}

pub(crate) fn parse_json(text: &str, what: &str) -> Result<Json, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn u32_column(row: &impl Columns, column: &str) -> Result<u32, StoreError> {
    let value = row.int(column)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value}")))
}

fn u64_column(row: &impl Columns, column: &str) -> Result<u64, StoreError> {
    non_negative(row.int(column)?, column)
}

/// How a domain enum is spelled in a summary table: its name in lower case (the tables' CHECKs
/// list these).
pub(crate) fn db_name(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The member of `all` whose [`db_name`] is `text`.
fn parse_db_name<T>(text: &str, what: &str) -> Result<T, StoreError>
where
    T: strum::VariantArray + Copy + Into<&'static str>,
{
    T::VARIANTS
        .iter()
        .copied()
        .find(|v| Into::<&'static str>::into(*v).eq_ignore_ascii_case(text))
        .ok_or_else(|| StoreError::Corrupt(format!("unknown {what} {text:?}")))
}

/// A run summary's times are stored as RFC 3339 text with the events' full precision (see the
/// run_summary migration), so a row says exactly what a fold of its stream says.
pub(crate) fn format_time(t: OffsetDateTime) -> Result<String, StoreError> {
    t.format(&Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("time {t} does not format: {e}")))
}

fn parse_time(text: &str, what: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("{what} {text:?}: {e}")))
}

pub(crate) fn event(row: &impl Columns) -> Result<RecordedEvent, StoreError> {
    Ok(RecordedEvent {
        id: row.uuid("id")?,
        stream: row.text("stream")?,
        version: u64_column(row, "version")?,
        position: u64_column(row, "position")?,
        event_type: row.text("type")?,
        payload: row.json("payload")?,
        recorded_at: row.time("recorded_at")?,
    })
}

pub(crate) fn journal(row: &impl Columns) -> Result<JournalRecord, StoreError> {
    let result = row.text("result")?;
    let class = row.opt_text("failure_class")?;
    Ok(JournalRecord {
        sequence: u64_column(row, "sequence")?,
        entry: JournalEntry {
            id: row.uuid("id")?,
            procedure_id: row.uuid("procedure_id")?,
            step_index: u32_column(row, "step_index")?,
            step_kind: step_kind_from_str(&row.text("step_kind")?)?,
            result: StepResult::from_columns(&result, class.as_deref())?,
            message: row.opt_text("message")?,
            detail: row.json("detail")?,
            at: row.time("at")?,
        },
    })
}

pub(crate) fn component_meta(row: &impl Columns) -> Result<ComponentMeta, StoreError> {
    Ok(ComponentMeta {
        digest: row.text("digest")?,
        name: row.text("name")?,
        version: row.text("version")?,
        info: row.json("info")?,
        size: u64_column(row, "size")?,
        uploaded_at: row.time("uploaded_at")?,
    })
}

pub(crate) fn procedure_summary(row: &impl Columns) -> Result<ProcedureSummary, StoreError> {
    Ok(ProcedureSummary {
        id: row.uuid("id")?,
        name: row.text("name")?,
        component_digest: row.text("component_digest")?,
        status: parse_procedure_status(&row.text("status")?)?,
        status_reason: row.opt_text("status_reason")?,
        hold_causes: parse_causes(row.json("hold_causes")?)?,
        parent_run: row.opt_uuid("parent_run")?,
        iteration_count: u32_column(row, "iteration_count")?,
        actuation_kind: parse_actuation(&row.text("actuation_kind")?)?,
        version: u64_column(row, "version")?,
        defined_position: u64_column(row, "defined_position")?,
        defined_at: row.time("defined_at")?,
        last_changed_at: row.time("last_changed_at")?,
    })
}

pub(crate) fn run_summary(row: &impl Columns) -> Result<RunSummary, StoreError> {
    Ok(RunSummary {
        id: row.uuid("id")?,
        name: row.text("name")?,
        status: parse_run_status(&row.text("status")?)?,
        status_reason: row.opt_text("status_reason")?,
        actuation_kind: parse_actuation(&row.text("actuation_kind")?)?,
        version: u64_column(row, "version")?,
        started_position: u64_column(row, "started_position")?,
        started_at: parse_time(&row.text("started_at")?, "run start")?,
        last_changed_at: parse_time(&row.text("last_changed_at")?, "run change")?,
    })
}

pub(crate) fn token(row: &impl Columns) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: row.uuid("id")?,
        scopes: scopes_from_json(row.json("scopes")?)?,
        label: row.text("label")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn parse_procedure_status(text: &str) -> Result<ProcedureStatus, StoreError> {
    parse_db_name(text, "procedure status")
}

pub(crate) fn parse_run_status(text: &str) -> Result<RunStatus, StoreError> {
    parse_db_name(text, "run status")
}

fn parse_actuation(text: &str) -> Result<ActuationKind, StoreError> {
    parse_db_name(text, "actuation kind")
}

pub(crate) fn causes_json(causes: &[HoldCause]) -> Json {
    Json::Array(
        causes
            .iter()
            .map(|c| Json::String(c.as_str().to_owned()))
            .collect(),
    )
}

fn parse_causes(value: Json) -> Result<Vec<HoldCause>, StoreError> {
    serde_json::from_value(value)
        .map_err(|e| StoreError::Corrupt(format!("hold causes do not decode: {e}")))
}
