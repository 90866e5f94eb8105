-- The maintenance tick on every node deletes expired rows by time: without these it scans
-- whole tables that grow with use (found by seeding 100,000 refresh tokens).

CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
CREATE INDEX authorization_requests_by_expiry ON authorization_requests (expires_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
