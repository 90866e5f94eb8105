CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL CHECK (alg IN ('ES256', 'EdDSA', 'RS256')),
    public_jwk   TEXT NOT NULL,
    private_jwe  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    activate_at  BIGINT NOT NULL,
    -- 1 for the key made at first start, NULL for rotated keys: makes bootstrap race-free.
    initial      BIGINT UNIQUE
);
