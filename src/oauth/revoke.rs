//! Token revocation (RFC 7009 §2). Revoking an access token revokes its grant, which ends
//! every token of that grant. Unknown or foreign tokens get the same 200 as a success
//! (§2.2), so the endpoint reveals nothing.

use crate::oauth::access_token;
use crate::oauth::client_auth;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::state::AppState;

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
    // `token_type_hint` only speeds up a search (§2.1); with one token kind so far it is moot.
    let now = state.clock.now();
    if let Some(claims) = access_token::verify(state, token, now) {
        if claims.client_id == caller.client_id {
            state.store.revoke_grant(&claims.gid, now).await?;
            tracing::info!(grant_id = %claims.gid, client_id = %caller.client_id, "grant revoked by its client");
        } else {
            tracing::info!(client_id = %caller.client_id, "ignored a revocation of another client's token");
        }
    }
    Ok(())
}
