//! The authorization code grant at the token endpoint (OAuth 2.1 §4.1.3, RFC 7636 §4.6,
//! RFC 8707 §2.2). The code is consumed atomically; a second use of a code revokes the
//! grant it came from, and every token issued from it with it.

use crate::crypto::random;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::token::{TokenResponse, issue_for_user};
use crate::oauth::{pkce, resource};
use crate::state::AppState;

pub async fn exchange(
    state: &AppState,
    authenticated: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let client = &authenticated.client;
    let code = params
        .require("code")
        .map_err(OAuthError::invalid_request)?;
    let verifier = params
        .require("code_verifier")
        .map_err(OAuthError::invalid_request)?;
    let now = state.clock.now();
    let code_hash = random::sha256_b64(code);

    let Some(row) = state
        .store
        .consume_authorization_code(&code_hash, &client.client_id, now)
        .await?
    else {
        if let Some(used) = state.store.authorization_code(&code_hash).await?
            && used.consumed_at.is_some()
            && used.client_id == client.client_id
        {
            state.store.revoke_grant(&used.grant_id, now).await?;
            state.forget_cached().await;
            tracing::warn!(grant_id = %used.grant_id, client_id = %client.client_id, "authorization code replayed; grant revoked");
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; its tokens are revoked",
            ));
        }
        return Err(OAuthError::invalid_grant(
            "the authorization code is invalid or expired",
        ));
    };
    match params.get("redirect_uri") {
        Some(uri) if uri == row.redirect_uri => {}
        None if !row.redirect_uri_sent => {}
        _ => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
    }
    if !pkce::verify(&row.code_challenge, verifier) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    for requested in params.get_all("resource") {
        if resource::canonicalize(requested).ok().as_deref() != Some(row.resource.as_str()) {
            return Err(OAuthError::invalid_target(
                "the resource differs from the authorization request",
            ));
        }
    }
    let grant = state.store.grant_for_issue(&row.grant_id).await?;
    let live = grant.as_ref().is_some_and(|g| g.status.is_live());
    let resource = state.resource(&row.resource).await?;
    let Some(resource) = resource.filter(|_| live) else {
        return Err(OAuthError::invalid_grant(
            "the authorization is no longer valid",
        ));
    };
    let touch = grant.as_ref().is_none_or(|g| g.needs_touch(now));
    let grant_scope = grant.map(|g| g.scope).unwrap_or_else(|| row.scope.clone());
    // The refresh token may later reach back to everything the user granted this client.
    let refresh_scope = if grant_scope.is_empty() {
        row.scope.clone()
    } else {
        grant_scope
    };
    issue_for_user(
        state,
        client,
        &row.grant_id,
        &row.user_id,
        &resource,
        row.scope.clone(),
        &refresh_scope,
        None,
        touch,
    )
    .await
}
