//! The SQL both backends run verbatim. sqlx numbers parameters `$1, $2, …` on SQLite as on
//! PostgreSQL (a `$n` named twice is one parameter on both), so every statement whose text does
//! not depend on the dialect is written here once; a backend binds its own column types (SQLite
//! stores ids, JSON and times as text, PostgreSQL as `uuid`, `jsonb` and `timestamptz`).
//! Statements that do differ (pins, the locks, the summary listings' optional filters) stay in
//! the backend folders (`dialect.rs`, and the journal append).
//!
//! Each column list is a macro so the statements are `&'static str` literals built by
//! `concat!`, and the decoders in [`super::rows`] read exactly these columns.

macro_rules! event_columns {
    () => {
        "id, stream, version, position, type, payload, recorded_at"
    };
}

macro_rules! journal_columns {
    () => {
        "id, procedure_id, sequence, step_index, step_kind, result, failure_class, message, \
         detail, at"
    };
}

macro_rules! component_meta_columns {
    () => {
        "digest, name, version, info, length(wasm) AS size, uploaded_at"
    };
}

macro_rules! procedure_summary_columns {
    () => {
        "id, name, component_digest, status, status_reason, hold_causes, parent_run, \
         iteration_count, actuation_kind, version, defined_position, defined_at, last_changed_at"
    };
}

macro_rules! run_summary_columns {
    () => {
        "id, name, status, status_reason, actuation_kind, version, started_position, started_at, \
         last_changed_at"
    };
}

macro_rules! token_columns {
    () => {
        "id, scopes, label, created_at"
    };
}

pub(crate) use {procedure_summary_columns, run_summary_columns};

// ---- events ---------------------------------------------------------------------------------

pub(crate) const STREAM_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = $1";

pub(crate) const READ_STREAM: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE stream = $1 ORDER BY version"
);

pub(crate) const READ_ALL: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE position > $1 ORDER BY position LIMIT $2"
);

/// Every event of the streams whose name starts with `$1` (of length `$2`), by stream and
/// version: what a projection rebuild folds.
pub(crate) const READ_CATEGORY: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE substr(stream, 1, $2) = $1 ORDER BY stream, version"
);

pub(crate) const INSERT_EVENT: &str = "INSERT INTO events \
    (id, stream, version, type, payload, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) \
    RETURNING position";

// ---- journal --------------------------------------------------------------------------------

/// One entry, its sequence the procedure's next, or nothing if the id exists.
pub(crate) const INSERT_JOURNAL_ENTRY: &str = "INSERT INTO step_journal (id, procedure_id, \
    sequence, step_index, step_kind, result, failure_class, message, detail, at) VALUES ($1, $2, \
    (SELECT COALESCE(MAX(sequence), 0) + 1 FROM step_journal WHERE procedure_id = $2), \
    $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING RETURNING sequence";

pub(crate) const JOURNAL_OWNER: &str =
    "SELECT procedure_id, sequence FROM step_journal WHERE id = $1";

pub(crate) const JOURNAL_PAGE: &str = concat!(
    "SELECT ",
    journal_columns!(),
    " FROM step_journal WHERE procedure_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3"
);

/// The last `in_flight` marker of `$1`, unless an outcome of the same step follows it.
pub(crate) const INTERRUPTED_STEP: &str = concat!(
    "SELECT ",
    journal_columns!(),
    " FROM (SELECT * FROM step_journal WHERE procedure_id = $1 \
     AND result = 'in_flight' ORDER BY sequence DESC LIMIT 1) j \
     WHERE NOT EXISTS (SELECT 1 FROM step_journal o WHERE o.procedure_id = j.procedure_id \
     AND o.sequence > j.sequence AND o.step_index = j.step_index \
     AND o.result <> 'in_flight')"
);

pub(crate) const COMPLETED_STEPS: &str = "SELECT COUNT(DISTINCT step_index) FROM step_journal \
    WHERE procedure_id = $1 AND result = 'ok'";

// ---- components -----------------------------------------------------------------------------

pub(crate) const INSERT_COMPONENT: &str = "INSERT INTO components \
    (digest, wasm, name, version, info, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (digest) DO NOTHING";

pub(crate) const COMPONENT: &str = concat!(
    "SELECT ",
    component_meta_columns!(),
    ", wasm FROM components WHERE digest = $1"
);

pub(crate) const LIST_COMPONENTS: &str = concat!(
    "SELECT ",
    component_meta_columns!(),
    " FROM components ORDER BY name, version, digest"
);

pub(crate) const COMPONENT_USERS: &str =
    "SELECT COUNT(*) FROM procedure_summary WHERE component_digest = $1";

pub(crate) const DELETE_COMPONENT: &str = "DELETE FROM components WHERE digest = $1";

// ---- summaries ------------------------------------------------------------------------------

pub(crate) const PROCEDURE_SUMMARY: &str = concat!(
    "SELECT ",
    procedure_summary_columns!(),
    " FROM procedure_summary WHERE id = $1"
);

pub(crate) const UPSERT_PROCEDURE_SUMMARY: &str = concat!(
    "INSERT INTO procedure_summary (",
    procedure_summary_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
     component_digest = excluded.component_digest, status = excluded.status, \
     status_reason = excluded.status_reason, hold_causes = excluded.hold_causes, \
     parent_run = excluded.parent_run, iteration_count = excluded.iteration_count, \
     actuation_kind = excluded.actuation_kind, version = excluded.version, \
     defined_position = excluded.defined_position, defined_at = excluded.defined_at, \
     last_changed_at = excluded.last_changed_at"
);

pub(crate) const CLEAR_PROCEDURE_SUMMARY: &str = "DELETE FROM procedure_summary";

pub(crate) const CLEAR_RUN_SUMMARY: &str = "DELETE FROM run_summary";

pub(crate) const RUN_SUMMARY: &str = concat!(
    "SELECT ",
    run_summary_columns!(),
    " FROM run_summary WHERE id = $1"
);

pub(crate) const UPSERT_RUN_SUMMARY: &str = concat!(
    "INSERT INTO run_summary (",
    run_summary_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status, \
     status_reason = excluded.status_reason, actuation_kind = excluded.actuation_kind, \
     version = excluded.version, started_position = excluded.started_position, \
     started_at = excluded.started_at, last_changed_at = excluded.last_changed_at"
);

/// True when runs exist but the run projection is empty: a database from before the run
/// projection, whose rows the backend's open folds in once. The range reads the stream index,
/// not the whole log.
pub(crate) const RUN_SUMMARY_MISSING: &str = "SELECT NOT EXISTS (SELECT 1 FROM run_summary) \
    AND EXISTS (SELECT 1 FROM events WHERE stream >= 'run-' AND stream < 'run.')";

// ---- tokens ---------------------------------------------------------------------------------

pub(crate) const INSERT_TOKEN: &str =
    "INSERT INTO api_tokens (id, hash, scopes, label, created_at) VALUES ($1, $2, $3, $4, $5)";

pub(crate) const TOKEN_BY_HASH: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM api_tokens WHERE hash = $1"
);

pub(crate) const LIST_TOKENS: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM api_tokens ORDER BY created_at, id"
);

pub(crate) const DELETE_TOKEN: &str = "DELETE FROM api_tokens WHERE id = $1";
