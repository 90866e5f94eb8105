-- The admin console (issue 17). Admins are users with a role; the console asks for the
-- password again before a destructive action when the last one is older than five minutes
-- (`authenticated_at`, set at sign-in and at each re-authentication; 0 for sessions that
-- predate it, which therefore ask). The first admin is created through a one-time setup
-- link; only the SHA-256 of its token is stored.

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'none' CHECK (role IN ('admin', 'none'));
ALTER TABLE sessions ADD COLUMN authenticated_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE admin_setup_tokens (
    token_hash  TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
