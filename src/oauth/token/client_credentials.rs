//! The client credentials grant (RFC 6749 §4.4) for agents: a confidential client gets an
//! access token for one registered resource (RFC 8707), bound to its long-lived
//! client_credentials grant so that revocation can find it. A workload that proved itself
//! with its platform JWT (`jwt_bearer::workload`) is issued for the same way (`issue`).

use crate::domain::{Client, ResourceWithGrant};
use crate::oauth::access_token::{self, AccessTokenClaims, Confirmation};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::policy;
use crate::oauth::token::{TokenContext, TokenResponse};
use crate::state::AppState;

pub async fn exchange(
    state: &AppState,
    authenticated: &AuthenticatedClient,
    params: &Params,
    ctx: &TokenContext,
) -> Result<TokenResponse, OAuthError> {
    if !authenticated.is_confidential() {
        return Err(OAuthError::unauthorized_client(
            "client_credentials needs a confidential client",
        ));
    }
    issue(state, &authenticated.client, params, ctx).await
}

/// A token for `client`, which has proved who it is, for the `resource` and `scope` it
/// asks: the client's own long-lived grant for that resource carries it.
pub async fn issue(
    state: &AppState,
    client: &Client,
    params: &Params,
    ctx: &TokenContext,
) -> Result<TokenResponse, OAuthError> {
    let requested: Vec<&str> = params.get_all("resource").collect();
    let now = state.clock.now();
    // The hot path: one read fetches the resource and the client's live grant for it.
    let mut cached = false;
    let (resource, live_grant) = match policy::requested_uri(client, &requested)? {
        Some(uri) => {
            let found = match state.hot.resource(&uri, &client.client_id, now) {
                Some(hit) => {
                    cached = hit.cc_grant.is_some();
                    Some(hit)
                }
                None => {
                    state
                        .store
                        .resource_with_client_grant(&uri, &client.client_id)
                        .await?
                }
            };
            let (resource, grant) = found
                .map(|f| (Some(f.resource), f.cc_grant))
                .unwrap_or((None, None));
            (policy::usable(client, &uri, resource)?, grant)
        }
        None => (
            policy::resolve_resource(state, client, &requested).await?,
            None,
        ),
    };
    let scope = policy::resolve_scope(client, &resource, params.get("scope"))?;
    dpop::policy::check(client, &resource, None, ctx.dpop.as_ref())?;
    let grant_id = match live_grant {
        Some(id) => id,
        None => {
            state
                .store
                .client_credentials_grant(&client.client_id, &resource.uri, now)
                .await?
        }
    };
    if !cached {
        state.hot.put_resource(
            &resource.uri,
            &client.client_id,
            &ResourceWithGrant {
                resource: resource.clone(),
                cc_grant: Some(grant_id.clone()),
            },
            now,
        );
    }
    let ttl = policy::access_token_ttl(state, &resource);
    // The closure under the scope hierarchy, as for user grants (`scope::token_scope`).
    let scope = crate::oauth::scope::token_scope(state, &scope).to_scope_string();
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.as_str().to_owned(),
        sub: client.client_id.clone(),
        aud: resource.uri,
        client_id: client.client_id.clone(),
        scope,
        iat: now,
        exp: now + ttl,
        jti: uuid::Uuid::now_v7().simple().to_string(),
        gid: grant_id,
        act: None,
        may_act: None,
        cnf: Confirmation::of(ctx.dpop.as_ref()),
    };
    let access_token = access_token::mint(state, &claims)?;
    Ok(TokenResponse::bearer(
        access_token,
        ttl,
        claims.scope,
        claims.aud,
    ))
}
