-- The last `warden resource check` of each MCP server: when it ran, whether every point
-- passed ('pass' or 'fail'), and the names of the points that failed (space-separated).
-- NULL: never checked.
ALTER TABLE resources ADD COLUMN last_check_at BIGINT;
ALTER TABLE resources ADD COLUMN last_check_outcome TEXT;
ALTER TABLE resources ADD COLUMN last_check_failed TEXT;
