//! Scopes as the protocol uses them (RFC 6749 §3.3). The set type lives in `domain`; the
//! scopes Warden itself owns are named here.

pub use crate::domain::scope::{MAX_SCOPE_LEN, ScopeSet, validate_token};

/// The scope of the built-in admin API resource; never advertised in metadata.
pub const ADMIN_SCOPE: &str = "warden:admin";
