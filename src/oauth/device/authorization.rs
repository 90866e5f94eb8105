//! The device authorization endpoint (RFC 8628 §3.1, §3.2). A client with the device grant
//! authenticates as it would at `/token` (public clients name themselves); `resource` and
//! `scope` are resolved by the rules `/authorize` uses (`policy::resolve_resource`,
//! `policy::resolve_scope`). The answer carries the device code and the user code in the
//! clear once; only their hashes are stored.

use serde::Serialize;

use crate::crypto::random;
use crate::domain::GrantType;
use crate::limits::{self, Refusal};
use crate::net::AddressKey;
use crate::oauth::client_auth::{self, Credentials};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::metadata::paths;
use crate::oauth::params::Params;
use crate::oauth::policy;
use crate::state::AppState;
use crate::store::device::NewDeviceCode;

use super::{DEVICE_CODE_TTL, POLL_INTERVAL, user_code};

/// RFC 8628 §3.2.
#[derive(Debug, Serialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Draws of a user code before giving up: a collision with a live code is about one in
/// 2.6 × 10^7 per thousand live codes, so a second draw is already rare.
const USER_CODE_DRAWS: usize = 3;

pub async fn handle(
    state: &AppState,
    authorization: Option<&str>,
    params: &Params,
    address: AddressKey,
) -> Result<DeviceAuthorizationResponse, OAuthError> {
    let creds: Credentials = client_auth::credentials(authorization, params)?;
    let authenticated = client_auth::authenticate(state, creds).await?;
    let client = &authenticated.client;
    if !client.allows(GrantType::DeviceCode) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the device authorization grant",
        ));
    }
    let resources: Vec<&str> = params.get_all("resource").collect();
    let resource = policy::resolve_resource(state, client, &resources).await?;
    let scope = policy::resolve_scope(client, &resource, params.get("scope"))?;
    // Counted only for requests that would store a row.
    if let Err(e) = limits::admit_device_authorization(state, address).await {
        return Err(match e.downcast_ref::<Refusal>() {
            Some(Refusal::Rate(_)) => OAuthError::new(
                ErrorCode::SlowDown,
                "too many device authorizations from this address; retry in a minute",
            ),
            Some(Refusal::Full) => OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "too many device authorizations are pending; retry in a moment",
            ),
            None => OAuthError::from(e),
        });
    }

    let now = state.clock.now();
    let device_code = random::token();
    let device_code_hash = random::sha256_b64(&device_code);
    let id = random::token();
    let scope = scope.to_scope_string();
    for _ in 0..USER_CODE_DRAWS {
        let shown = user_code::generate();
        let Some(normalised) = user_code::normalise(&shown) else {
            continue;
        };
        let row = NewDeviceCode {
            id: &id,
            device_code_hash: &device_code_hash,
            user_code_hash: &user_code::hash(&normalised),
            client_id: &client.client_id,
            resource: &resource.uri,
            scope: &scope,
            poll_interval: POLL_INTERVAL,
            created_at: now,
            expires_at: now + DEVICE_CODE_TTL,
        };
        match state.store.insert_device_code(&row).await {
            Ok(()) => {
                let verification_uri = state.settings.issuer.endpoint(paths::DEVICE_VERIFICATION);
                return Ok(DeviceAuthorizationResponse {
                    device_code,
                    verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
                    user_code: shown,
                    verification_uri,
                    expires_in: DEVICE_CODE_TTL,
                    interval: POLL_INTERVAL,
                });
            }
            Err(e) if crate::store::is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OAuthError::from(anyhow::anyhow!(
        "no free user code after {USER_CODE_DRAWS} draws"
    )))
}
