-- Enterprise-managed authorization (issue 18 part 1): identity providers whose ID-JAGs
-- (Identity Assertion JWT Authorization Grants) the jwt-bearer grant accepts, the link from
-- an IdP's `sub` to a Warden user, and the `jti`s already used (single use until expiry).

CREATE TABLE id_jag_issuers (
    id          TEXT PRIMARY KEY,
    issuer      TEXT NOT NULL UNIQUE,
    jwks_uri    TEXT NOT NULL,
    algorithms  TEXT NOT NULL,
    -- What an unlinked `sub` with a verified `email` becomes.
    email_rule  TEXT NOT NULL CHECK (email_rule IN ('link', 'create', 'refuse')),
    -- Whether an accepted ID-JAG also buys a refresh token (for a client with the
    -- refresh_token grant): off unless the admin turns it on for this IdP.
    refresh_tokens BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE id_jag_subjects (
    issuer_id   TEXT NOT NULL REFERENCES id_jag_issuers (id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer_id, subject)
);
CREATE INDEX id_jag_subjects_by_user ON id_jag_subjects (user_id);

CREATE TABLE id_jag_jtis (
    issuer      TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX id_jag_jtis_by_expiry ON id_jag_jtis (expires_at);
