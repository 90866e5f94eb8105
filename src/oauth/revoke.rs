//! Token revocation (RFC 7009 §2). Revoking an access token or a refresh token revokes its
//! grant, which ends every token of that grant (§2.1: revoking a refresh token should also
//! invalidate the access tokens of the same authorization). Unknown or foreign tokens get
//! the same 200 as a success (§2.2), so the endpoint reveals nothing.

use serde_json::json;

use crate::crypto::random;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::oauth::access_token;
use crate::oauth::client_auth;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::state::AppState;

/// An unknown or foreign token answers the same to the client but changes nothing
/// anywhere (and so makes no node forget its caches).
pub async fn handle(
    state: &AppState,
    authorization: Option<&str>,
    params: &Params,
) -> Result<(), OAuthError> {
    let token = params
        .require("token")
        .map_err(OAuthError::invalid_request)?;
    let creds = client_auth::credentials(authorization, params)?;
    let caller = client_auth::authenticate(state, creds).await?.client;
    // `token_type_hint` only speeds up a search (§2.1); both kinds are cheap to try.
    let now = state.clock.now();
    let grant = match access_token::verify(state, token, now) {
        Some(claims) => Some((claims.gid, claims.client_id)),
        None if token.len() == 43 => state
            .store
            .refresh_token(&random::sha256_b64(token))
            .await?
            .map(|r| (r.grant_id, r.client_id)),
        None => None,
    };
    match grant {
        Some((grant_id, owner)) if owner == caller.client_id => {
            let event = AuditEvent::new(
                AuditKind::GrantRevoked,
                Actor::client(&caller.client_id),
                now,
            )
            .details(json!({ "via": "revocation endpoint" }));
            if state.store.revoke_grant(&grant_id, now, event).await? {
                crate::measure::grants_revoked(crate::measure::Revocation::Client, 1);
            }
            tracing::info!(grant_id = %grant_id, client_id = %caller.client_id, "grant revoked by its client");
            Ok(())
        }
        Some(_) => {
            tracing::info!(client_id = %caller.client_id, "ignored a revocation of another client's token");
            Ok(())
        }
        None => Ok(()),
    }
}
