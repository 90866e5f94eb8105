-- A rotated refresh token keeps its successor, sealed under a key derived from the rotated
-- token's own plaintext (which is never stored), so a request racing the rotation within
-- WARDEN_REFRESH_GRACE gets the same successor back instead of a second live one.
ALTER TABLE refresh_tokens ADD COLUMN successor_sealed TEXT;
