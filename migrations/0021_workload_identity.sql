-- Workload identity federation (SEP-1933): rules that map a workload JWT from a trusted
-- platform issuer (its iss, aud, a sub pattern and extra claims) to one Warden client.
-- Issuer settings sit on each rule: two rules for one issuer may trust different keys
-- while an issuer rotates its JWKS location.

CREATE TABLE workload_rules (
    id          TEXT PRIMARY KEY,
    issuer      TEXT NOT NULL,
    jwks_uri    TEXT NOT NULL,
    algorithms  TEXT NOT NULL,
    audience    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    claims      TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);
CREATE INDEX workload_rules_by_issuer ON workload_rules (issuer);
CREATE INDEX workload_rules_by_client ON workload_rules (client_id);
