-- What the user consented to: a hash of the client's name and redirect URIs when the grant
-- last recorded consent. A remembered consent counts only while it matches the client as
-- it is now, so a client that changes where codes go (admin edit, RFC 7592 update,
-- metadata-document change) asks the user again. NULL (grants from before this column)
-- matches nothing: those users are asked once more.
ALTER TABLE grants ADD COLUMN consent_fingerprint TEXT;
