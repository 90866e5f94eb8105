-- Issue 19 parts 3 and 4. `offline_access` (SEP-2207) joins the catalogue as a built-in
-- scope: authorization server metadata lists it, clients may request it, and it is never a
-- scope a resource accepts (the admin layer refuses it there). An administrator who had
-- already created a scope of that name keeps their row.
INSERT INTO scopes (name, description, is_default, created_at)
VALUES ('offline_access', 'Stay signed in: keep access while you are away, until you revoke it', FALSE, 0)
ON CONFLICT (name) DO NOTHING;

-- The scope hierarchy (SEP-835): holding `scope` also grants each `implies`. Only direct
-- edges are stored; the closure is computed (`domain::scope::Implications`) at each token,
-- so removing an edge takes effect at the next token without rewriting any grant. A scope
-- that another implies cannot be deleted (the admin layer says which; the foreign key
-- enforces it); deleting the broader scope drops its edges.
CREATE TABLE scope_implications (
    scope    TEXT NOT NULL REFERENCES scopes (name) ON DELETE CASCADE,
    implies  TEXT NOT NULL REFERENCES scopes (name),
    PRIMARY KEY (scope, implies)
);
