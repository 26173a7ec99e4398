-- The run projection behind `GET /runs`: one row per run, updated in the same transaction as
-- the events it reads and rebuildable from the streams, like `procedure_summary`.
-- `started_position` (the global position of the RunStarted event) is unique and is the
-- keyset-paging key, oldest first. The times are RFC 3339 text, not timestamptz: the events
-- carry nanoseconds and timestamptz keeps microseconds, and a row must say exactly what a fold
-- of its stream says. The rows of runs that predate this table are folded in when the store
-- next opens (a fold is not SQL).
CREATE TABLE run_summary (
    id               UUID    PRIMARY KEY,
    name             TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('running', 'held', 'completed',
                                 'aborted', 'stopped', 'truncated')),
    status_reason    TEXT,
    actuation_kind   TEXT    NOT NULL CHECK (actuation_kind IN ('none', 'simulated',
                                 'physical', 'hybrid')),
    version          BIGINT  NOT NULL CHECK (version >= 1),
    started_position BIGINT  NOT NULL UNIQUE,
    started_at       TEXT    NOT NULL,
    last_changed_at  TEXT    NOT NULL
);

CREATE INDEX run_summary_status ON run_summary (status, started_position);
