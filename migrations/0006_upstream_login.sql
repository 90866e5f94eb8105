-- Sign-in through upstream identity providers (OpenID Connect, or OAuth 2.0 with a
-- user-info endpoint), the identities they vouch for, and the round trips in flight.

CREATE TABLE upstream_providers (
    id                      TEXT PRIMARY KEY,
    kind                    TEXT NOT NULL,
    display_name            TEXT NOT NULL,
    -- OpenID Connect: endpoints come from the issuer's discovery document.
    issuer                  TEXT,
    authorization_endpoint  TEXT,
    token_endpoint          TEXT,
    userinfo_endpoint       TEXT,
    client_id               TEXT NOT NULL,
    -- JWE (dir, A256GCM) under the master key; never returned by the API.
    client_secret_sealed    TEXT NOT NULL,
    token_auth_method       TEXT NOT NULL,
    scopes                  TEXT NOT NULL,
    subject_claim           TEXT NOT NULL,
    email_claim             TEXT NOT NULL,
    name_claim              TEXT NOT NULL,
    trust_email             BOOLEAN NOT NULL,
    allowed_domains         TEXT NOT NULL,
    on_first_login          TEXT NOT NULL,
    enabled                 BOOLEAN NOT NULL,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);

CREATE TABLE user_identities (
    provider_id    TEXT NOT NULL REFERENCES upstream_providers (id) ON DELETE CASCADE,
    subject        TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email          TEXT,
    name           TEXT,
    created_at     BIGINT NOT NULL,
    last_login_at  BIGINT NOT NULL,
    PRIMARY KEY (provider_id, subject)
);
CREATE INDEX user_identities_by_user ON user_identities (user_id);

-- One row per redirect to a provider, keyed by the SHA-256 of `state`, bound to the
-- browser that started it by the SHA-256 of a cookie; consumed by the callback.
CREATE TABLE upstream_logins (
    state_hash      TEXT PRIMARY KEY,
    provider_id     TEXT NOT NULL REFERENCES upstream_providers (id) ON DELETE CASCADE,
    browser_hash    TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    verifier_sealed TEXT NOT NULL,
    request_id      TEXT,
    link_user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX upstream_logins_by_expiry ON upstream_logins (expires_at);
