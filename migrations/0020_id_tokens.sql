-- OpenID Connect ID tokens (OIDC Core §3.1.2.1, §3.1.3.6): an authorization request that
-- asks for `openid` keeps its OIDC scopes and `nonce` until the code is redeemed, and the
-- code keeps when the user last proved who they are (`auth_time`). NULL `openid_scope`:
-- a plain OAuth request, no ID token.
ALTER TABLE authorization_requests ADD COLUMN openid_scope TEXT;
ALTER TABLE authorization_requests ADD COLUMN nonce TEXT;
ALTER TABLE authorization_codes ADD COLUMN openid_scope TEXT;
ALTER TABLE authorization_codes ADD COLUMN nonce TEXT;
ALTER TABLE authorization_codes ADD COLUMN auth_time BIGINT;
