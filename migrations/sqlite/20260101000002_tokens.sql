-- API bearer tokens. Only the sha256 of a token is stored: the token itself is shown once, when
-- it is created, and a leaked database does not leak a usable credential. Scopes are a JSON
-- array of scope names (read, author, operate, admin).
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),
    scopes     TEXT NOT NULL CHECK (json_valid(scopes) AND json_type(scopes) = 'array'),
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL
);
