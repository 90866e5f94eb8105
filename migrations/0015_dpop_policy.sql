-- DPoP policy (RFC 9449 §5.2, §10). A client registered with `dpop_bound_access_tokens`
-- and a resource an admin marked `require_dpop` are refused tokens without a DPoP proof.
-- An authorization request may name the key its code is bound to (`dpop_jkt`, the RFC 7638
-- SHA-256 thumbprint, base64url); the code carries it to the token request, where the
-- proof's key must be that one. NULL: not bound.
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE resources ADD COLUMN require_dpop BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE authorization_requests ADD COLUMN dpop_jkt TEXT;
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
