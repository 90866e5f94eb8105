-- OpenID Connect ID tokens (OIDC Core §3.1.2.1, §3.1.3.6): an authorization request that
-- asks for `openid` keeps its OIDC scopes and `nonce` until the code is redeemed, and the
-- code keeps when the user last proved who they are (`auth_time`). NULL `openid_scope`:
-- a plain OAuth request, no ID token.
ALTER TABLE authorization_requests ADD COLUMN openid_scope TEXT;
ALTER TABLE authorization_requests ADD COLUMN nonce TEXT;
ALTER TABLE authorization_codes ADD COLUMN openid_scope TEXT;
ALTER TABLE authorization_codes ADD COLUMN nonce TEXT;
ALTER TABLE authorization_codes ADD COLUMN auth_time BIGINT;

-- Warden as an enterprise IdP (draft-ietf-oauth-identity-assertion-authz-grant §4.3): which
-- client may obtain an ID-JAG for which other authorization server (`audience`, its
-- issuer) and MCP server (`resource`), as which client there (`remote_client_id`), with
-- which scopes at most, and whether the user's email goes along.
CREATE TABLE id_jag_policies (
    id                TEXT PRIMARY KEY,
    client_id         TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience          TEXT NOT NULL,
    resource          TEXT NOT NULL,
    remote_client_id  TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    include_email     BOOLEAN NOT NULL,
    created_at        BIGINT NOT NULL,
    UNIQUE (client_id, audience, resource)
);
