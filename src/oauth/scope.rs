//! Scopes as the protocol uses them (RFC 6749 §3.3; SEP-835's hierarchy, SEP-2207's
//! `offline_access`). The set and hierarchy types live in `domain`; the scopes Warden
//! itself owns are named here, with the implication snapshot every token reads.

use std::sync::Arc;

pub use crate::domain::scope::{Implications, MAX_SCOPE_LEN, ScopeSet, validate_token};

/// The scope of the built-in admin API resource; never advertised in metadata.
pub const ADMIN_SCOPE: &str = "warden:admin";

/// OIDC Core §11 and SEP-2207: a client's request to stay signed in. Advertised in the
/// authorization server metadata so that MCP clients may ask for it, but it is no
/// resource's scope: it never reaches a resource's metadata, a challenge, an access token
/// or a grant's stored scope. Whether a refresh token is issued is decided in one place,
/// `oauth::token::issues_refresh_token`, and not by this scope.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Scopes Warden defines: not deletable, their meaning not editable, and outside the
/// hierarchy (they neither imply nor are implied).
pub fn is_builtin(name: &str) -> bool {
    name == ADMIN_SCOPE || name == OFFLINE_ACCESS
}

/// A requested scope set without `offline_access`, which asks for a refresh token rather
/// than for access to a resource (the refresh token rule ignores it, see
/// `oauth::token::issues_refresh_token`).
pub fn without_offline_access(requested: ScopeSet) -> ScopeSet {
    requested.without(OFFLINE_ACCESS)
}

/// What a token carries for `granted`: the closure under the catalogue's implications.
/// Putting the closure into the JWT `scope` (and so into introspection) is what lets any
/// resource server's plain "is `mcp:read` in `scope`" check accept a token granted
/// `mcp:write` when `mcp:write` implies `mcp:read`, without knowing the hierarchy.
/// Grants store only what the user consented to; the closure is computed at each token,
/// so an implication an admin removes stops at the next refresh.
pub fn token_scope(state: &crate::state::AppState, granted: &ScopeSet) -> ScopeSet {
    implications(state).closure(granted)
}

/// The implications this node knows (refreshed with the metadata: at once on this node
/// after an admin change, on others within `WARDEN_KEY_REFRESH_INTERVAL`).
pub fn implications(state: &crate::state::AppState) -> Arc<Implications> {
    state
        .implications
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}
