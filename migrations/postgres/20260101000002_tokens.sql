-- API bearer tokens. Only the sha256 of a token is stored: the token itself is shown once, when
-- it is created, and a leaked database does not leak a usable credential. Scopes are a JSON
-- array of scope names (read, author, operate, admin).
CREATE TABLE api_tokens (
    id         UUID        PRIMARY KEY,
    hash       TEXT        NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    scopes     JSONB       NOT NULL CHECK (jsonb_typeof(scopes) = 'array'),
    label      TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
