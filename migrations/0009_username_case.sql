-- Usernames that are email addresses compare regardless of ASCII case (sign-in, creation,
-- linking by email): look them up by lower(username) without scanning the table.
CREATE INDEX users_by_folded_name ON users (lower(username));
