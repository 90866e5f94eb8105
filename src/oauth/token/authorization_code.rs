//! The authorization code grant at the token endpoint (OAuth 2.1 §4.1.3, RFC 7636 §4.6,
//! RFC 8707 §2.2). The code is spent in the transaction that records its tokens, so a
//! crash leaves either an unused code or a used code with its tokens. A second use of a
//! code, by its client with the right verifier, revokes the grant it came from and every
//! token issued from it; a request that fails those checks spends and revokes nothing.

use crate::crypto::random;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::token::{Spent, TokenResponse, issue_for_user};
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
    // Every code has a challenge, so a missing verifier fails PKCE like a wrong one
    // (OAuth 2.1 §4.1.3): invalid_grant, as conformance suites expect.
    let verifier = params
        .require("code_verifier")
        .map_err(OAuthError::invalid_grant)?;
    let now = state.clock.now();
    let code_hash = random::sha256_b64(code);

    // Nothing is spent or revoked until the request proves it comes from whoever started the
    // authorization (client, redirect URI, PKCE verifier): someone holding only the code
    // can neither burn it nor revoke the tokens it bought (OAuth 2.1 §4.1.3, §7.5.4).
    let row = state
        .store
        .authorization_code_for_issue(&code_hash)
        .await?
        .filter(|row| row.client_id == client.client_id);
    let Some(row) = row else {
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
    if row.consumed_at.is_some() {
        return Err(replayed(state, &row.grant_id, &client.client_id, now).await?);
    }
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code is invalid or expired",
        ));
    }
    for requested in params.get_all("resource") {
        if resource::canonicalize(requested).ok().as_deref() != Some(row.resource.as_str()) {
            return Err(OAuthError::invalid_target(
                "the resource differs from the authorization request",
            ));
        }
    }
    let resource = state.resource(&row.resource).await?;
    let Some(resource) = resource.filter(|_| row.status.is_live()) else {
        return Err(OAuthError::invalid_grant(
            "the authorization is no longer valid",
        ));
    };
    let touch = crate::store::grants::last_use_is_stale(row.last_used_at, now);
    // The refresh token may later reach back to everything the user granted this client.
    let refresh_scope = if row.grant_scope.is_empty() {
        row.scope.clone()
    } else {
        row.grant_scope.clone()
    };
    issue_for_user(
        state,
        client,
        &row.grant_id,
        &row.user_id,
        &resource,
        row.scope.clone(),
        &refresh_scope,
        Some(Spent::Code(&code_hash)),
        touch,
    )
    .await
}

/// A code redeemed a second time by its own client with the right verifier: it leaked (or
/// the first response was intercepted), so the grant and every token it bought are revoked.
pub(crate) async fn replayed(
    state: &AppState,
    grant_id: &str,
    client_id: &str,
    now: i64,
) -> Result<OAuthError, OAuthError> {
    state.store.revoke_grant(grant_id, now).await?;
    state.forget_cached().await;
    tracing::warn!(grant_id = %grant_id, client_id = %client_id, "authorization code replayed; grant revoked");
    Ok(OAuthError::invalid_grant(
        "the authorization code was already used; its tokens are revoked",
    ))
}
