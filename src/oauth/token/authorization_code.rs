//! The authorization code grant at the token endpoint (OAuth 2.1 §4.1.3, RFC 7636 §4.6,
//! RFC 8707 §2.2). The code is spent in the transaction that records its tokens, so a
//! crash leaves either an unused code or a used code with its tokens. A second use of a
//! code, by its client with the right verifier, revokes the grant it came from and every
//! token issued from it; a request that fails those checks spends and revokes nothing.
//!
//! DPoP (RFC 9449 §10): a code whose authorization request named `dpop_jkt` is redeemed by
//! a proof of that key alone. A request that passed every check above but brings another
//! key, or none, holds the code and its verifier without the key: the code is spent without
//! tokens, so it cannot be tried again, and its rightful client's later use counts as a
//! replay (the grant is revoked). The other DPoP requirements (the client's
//! `dpop_bound_access_tokens`, the resource's `require_dpop`) spend nothing when they
//! refuse: nothing was bound, and the client simply retries with a proof.

use crate::crypto::random;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop::{self, Jkt};
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::policy;
use crate::oauth::scope::ScopeSet;
use crate::oauth::token::user_grant::{self, Leaked, Spent, UserGrant, revoke_leaked};
use crate::oauth::token::{TokenContext, TokenResponse};
use crate::oauth::{id_token, pkce, resource};
use crate::state::AppState;
use crate::store::authorization::{CodeForIssue, Spend};

pub async fn exchange(
    state: &AppState,
    authenticated: &AuthenticatedClient,
    params: &Params,
    ctx: &TokenContext,
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
        .filter(|row| row.code.client_id == client.client_id);
    let Some(CodeForIssue {
        code: row,
        grant_scope,
        last_used_at,
        status,
    }) = row
    else {
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
        return Err(revoke_leaked(state, &row.grant_id, &client.client_id, Leaked::Code).await?);
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
    let resource = crate::oauth::lookup::resource(state, &row.resource).await?;
    let Some(resource) = resource.filter(|_| status.is_live()) else {
        return Err(OAuthError::invalid_grant(
            "the authorization is no longer valid",
        ));
    };
    let bound = row.dpop_jkt.as_deref().map(stored_key).transpose()?;
    if let Err(refusal) = dpop::policy::check(client, &resource, bound.as_ref(), ctx.dpop.as_ref())
    {
        if bound.is_some() {
            let spend = Spend::Code {
                code_hash: &code_hash,
                client_id: &client.client_id,
            };
            state
                .store
                .record_issue(&row.grant_id, now, Some(spend), None, false)
                .await?;
        }
        return Err(refusal);
    }
    let touch = crate::store::grants::last_use_is_stale(last_used_at, now);
    // The refresh token may later reach back to everything the user granted this client,
    // and both narrow to what the admin permits now (an admin may narrow the client or the
    // resource between consent and redemption).
    let refresh_scope = if grant_scope.is_empty() {
        &row.scope
    } else {
        &grant_scope
    };
    let refresh_scope =
        policy::still_permitted(&ScopeSet::from_stored(refresh_scope), client, &resource);
    if refresh_scope.is_empty() {
        let event = AuditEvent::new(AuditKind::GrantRevoked, Actor::system(), now)
            .failed("no scope of this authorization is available to the client any more");
        state.store.revoke_grant(&row.grant_id, now, event).await?;
        crate::measure::grants_revoked(crate::measure::Revocation::ScopeWithdrawn, 1);
        return Err(OAuthError::invalid_scope(
            "no scope of this authorization is available to the client any more",
        ));
    }
    let scope = policy::still_permitted(&ScopeSet::from_stored(&row.scope), client, &resource);
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "no scope of this code is available to the client any more",
        ));
    }
    let (dpop, refresh_binding) = UserGrant::bindings(authenticated, ctx);
    let id_token = match &row.openid_scope {
        Some(openid_scope) => {
            let subject = id_token::Subject {
                user_id: &row.user_id,
                client_id: &client.client_id,
                grant_id: &row.grant_id,
                auth_time: row.auth_time.unwrap_or(row.created_at),
                nonce: row.nonce.as_deref(),
                scope: &ScopeSet::from_stored(openid_scope),
            };
            Some(id_token::claims(state, &subject).await?)
        }
        None => None,
    };
    let grant = UserGrant {
        client,
        grant_id: &row.grant_id,
        user_id: &row.user_id,
        resource: &resource,
        dpop,
        refresh_binding,
    };
    let issued = user_grant::issue(
        state,
        &grant,
        scope.to_scope_string(),
        &refresh_scope.to_scope_string(),
        Some(Spent::Code(&code_hash)),
        touch,
    )
    .await?;
    Ok(TokenResponse {
        id_token: id_token
            .map(|claims| id_token::sign(state, &claims))
            .transpose()?,
        ..issued
    })
}

/// The key a code is bound to, stored from a `dpop_jkt` that was checked on the way in.
fn stored_key(stored: &str) -> Result<Jkt, OAuthError> {
    Jkt::parse(stored)
        .ok_or_else(|| anyhow::anyhow!("the stored dpop_jkt of a code is not a thumbprint").into())
}
