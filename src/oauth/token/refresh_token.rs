//! The refresh token grant (OAuth 2.1 §4.3, §6.1). Every use rotates the token; using a
//! rotated token again means it leaked, so the whole grant is revoked. One exception, the
//! grace window (`WARDEN_REFRESH_GRACE`, 10 s): the TypeScript MCP SDK refreshes once per
//! request in flight when a token expires, so a token rotated a few seconds ago may come
//! back from the same client; it gets a fresh pair instead of a revocation. A thief would
//! have to replay within those seconds, and could not extend the window. `scope` and
//! `resource` may only narrow.

use crate::crypto::random;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::policy;
use crate::oauth::resource;
use crate::oauth::scope::ScopeSet;
use crate::oauth::token::{Rotation, TokenResponse, issue_for_user};
use crate::state::AppState;

pub async fn exchange(
    state: &AppState,
    authenticated: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let client = &authenticated.client;
    let presented = params
        .require("refresh_token")
        .map_err(OAuthError::invalid_request)?;
    let now = state.clock.now();
    let hash = random::sha256_b64(presented);

    // Look first and rotate last, so a request refused for its scope or resource does not
    // spend the token (and the client's retry is not mistaken for theft).
    // One read: the token, its grant and whether that grant is still live.
    let Some(old) = state.store.refresh_token_for_issue(&hash).await? else {
        return Err(OAuthError::invalid_grant(
            "the refresh token is invalid or expired",
        ));
    };
    if old.client_id != client.client_id || old.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the refresh token is invalid or expired",
        ));
    }
    let grace = state.settings.refresh_grace;
    // Without a grace window any rotated token coming back is a reuse, even within the
    // second it was rotated in.
    if old
        .rotated_at
        .is_some_and(|at| grace == 0 || now - at > grace)
    {
        return Err(reuse(state, &old.grant_id, &client.client_id, now).await?);
    }

    if !old.status.is_live() {
        return Err(OAuthError::invalid_grant("the authorization was revoked"));
    }
    for requested in params.get_all("resource") {
        if resource::canonicalize(requested).ok().as_deref() != Some(old.resource.as_str()) {
            return Err(OAuthError::invalid_target(
                "a refresh may not change the resource",
            ));
        }
    }
    let resource = state.resource(&old.resource).await?;
    let Some(resource) = resource.filter(|r| policy::client_may_use(client, r)) else {
        return Err(OAuthError::invalid_grant(
            "the resource is no longer available to this client",
        ));
    };
    let allowed = ScopeSet::from_stored(&old.scope);
    let scope = match params.get("scope") {
        None => allowed.clone(),
        Some(requested) => {
            let requested = ScopeSet::parse(requested).map_err(OAuthError::invalid_scope)?;
            if requested.is_empty() || !requested.is_subset(&allowed) {
                return Err(OAuthError::invalid_scope(
                    "a refresh may only narrow the scope",
                ));
            }
            requested
        }
    };
    // Within the grace window a token rotated a moment ago may come back: no rotation
    // then, and a concurrent rotation is not a reuse either.
    let rotation = old.rotated_at.is_none().then_some(Rotation {
        token_hash: &hash,
        must_rotate: grace == 0,
    });
    issue_for_user(
        state,
        client,
        &old.grant_id,
        &old.subject,
        &resource,
        scope.to_scope_string(),
        &old.scope,
        rotation,
        crate::store::grants::last_use_is_stale(old.last_used_at, now),
    )
    .await
}

/// A rotated token came back: it leaked, so the whole grant goes.
pub(crate) async fn reuse(
    state: &AppState,
    grant_id: &str,
    client_id: &str,
    now: i64,
) -> Result<OAuthError, OAuthError> {
    state.store.revoke_grant(grant_id, now).await?;
    state.forget_cached().await;
    tracing::warn!(grant_id = %grant_id, client_id = %client_id, "refresh token reused; grant revoked");
    Ok(OAuthError::invalid_grant(
        "the refresh token was already used; the authorization is revoked",
    ))
}
