//! The refresh token grant (OAuth 2.1 §4.3, §6.1; RFC 9700 §4.14.2). Every use rotates the
//! token; using a rotated token again means it leaked, so the whole grant is revoked.
//!
//! One exception, the grace window (`WARDEN_REFRESH_GRACE`, 10 s): the TypeScript MCP SDK
//! refreshes once per request in flight when a token expires, so a token rotated a few
//! seconds ago may come back from the same client. It gets the *same* successor again
//! (sealed at rotation under a key only the presented token opens) with a fresh access
//! token, never a second live refresh token, and only while that successor is itself
//! unused: a token two generations old is reuse even inside the window. `scope` and
//! `resource` may only narrow. A public client's token bound to a DPoP key (RFC 9449 §5)
//! needs a proof by that key.

use crate::crypto::{random, successor};
use crate::domain::Resource;
use crate::domain::{Actor, AuditEvent, AuditKind, Client};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop::{self, Jkt};
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::policy;
use crate::oauth::resource;
use crate::oauth::scope::{self, ScopeSet};
use crate::oauth::token::user_grant::{
    self, Leaked, Rotation, Spent, UserGrant, access_token_response, revoke_leaked,
};
use crate::oauth::token::{TokenContext, TokenResponse};
use crate::state::AppState;
use crate::store::authorization::RefreshForIssue;

pub async fn exchange(
    state: &AppState,
    authenticated: &AuthenticatedClient,
    params: &Params,
    ctx: &TokenContext,
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
    // A bound token is only usable with its key (RFC 9449 §5): without it, nothing is
    // spent or revoked, so whoever stole the token cannot even burn it.
    if let Some(bound) = &old.dpop_jkt
        && ctx.dpop.as_ref().map(Jkt::as_str) != Some(bound.as_str())
    {
        return Err(dpop::invalid_proof(
            "the refresh token is bound to another DPoP key",
        ));
    }
    let grace = state.settings.refresh_grace;
    // Without a grace window any rotated token coming back is a reuse, even within the
    // second it was rotated in.
    if old
        .rotated_at
        .is_some_and(|at| grace == 0 || now - at > grace)
    {
        return Err(revoke_leaked(
            state,
            &old.grant_id,
            &client.client_id,
            Leaked::RefreshToken,
        )
        .await?);
    }

    if !old.status.is_live() {
        return Err(OAuthError::invalid_grant("the authorization was revoked"));
    }
    let Narrowed {
        resource,
        scope,
        allowed,
    } = match narrowed(state, client, params, &old).await {
        Err(Refusal::NothingLeft) => {
            // The admin took away every scope this grant held: it is over, and so are the
            // tokens it bought.
            let event = AuditEvent::new(AuditKind::GrantRevoked, Actor::system(), now)
                .failed("no scope of this authorization is available to the client any more");
            state.store.revoke_grant(&old.grant_id, now, event).await?;
            crate::measure::grants_revoked(crate::measure::Revocation::ScopeWithdrawn, 1);
            return Err(OAuthError::invalid_scope(
                "no scope of this authorization is available to the client any more",
            ));
        }
        Err(Refusal::Error(e)) => return Err(e),
        Ok(n) => n,
    };
    // Before anything rotates: a refused refresh leaves the token as it was.
    dpop::policy::check(client, &resource, None, ctx.dpop.as_ref())?;
    let (dpop, refresh_binding) = UserGrant::bindings(authenticated, ctx);
    let grant = UserGrant {
        client,
        grant_id: &old.grant_id,
        user_id: &old.subject,
        resource: &resource,
        dpop,
        refresh_binding,
    };
    if old.rotated_at.is_some() {
        return redeliver(state, &grant, presented, &hash, scope.to_scope_string()).await;
    }
    // The successor carries what is left, so a scope given back later needs consent again.
    user_grant::issue(
        state,
        &grant,
        scope.to_scope_string(),
        &allowed.to_scope_string(),
        Some(Spent::Refresh(Rotation {
            token_hash: &hash,
            presented,
            grace: grace > 0,
        })),
        crate::store::grants::last_use_is_stale(old.last_used_at, now),
    )
    .await
}

/// What a refresh may issue.
struct Narrowed {
    /// Still registered and open to the client.
    resource: Resource,
    /// The new access token's scope: `allowed`, or less when the request asks for less.
    scope: ScopeSet,
    /// What the refresh token still carries (`policy::still_permitted`).
    allowed: ScopeSet,
}

enum Refusal {
    /// Nothing of the grant's scope is permitted any more: the grant ends.
    NothingLeft,
    Error(OAuthError),
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Self {
        Refusal::Error(e)
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::Error(e.into())
    }
}

/// The resource and scopes of the new tokens: they may only narrow what the refresh token
/// holds, and what it holds narrows to what the admin permits today.
async fn narrowed(
    state: &AppState,
    client: &Client,
    params: &Params,
    old: &RefreshForIssue,
) -> Result<Narrowed, Refusal> {
    for requested in params.get_all("resource") {
        if resource::canonicalize(requested).ok().as_deref() != Some(old.resource.as_str()) {
            return Err(OAuthError::invalid_target("a refresh may not change the resource").into());
        }
    }
    let resource = crate::oauth::lookup::resource(state, &old.resource).await?;
    let Some(resource) = resource.filter(|r| policy::client_may_use(client, r)) else {
        return Err(OAuthError::invalid_grant(
            "the resource is no longer available to this client",
        )
        .into());
    };
    // The grant's scope carries an admin's narrowing written while this token waited (a
    // grant with no scope recorded, as `authorization_code` allows for, narrows nothing).
    let mut stored = ScopeSet::from_stored(&old.scope);
    if !old.grant_scope.is_empty() {
        stored = stored.intersection(&ScopeSet::from_stored(&old.grant_scope));
    }
    let allowed = policy::still_permitted(&stored, client, &resource);
    if allowed.is_empty() {
        return Err(Refusal::NothingLeft);
    }
    // `offline_access` in a refresh's `scope` asks for nothing new (SEP-2207 clients send
    // their original scope back); narrowing is judged against what the grant's scopes
    // imply today, so a token granted `mcp:write` may be narrowed to an implied `mcp:read`.
    let scope = match params.get("scope") {
        None => allowed.clone(),
        Some(value) => {
            let parsed = ScopeSet::parse(value).map_err(OAuthError::invalid_scope)?;
            let only_offline = parsed.contains(scope::OFFLINE_ACCESS);
            let requested = scope::without_offline_access(parsed);
            if requested.is_empty() && only_offline {
                allowed.clone()
            } else {
                let implied = scope::implications(state).closure(&allowed);
                if requested.is_empty() || !requested.is_subset(&implied) {
                    return Err(
                        OAuthError::invalid_scope("a refresh may only narrow the scope").into(),
                    );
                }
                requested
            }
        }
    };
    Ok(Narrowed {
        resource,
        scope,
        allowed,
    })
}

/// Inside the grace window, the token `presented` was rotated a moment ago: answer with
/// the successor that rotation issued, provided that successor is still the grant's live,
/// unused refresh token. Anything else is a reuse.
pub(crate) async fn redeliver(
    state: &AppState,
    grant: &UserGrant<'_>,
    presented: &str,
    hash: &str,
    scope: String,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let client_id = grant.client.client_id.as_str();
    let Some(sealed) = state.store.refresh_successor(hash).await? else {
        // Rotated by a version that kept no successor (a rolling upgrade), a moment ago:
        // refused, but no evidence of theft.
        return Err(OAuthError::invalid_grant(
            "the refresh token was rotated a moment ago; use its successor",
        ));
    };
    let next = successor::open(presented, &sealed);
    let current = match &next {
        Some(next) => state.store.refresh_token(&random::sha256_b64(next)).await?,
        None => None,
    };
    let live = current.is_some_and(|row| {
        row.grant_id == grant.grant_id
            && row.client_id == client_id
            && row.rotated_at.is_none()
            && row.expires_at > now
    });
    if !live {
        return Err(revoke_leaked(state, grant.grant_id, client_id, Leaked::RefreshToken).await?);
    }
    access_token_response(state, grant, scope, next)
}
