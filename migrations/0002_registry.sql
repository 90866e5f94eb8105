-- The scope catalogue, MCP resources, clients, and the grants every token descends from.
-- Lists are stored as space-separated text (scopes) or JSON arrays (URIs, client ids):
-- one row answers each hot-path question without a join.

CREATE TABLE scopes (
    name          TEXT PRIMARY KEY,
    description   TEXT NOT NULL,
    is_default    BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL
);

INSERT INTO scopes (name, description, is_default, created_at) VALUES
    ('mcp:read', 'Read data and use read-only tools of the MCP server', TRUE, 0),
    ('mcp:write', 'Change data and use tools that act on your behalf', FALSE, 0),
    ('warden:admin', 'Administer Warden: resources, scopes, clients and users', FALSE, 0);

CREATE TABLE resources (
    id               TEXT PRIMARY KEY,
    uri              TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    default_scopes   TEXT NOT NULL,
    access_token_ttl BIGINT,
    allowed_clients  TEXT,
    enabled          BOOLEAN NOT NULL,
    builtin          BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE clients (
    client_id                  TEXT PRIMARY KEY,
    secret_hash                TEXT,
    name                       TEXT NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    redirect_uris              TEXT NOT NULL,
    grant_types                TEXT NOT NULL,
    resources                  TEXT NOT NULL,
    scopes                     TEXT,
    served_resources           TEXT NOT NULL,
    enabled                    BOOLEAN NOT NULL,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);

CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('client_credentials', 'authorization_code', 'token_exchange')),
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    resource    TEXT NOT NULL,
    scope       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

-- One live client_credentials grant per client and resource: tokens reuse it, so issuing
-- a token reads one row instead of writing one; revoking it ends all of them.
CREATE UNIQUE INDEX grants_live_client_credentials
    ON grants (client_id, resource) WHERE kind = 'client_credentials' AND revoked_at IS NULL;
CREATE INDEX grants_by_client ON grants (client_id);
