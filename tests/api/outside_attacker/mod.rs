//! What an outside attacker found, closed: scopes that outlived the admin's narrowing,
//! grants that outlived a password change, and exchanged tokens that outlived the client,
//! user or resource they came from.

mod derived_tokens;
mod password_change;
mod scope_shrink;
