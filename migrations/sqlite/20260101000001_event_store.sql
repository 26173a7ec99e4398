-- baton event store, SQLite flavour. Forward-only: never edit a migration that has shipped;
-- add a new one.
--
-- Timestamps are RFC 3339 text in UTC with microsecond precision (the store truncates them so
-- that SQLite and PostgreSQL hold the same instants). Ids are hyphenated UUID text, so the file
-- can be read with the sqlite3 shell.

-- Every event of every stream. `position` is the global order (commit order: SQLite has one
-- writer at a time). Payloads are JSON objects stored as JSON text, never a JSON string that
-- contains JSON: `json_extract(payload, '$.field')` works on them.
CREATE TABLE events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    stream      TEXT    NOT NULL CHECK (stream <> ''),
    version     INTEGER NOT NULL CHECK (version >= 1),
    type        TEXT    NOT NULL CHECK (type <> ''),
    payload     TEXT    NOT NULL CHECK (json_valid(payload) AND json_type(payload) = 'object'),
    recorded_at TEXT    NOT NULL,
    UNIQUE (stream, version)
);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- The steps of a pin, keyed by the sha256 of their canonical JSON. Written in the same
-- transaction as the ResolvedStepsRecorded event that names the hash; content-addressed, so
-- pinning the same list twice stores it once.
CREATE TABLE pinned_steps (
    hash       TEXT    PRIMARY KEY CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),
    step_count INTEGER NOT NULL CHECK (step_count >= 0),
    steps      TEXT    NOT NULL CHECK (json_valid(steps) AND json_type(steps) = 'array'),
    pinned_at  TEXT    NOT NULL
);

CREATE TRIGGER pinned_steps_append_only_update BEFORE UPDATE ON pinned_steps
BEGIN SELECT RAISE(ABORT, 'pinned steps are immutable'); END;
CREATE TRIGGER pinned_steps_append_only_delete BEFORE DELETE ON pinned_steps
BEGIN SELECT RAISE(ABORT, 'pinned steps are immutable'); END;

-- The step journal: one row per step boundary. Never folded into an aggregate. `sequence` is
-- dense per procedure (1, 2, 3, ...), assigned by the store.
CREATE TABLE step_journal (
    id            TEXT    PRIMARY KEY,
    procedure_id  TEXT    NOT NULL,
    sequence      INTEGER NOT NULL CHECK (sequence >= 1),
    step_index    INTEGER NOT NULL CHECK (step_index >= 0),
    step_kind     TEXT    NOT NULL CHECK (step_kind IN ('setpoint', 'check', 'action')),
    result        TEXT    NOT NULL CHECK (result IN ('in_flight', 'ok', 'failed')),
    failure_class TEXT    CHECK (failure_class IN ('timeout', 'disconnected', 'rejected',
                              'access_denied', 'out_of_limits', 'unrouted',
                              'criterion_mismatch', 'bad_quality')),
    message       TEXT,
    detail        TEXT    NOT NULL CHECK (json_valid(detail) AND json_type(detail) = 'object'),
    at            TEXT    NOT NULL,
    CHECK ((result = 'failed') = (failure_class IS NOT NULL)),
    UNIQUE (procedure_id, sequence)
);

CREATE INDEX step_journal_in_flight ON step_journal (procedure_id, sequence)
    WHERE result = 'in_flight';

CREATE TRIGGER step_journal_append_only_update BEFORE UPDATE ON step_journal
BEGIN SELECT RAISE(ABORT, 'the step journal is append-only'); END;
CREATE TRIGGER step_journal_append_only_delete BEFORE DELETE ON step_journal
BEGIN SELECT RAISE(ABORT, 'the step journal is append-only'); END;

-- Uploaded procedure components, by the sha256 of their bytes.
CREATE TABLE components (
    digest      TEXT    PRIMARY KEY CHECK (length(digest) = 64 AND digest NOT GLOB '*[^0-9a-f]*'),
    wasm        BLOB    NOT NULL,
    name        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    info        TEXT    NOT NULL CHECK (json_valid(info) AND json_type(info) = 'object'),
    uploaded_at TEXT    NOT NULL
);

-- The summary projection behind `GET /procedures`, updated in the same transaction as the
-- events it reads and rebuildable from the streams. `defined_position` (the global position of
-- the ProcedureDefined event) is unique and is the keyset-paging key.
CREATE TABLE procedure_summary (
    id               TEXT    PRIMARY KEY,
    name             TEXT    NOT NULL,
    component_digest TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('defined', 'running', 'held',
                                 'completed', 'aborted', 'truncated')),
    status_reason    TEXT,
    hold_causes      TEXT    NOT NULL CHECK (json_valid(hold_causes)
                                 AND json_type(hold_causes) = 'array'),
    parent_run       TEXT,
    iteration_count  INTEGER NOT NULL CHECK (iteration_count >= 0),
    actuation_kind   TEXT    NOT NULL CHECK (actuation_kind IN ('none', 'simulated',
                                 'physical', 'hybrid')),
    version          INTEGER NOT NULL CHECK (version >= 1),
    defined_position INTEGER NOT NULL UNIQUE,
    defined_at       TEXT    NOT NULL,
    last_changed_at  TEXT    NOT NULL
);

CREATE INDEX procedure_summary_status ON procedure_summary (status, defined_position);
CREATE INDEX procedure_summary_parent ON procedure_summary (parent_run, defined_position);
CREATE INDEX procedure_summary_component ON procedure_summary (component_digest);
