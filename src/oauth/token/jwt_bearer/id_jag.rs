//! Identity Assertion JWT Authorization Grants (draft-ietf-oauth-identity-assertion-authz-grant
//! §4, §5; MCP ext-auth Enterprise-Managed Authorization) presented with the JWT bearer
//! grant (RFC 7523 §2.1, errors per §3.1).

use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::token::{TokenContext, TokenResponse};
use crate::state::AppState;

/// What metadata's `authorization_grant_profiles_supported` names (ext-auth
/// Enterprise-Managed Authorization).
pub const GRANT_PROFILE: &str = "urn:ietf:params:oauth:grant-profile:id-jag";

/// The JWS `typ` of an ID-JAG (draft §3.1).
pub const TYP: &str = "oauth-id-jag+jwt";

/// Whether a header `typ` names an ID-JAG: media types compare case-insensitively, and the
/// `application/` prefix may be left out (RFC 7515 §4.1.9).
pub fn is_id_jag_typ(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == TYP || typ.strip_prefix("application/") == Some(TYP)
}

pub async fn exchange(
    _state: &AppState,
    _client: &AuthenticatedClient,
    _params: &Params,
    _ctx: &TokenContext,
    _assertion: &str,
) -> Result<TokenResponse, OAuthError> {
    Err(OAuthError::invalid_grant("ID-JAGs are not accepted yet"))
}
