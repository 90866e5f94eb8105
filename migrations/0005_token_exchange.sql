-- RFC 8693 token exchange: which resource may exchange toward which, trusted external
-- issuers of subject tokens, and the audit log of every exchange.

CREATE TABLE resource_downstreams (
    source         TEXT NOT NULL,
    target         TEXT NOT NULL,
    scope_map      TEXT NOT NULL,
    impersonators  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (source, target)
);

CREATE TABLE trusted_issuers (
    id            TEXT PRIMARY KEY,
    issuer        TEXT NOT NULL UNIQUE,
    jwks_uri      TEXT NOT NULL,
    algorithms    TEXT NOT NULL,
    audience      TEXT NOT NULL,
    subject_mode  TEXT NOT NULL CHECK (subject_mode IN ('keep', 'username')),
    created_at    BIGINT NOT NULL
);

CREATE TABLE exchange_audit (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    source     TEXT NOT NULL,
    target     TEXT NOT NULL,
    scope      TEXT NOT NULL,
    actor      TEXT NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('issued', 'refused')),
    reason     TEXT NOT NULL
);

-- An exchanged token gets its own grant, child of the user's grant it came from (the root
-- of the chain): revoking the child spares the user's grant, revoking the root ends both.
ALTER TABLE grants ADD COLUMN parent_id TEXT;
CREATE INDEX grants_by_parent ON grants (parent_id);
