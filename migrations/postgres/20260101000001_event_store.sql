-- baton event store, PostgreSQL flavour. Forward-only: never edit a migration that has shipped;
-- add a new one. The tables live in the connection's search_path schema, so one database can
-- hold several independent stores (the tests use a random schema per run).

-- Every event of every stream. `position` is the global order. Appends take a transaction-level
-- advisory lock, so positions become visible in commit order and a reader following
-- `position > n` never skips an event that commits later with a smaller position.
CREATE TABLE events (
    position    BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          UUID        NOT NULL UNIQUE,
    stream      TEXT        NOT NULL CHECK (stream <> ''),
    version     BIGINT      NOT NULL CHECK (version >= 1),
    type        TEXT        NOT NULL CHECK (type <> ''),
    payload     JSONB       NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    recorded_at TIMESTAMPTZ NOT NULL,
    UNIQUE (stream, version)
);

CREATE FUNCTION baton_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION baton_refuse_change();

-- The steps of a pin, keyed by the sha256 of their canonical JSON.
CREATE TABLE pinned_steps (
    hash       TEXT        PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
    step_count INTEGER     NOT NULL CHECK (step_count >= 0),
    steps      JSONB       NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
    pinned_at  TIMESTAMPTZ NOT NULL
);

CREATE TRIGGER pinned_steps_append_only BEFORE UPDATE OR DELETE ON pinned_steps
    FOR EACH ROW EXECUTE FUNCTION baton_refuse_change();

-- The step journal: one row per step boundary, never folded into an aggregate. `sequence` is
-- dense per procedure, assigned by the store under a per-procedure advisory lock.
CREATE TABLE step_journal (
    id            UUID        PRIMARY KEY,
    procedure_id  UUID        NOT NULL,
    sequence      BIGINT      NOT NULL CHECK (sequence >= 1),
    step_index    INTEGER     NOT NULL CHECK (step_index >= 0),
    step_kind     TEXT        NOT NULL CHECK (step_kind IN ('setpoint', 'check', 'action')),
    result        TEXT        NOT NULL CHECK (result IN ('in_flight', 'ok', 'failed')),
    failure_class TEXT        CHECK (failure_class IN ('timeout', 'disconnected', 'rejected',
                                  'access_denied', 'out_of_limits', 'unrouted',
                                  'criterion_mismatch', 'bad_quality')),
    message       TEXT,
    detail        JSONB       NOT NULL CHECK (jsonb_typeof(detail) = 'object'),
    at            TIMESTAMPTZ NOT NULL,
    CHECK ((result = 'failed') = (failure_class IS NOT NULL)),
    UNIQUE (procedure_id, sequence)
);

CREATE INDEX step_journal_in_flight ON step_journal (procedure_id, sequence)
    WHERE result = 'in_flight';

CREATE TRIGGER step_journal_append_only BEFORE UPDATE OR DELETE ON step_journal
    FOR EACH ROW EXECUTE FUNCTION baton_refuse_change();

-- Uploaded procedure components, by the sha256 of their bytes.
CREATE TABLE components (
    digest      TEXT        PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
    wasm        BYTEA       NOT NULL,
    name        TEXT        NOT NULL,
    version     TEXT        NOT NULL,
    info        JSONB       NOT NULL CHECK (jsonb_typeof(info) = 'object'),
    uploaded_at TIMESTAMPTZ NOT NULL
);

-- The summary projection behind `GET /procedures`; see the SQLite migration.
CREATE TABLE procedure_summary (
    id               UUID        PRIMARY KEY,
    name             TEXT        NOT NULL,
    component_digest TEXT        NOT NULL,
    status           TEXT        NOT NULL CHECK (status IN ('defined', 'running', 'held',
                                     'completed', 'aborted', 'truncated')),
    status_reason    TEXT,
    hold_causes      JSONB       NOT NULL CHECK (jsonb_typeof(hold_causes) = 'array'),
    parent_run       UUID,
    iteration_count  INTEGER     NOT NULL CHECK (iteration_count >= 0),
    actuation_kind   TEXT        NOT NULL CHECK (actuation_kind IN ('none', 'simulated',
                                     'physical', 'hybrid')),
    version          BIGINT      NOT NULL CHECK (version >= 1),
    defined_position BIGINT      NOT NULL UNIQUE,
    defined_at       TIMESTAMPTZ NOT NULL,
    last_changed_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX procedure_summary_status ON procedure_summary (status, defined_position);
CREATE INDEX procedure_summary_parent ON procedure_summary (parent_run, defined_position);
CREATE INDEX procedure_summary_component ON procedure_summary (component_digest);
