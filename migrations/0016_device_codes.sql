-- The device authorization grant (RFC 8628, issue 19). One row per /device_authorization
-- answer: the device code and the user code are stored only as SHA-256 hashes (the user
-- code after normalisation: upper case, no dash). `id` is an opaque handle the
-- verification page's forms carry, so neither code travels in a later form. Polling reads
-- and updates the row by `device_code_hash` in one statement (`poll_interval` grows by 5 s
-- for each poll that came too soon, RFC 8628 §3.5); approval sets `grant_id` (the same
-- grant row the browser flow records) in the transaction that records the consent, and
-- the token request spends the row (`consumed_at`) in the transaction that issues tokens.
-- Expired rows are deleted by the periodic clean-up.

CREATE TABLE device_codes (
    id                TEXT PRIMARY KEY,
    device_code_hash  TEXT NOT NULL UNIQUE,
    user_code_hash    TEXT NOT NULL UNIQUE,
    client_id         TEXT NOT NULL,
    resource          TEXT NOT NULL,
    scope             TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    user_id           TEXT,
    grant_id          TEXT REFERENCES grants (id) ON DELETE CASCADE,
    poll_interval     BIGINT NOT NULL,
    last_polled_at    BIGINT,
    slowed            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    consumed_at       BIGINT
);

CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
