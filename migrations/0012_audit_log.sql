-- The audit log (issue 17): one row per thing that matters, written in the transaction of
-- the change it records. `details` is JSON (the changed fields before and after, or other
-- context) and never holds secrets, hashes, codes or tokens.

CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    at           BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    subject      TEXT,
    client_id    TEXT,
    resource     TEXT,
    grant_id     TEXT,
    source_addr  TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    reason       TEXT NOT NULL,
    details      TEXT NOT NULL
);

-- Newest first, and the retention purge.
CREATE INDEX audit_events_by_time ON audit_events (at, id);
-- The filters of GET /admin/v1/audit.
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, at);
CREATE INDEX audit_events_by_subject ON audit_events (subject, at);
CREATE INDEX audit_events_by_client ON audit_events (client_id, at);
CREATE INDEX audit_events_by_resource ON audit_events (resource, at);
CREATE INDEX audit_events_by_kind ON audit_events (kind, at);

-- The exchange audit of 0005 folds in: each exchange becomes a `token_exchange` event by
-- its caller, about the target resource; what has no column of its own goes to `details`
-- (JSON built by hand, the one syntax both databases share: backslashes and quotes
-- escaped).
INSERT INTO audit_events (id, at, kind, actor_kind, actor_id, subject, client_id, resource,
    grant_id, source_addr, outcome, reason, details)
SELECT id, at, 'token_exchange', 'client', client_id, NULLIF(subject, ''), client_id,
    NULLIF(target, ''), NULL, NULL,
    CASE outcome WHEN 'issued' THEN 'success' ELSE 'failure' END, reason,
    '{"source":"' || REPLACE(REPLACE(source, '\', '\\'), '"', '\"')
        || '","scope":"' || REPLACE(REPLACE(scope, '\', '\\'), '"', '\"')
        || '","actor":"' || REPLACE(REPLACE(actor, '\', '\\'), '"', '\"') || '"}'
FROM exchange_audit;

DROP TABLE exchange_audit;
