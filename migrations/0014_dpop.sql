-- DPoP (RFC 9449). Proof ids seen at the token endpoint, per key, kept until the proof
-- could no longer pass the iat window (replay rule, §11.1).
CREATE TABLE dpop_proofs (
    jkt         TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (jkt, jti)
);
CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);

-- The key a public client's refresh token is bound to (§5); NULL: not bound.
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
