//! The JWT bearer grant (RFC 7523 §2.1): `assertion` is a JWT that stands for the
//! authorization. Its header's `typ` says which profile it follows; each profile has its
//! own module and its own trust configuration.
//!
//! - `oauth-id-jag+jwt`: an Identity Assertion JWT Authorization Grant from an enterprise
//!   IdP (draft-ietf-oauth-identity-assertion-authz-grant; MCP's Enterprise-Managed
//!   Authorization), handled by [`id_jag`].
//! - anything else, sent with no client authentication: a workload's platform JWT
//!   (SEP-1933 Workload Identity Federation), the client's only credential, handled by
//!   [`workload`] before client authentication (`token::handle`).

pub mod id_jag;
pub mod workload;

use serde_json::Value;

use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::token::{TokenContext, TokenResponse};
use crate::state::AppState;

/// The longest assertion we read (RFC 7523 §3.1 leaves it to us): an ID-JAG is a few
/// hundred bytes of claims; anything much larger is refused before it is parsed.
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;

/// The JWT bearer grant's `assertion`, present and not oversized.
pub fn assertion(params: &Params) -> Result<&str, OAuthError> {
    let assertion = params
        .require("assertion")
        .map_err(OAuthError::invalid_request)?;
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(OAuthError::invalid_grant(format!(
            "the assertion is longer than {MAX_ASSERTION_BYTES} bytes"
        )));
    }
    Ok(assertion)
}

/// The `typ` of a JWS header read without verification: only to choose the profile, whose
/// module then verifies everything.
pub fn unverified_typ(token: &str) -> Option<String> {
    let header = josekit::jwt::decode_header(token).ok()?;
    header
        .claim("typ")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub async fn exchange(
    state: &AppState,
    client: &AuthenticatedClient,
    params: &Params,
    ctx: &TokenContext,
) -> Result<TokenResponse, OAuthError> {
    let assertion = assertion(params)?;
    match unverified_typ(assertion) {
        Some(typ) if id_jag::is_id_jag_typ(&typ) => {
            id_jag::exchange(state, client, params, ctx, assertion).await
        }
        _ => Err(OAuthError::invalid_grant(
            "the assertion is not an ID-JAG (header typ oauth-id-jag+jwt)",
        )),
    }
}
