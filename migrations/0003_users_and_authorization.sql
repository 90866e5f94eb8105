-- End users, browser sessions, and the authorization-code flow.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    disabled       BOOLEAN NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- Server-side sessions: the cookie carries a random token, the table its SHA-256.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins per account and per address, in a sliding window; shared by all nodes.
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL
);

-- A validated /authorize request waiting for sign-in and consent.
CREATE TABLE authorization_requests (
    id                 TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    redirect_uri       TEXT NOT NULL,
    redirect_uri_sent  BOOLEAN NOT NULL,
    state              TEXT,
    scope              TEXT NOT NULL,
    resource           TEXT NOT NULL,
    code_challenge     TEXT NOT NULL,
    prompt             TEXT NOT NULL,
    user_id            TEXT,
    consent_shown      BOOLEAN NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    consumed_at        BIGINT
);

CREATE TABLE authorization_codes (
    code_hash          TEXT PRIMARY KEY,
    grant_id           TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id          TEXT NOT NULL,
    redirect_uri       TEXT NOT NULL,
    redirect_uri_sent  BOOLEAN NOT NULL,
    code_challenge     TEXT NOT NULL,
    resource           TEXT NOT NULL,
    scope              TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    consumed_at        BIGINT
);

CREATE TABLE refresh_tokens (
    token_hash   TEXT PRIMARY KEY,
    grant_id     TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,
    scope        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    rotated_at   BIGINT
);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);

ALTER TABLE grants ADD COLUMN last_used_at BIGINT;
ALTER TABLE clients ADD COLUMN registration TEXT NOT NULL DEFAULT 'admin';

-- One live user grant per (client, user, resource): it is the remembered consent.
CREATE UNIQUE INDEX grants_live_authorization_code
    ON grants (client_id, subject, resource) WHERE kind = 'authorization_code' AND revoked_at IS NULL;
CREATE INDEX grants_by_subject ON grants (subject);
