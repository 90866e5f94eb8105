-- Clients that register themselves (RFC 7591/7592) or are named by a metadata document.

ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
-- SHA-256 of the RFC 7592 registration access token.
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT;
-- The registered metadata as echoed to the client (no secrets).
ALTER TABLE clients ADD COLUMN metadata TEXT;
CREATE INDEX clients_by_registration ON clients (registration, created_at);

-- Admin decisions about metadata-document domains.
CREATE TABLE metadata_domains (
    domain      TEXT PRIMARY KEY,
    policy      TEXT NOT NULL CHECK (policy IN ('trusted', 'blocked')),
    created_at  BIGINT NOT NULL
);

-- private_key_jwt assertion ids, remembered until they expire (RFC 7523 §3 replay rule).
CREATE TABLE client_assertions (
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
