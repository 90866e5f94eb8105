//! The token endpoint (RFC 6749 §3.2, §5): client authentication once, the DPoP proof
//! once (RFC 9449 §5), then a closed match over the grant types we support.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod id_jag_issue;
pub mod jwt_bearer;
pub mod refresh_token;
pub mod token_exchange;
pub mod user_grant;

use serde::Serialize;

use crate::oauth::client_auth::{self, Credentials};
use crate::oauth::dpop::{self, DpopHeader, Jkt};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::state::AppState;

pub use crate::domain::{Client, GrantType};

/// The one rule for refresh tokens (SEP-2207, OAuth 2.1 §4.3): a user's grant issues one
/// (at the code exchange, and a successor at each refresh) exactly when the client is
/// registered with the `refresh_token` grant type. Whether the request carried
/// `offline_access` does not change it: SDK clients that ask for it register the grant
/// type too and get refresh tokens, and clients that never heard of it (the conformance
/// suite's, FastMCP's, most in use) keep getting the refresh tokens they registered for.
/// The user consents to it in words: the consent page says "stay signed in" exactly when
/// this is true (`oauth::authorize::ConsentPrompt::stays_signed_in`). No other grant
/// issues a refresh token.
pub fn issues_refresh_token(client: &Client) -> bool {
    client.allows(GrantType::RefreshToken)
}

/// A successful token response (RFC 6749 §5.1): every member present, never null.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// RFC 8693 §2.2.1, token exchange only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
    /// OIDC Core §3.1.3.3: the code exchange of an `openid` request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The next DPoP nonce (RFC 9449 §8.2): a response header, not a member.
    #[serde(skip)]
    pub dpop_nonce: Option<String>,
    /// Whom the token is for (the access token's `aud`, an ID-JAG's resource): the
    /// `resource` label of the tokens-issued metric, not a member.
    #[serde(skip)]
    pub audience: String,
}

/// What a token request proved beyond its parameters, checked once before any grant runs.
#[derive(Debug, Default)]
pub struct TokenContext {
    /// The key of the request's verified DPoP proof (RFC 9449 §4.3): the access token is
    /// bound to it (`cnf.jkt`), and so is a public client's refresh token.
    pub dpop: Option<Jkt>,
}

impl TokenResponse {
    /// A bearer access token for `audience` alone: no refresh token, no RFC 8693
    /// `issued_token_type`.
    pub fn bearer(
        access_token: String,
        expires_in: i64,
        scope: String,
        audience: String,
    ) -> TokenResponse {
        TokenResponse {
            access_token,
            audience,
            token_type: "Bearer",
            expires_in,
            scope,
            refresh_token: None,
            issued_token_type: None,
            dpop_nonce: None,
            id_token: None,
        }
    }
}

pub async fn handle(
    state: &AppState,
    authorization: Option<&str>,
    dpop_header: DpopHeader<'_>,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = params
        .require("grant_type")
        .map_err(OAuthError::invalid_request)?;
    let Ok(grant_type) = grant_type.parse::<GrantType>() else {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {grant_type:?} is not supported"),
        ));
    };
    // A workload's platform JWT is its only credential (SEP-1933): it names the client.
    if grant_type == GrantType::JwtBearer
        && jwt_bearer::workload::is_workload_request(authorization, params)
    {
        let proof = dpop::at_token(state, dpop_header).await?;
        let ctx = TokenContext {
            dpop: proof.as_ref().map(|p| p.jkt.clone()),
        };
        let response = jwt_bearer::workload::exchange(state, params, &ctx).await?;
        crate::measure::token_issued(grant_type, &response.audience);
        return Ok(bound(response, proof));
    }
    let creds: Credentials = client_auth::credentials(authorization, params)?;
    let client = client_auth::authenticate(state, creds).await?;
    if !state.token_limiter.allow(&client.client.client_id) {
        return Err(OAuthError::new(
            ErrorCode::SlowDown,
            "too many token requests from this client; retry after a second",
        ));
    }
    if !client.client.allows(grant_type) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the {} grant",
            grant_type.as_str()
        )));
    }
    let proof = dpop::at_token(state, dpop_header).await?;
    let ctx = TokenContext {
        dpop: proof.as_ref().map(|p| p.jkt.clone()),
    };
    let response = match grant_type {
        GrantType::AuthorizationCode => {
            authorization_code::exchange(state, &client, params, &ctx).await
        }
        GrantType::RefreshToken => refresh_token::exchange(state, &client, params, &ctx).await,
        GrantType::ClientCredentials => {
            client_credentials::exchange(state, &client, params, &ctx).await
        }
        GrantType::DeviceCode => device_code::exchange(state, &client, params, &ctx).await,
        GrantType::TokenExchange => token_exchange::exchange(state, &client, params, &ctx).await,
        GrantType::JwtBearer => jwt_bearer::exchange(state, &client, params, &ctx).await,
    }?;
    crate::measure::token_issued(grant_type, &response.audience);
    Ok(bound(response, proof))
}

/// The response of a grant that put `ctx.dpop` into the token's `cnf` (RFC 9449 §5.1).
fn bound(mut response: TokenResponse, proof: Option<dpop::Accepted>) -> TokenResponse {
    if let Some(proof) = proof {
        // Every grant put `ctx.dpop` into the access token's `cnf` (RFC 9449 §5.1). An
        // ID-JAG (`N_A`) is no access token: it keeps its type.
        if response.token_type == "Bearer" {
            response.token_type = "DPoP";
        }
        response.dpop_nonce = proof.next_nonce;
    }
    response
}
