//! The token endpoint (RFC 6749 §3.2, §5): client authentication once, then a closed
//! match over the grant types we support.

pub mod client_credentials;

use serde::Serialize;

use crate::oauth::client_auth::{self, Credentials};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::state::AppState;

/// Grant types Warden knows (RFC 6749 §4.4 so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 1] = [GrantType::ClientCredentials];

    pub fn parse(value: &str) -> Option<GrantType> {
        match value {
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

/// A successful token response (RFC 6749 §5.1): every member always present.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

pub async fn handle(
    state: &AppState,
    authorization: Option<&str>,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = params
        .require("grant_type")
        .map_err(OAuthError::invalid_request)?;
    let Some(grant_type) = GrantType::parse(grant_type) else {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {grant_type:?} is not supported"),
        ));
    };
    let creds: Credentials = client_auth::credentials(authorization, params)?;
    let client = client_auth::authenticate(state, creds).await?;
    if !client
        .client
        .grant_types
        .split(' ')
        .any(|g| g == grant_type.as_str())
    {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the {} grant",
            grant_type.as_str()
        )));
    }
    match grant_type {
        GrantType::ClientCredentials => client_credentials::exchange(state, &client, params).await,
    }
}
