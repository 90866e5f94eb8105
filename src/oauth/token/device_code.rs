//! The device code grant at the token endpoint (RFC 8628 §3.4, §3.5). Each poll is one
//! SHA-256 and one indexed statement (`Store::poll_device_code`), which also grows the
//! interval of a client polling too soon: polling costs the client, not the server. An
//! approved code is spent in the transaction that records its tokens; a second use by its
//! client means it leaked, and the grant goes, as for an authorization code.

use crate::domain::DeviceStatus;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::oauth::token::user_grant::{self, Consented, Leaked, Spent, revoke_leaked};
use crate::oauth::token::{TokenContext, TokenResponse};
use crate::state::AppState;

/// The longest `device_code` looked up; ours are 43 characters.
const MAX_DEVICE_CODE_CHARS: usize = 256;

pub async fn exchange(
    state: &AppState,
    authenticated: &AuthenticatedClient,
    params: &Params,
    ctx: &TokenContext,
) -> Result<TokenResponse, OAuthError> {
    let client = &authenticated.client;
    let code = params
        .require("device_code")
        .map_err(OAuthError::invalid_request)?;
    if code.len() > MAX_DEVICE_CODE_CHARS {
        return Err(OAuthError::invalid_request("device_code is too long"));
    }
    let now = state.clock.now();
    let hash = crate::crypto::random::sha256_b64(code);
    let Some(row) = state
        .store
        .poll_device_code(&hash, &client.client_id, now)
        .await?
    else {
        return Err(OAuthError::invalid_grant("the device code is invalid"));
    };
    if row.consumed_at.is_some() {
        return Err(match &row.grant_id {
            Some(grant_id) => {
                revoke_leaked(state, grant_id, &client.client_id, Leaked::DeviceCode).await?
            }
            None => OAuthError::invalid_grant("the device code was already used"),
        });
    }
    if row.expires_at <= now {
        return Err(OAuthError::polling(
            ErrorCode::ExpiredToken,
            "the device code has expired; start a new device authorization",
        ));
    }
    match row.status {
        DeviceStatus::Pending if row.slowed => Err(OAuthError::polling(
            ErrorCode::SlowDown,
            format!(
                "polling too often; wait at least {} seconds between requests",
                row.poll_interval
            ),
        )),
        DeviceStatus::Pending => Err(OAuthError::polling(
            ErrorCode::AuthorizationPending,
            "the user has not answered yet",
        )),
        DeviceStatus::Denied => Err(OAuthError::polling(
            ErrorCode::AccessDenied,
            "the user denied the request",
        )),
        DeviceStatus::Approved => {
            let grant = match &row.grant_id {
                Some(id) => state.store.device_grant(id).await?.map(|g| (id, g)),
                None => None,
            };
            let Some((grant_id, grant)) = grant else {
                return Err(OAuthError::invalid_grant(
                    "the authorization is no longer valid",
                ));
            };
            let consented = Consented {
                grant_id,
                user_id: &grant.user_id,
                resource: &row.resource,
                scope: &row.scope,
                grant_scope: &grant.grant_scope,
                last_used_at: grant.last_used_at,
                status: &grant.status,
            };
            user_grant::redeem(
                state,
                authenticated,
                ctx,
                &consented,
                Spent::DeviceCode(&hash),
            )
            .await
        }
    }
}
