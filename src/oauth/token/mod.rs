//! The token endpoint (RFC 6749 §3.2, §5): client authentication once, then a closed
//! match over the grant types we support.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;
pub mod token_exchange;

use serde::Serialize;

use crate::crypto::random;
use crate::oauth::access_token::{self, AccessTokenClaims};
use crate::oauth::client_auth::{self, Credentials};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::store::authorization::{RefreshTokenRow, Spend};
use crate::store::clients::ClientRow;

/// Grant types Warden knows (RFC 6749 §4.1, §4.4, §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    TokenExchange,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::TokenExchange,
    ];

    pub fn parse(value: &str) -> Option<GrantType> {
        match value {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            token_exchange::GRANT_TYPE => Some(GrantType::TokenExchange),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::TokenExchange => token_exchange::GRANT_TYPE,
        }
    }
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
    if !state.token_limiter.allow(&client.client.client_id) {
        return Err(OAuthError::new(
            ErrorCode::SlowDown,
            "too many token requests from this client; retry after a second",
        ));
    }
    if !allows(&client.client, grant_type) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the {} grant",
            grant_type.as_str()
        )));
    }
    match grant_type {
        GrantType::AuthorizationCode => authorization_code::exchange(state, &client, params).await,
        GrantType::RefreshToken => refresh_token::exchange(state, &client, params).await,
        GrantType::ClientCredentials => client_credentials::exchange(state, &client, params).await,
        GrantType::TokenExchange => token_exchange::exchange(state, &client, params).await,
    }
}

pub fn allows(client: &ClientRow, grant: GrantType) -> bool {
    client.grant_types.split(' ').any(|g| g == grant.as_str())
}

/// What a user-grant issuance spends, in the same transaction that records it.
pub(crate) enum Spent<'a> {
    /// The hash of the authorization code being redeemed.
    Code(&'a str),
    /// The refresh token being rotated.
    Refresh(Rotation<'a>),
}

/// The refresh token a request presented, rotated out in the same transaction that
/// stores its successor.
pub(crate) struct Rotation<'a> {
    pub token_hash: &'a str,
    pub presented: &'a str,
    /// Keep the successor (sealed under `presented`) for requests racing this rotation,
    /// which get it back (`refresh_token::redeliver`) instead of a reuse revocation.
    pub grace: bool,
}

/// Mints the access token of a user grant and, for clients registered for it, a fresh
/// refresh token (stored as a hash) carrying `refresh_scope`. The database work (rotation,
/// new refresh token, last use) is one transaction: one commit per issuance.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn issue_for_user(
    state: &AppState,
    client: &ClientRow,
    grant_id: &str,
    user_id: &str,
    resource: &crate::store::resources::ResourceRow,
    scope: String,
    refresh_scope: &str,
    spent: Option<Spent<'_>>,
    touch: bool,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let refresh_token = allows(client, GrantType::RefreshToken).then(random::token);
    let row = refresh_token.as_ref().map(|token| RefreshTokenRow {
        token_hash: random::sha256_b64(token),
        grant_id: grant_id.to_owned(),
        client_id: client.client_id.clone(),
        scope: refresh_scope.to_owned(),
        created_at: now,
        expires_at: now + state.settings.refresh_token_ttl,
        rotated_at: None,
    });
    let sealed = match (&spent, &refresh_token) {
        (Some(Spent::Refresh(r)), Some(successor)) if r.grace => {
            Some(crate::crypto::successor::seal(r.presented, successor)?)
        }
        _ => None,
    };
    let spend = spent.as_ref().map(|s| match s {
        Spent::Code(code_hash) => Spend::Code {
            code_hash,
            client_id: &client.client_id,
        },
        Spent::Refresh(r) => Spend::Refresh {
            token_hash: r.token_hash,
            client_id: &client.client_id,
            successor_sealed: sealed.as_deref(),
        },
    });
    let recorded = state
        .store
        .record_issue(grant_id, now, spend, row.as_ref(), touch)
        .await?;
    if !recorded {
        // A concurrent request spent the code or the refresh token a moment ago.
        return match spent {
            Some(Spent::Refresh(r)) if r.grace => {
                refresh_token::redeliver(
                    state,
                    client,
                    r.presented,
                    r.token_hash,
                    grant_id,
                    user_id,
                    resource,
                    scope,
                )
                .await
            }
            Some(Spent::Refresh(_)) => {
                Err(refresh_token::reuse(state, grant_id, &client.client_id, now).await?)
            }
            _ => Err(authorization_code::replayed(state, grant_id, &client.client_id, now).await?),
        };
    }
    access_token_response(
        state,
        client,
        grant_id,
        user_id,
        resource,
        scope,
        refresh_token,
    )
}

/// The RFC 9068 access token of a user grant, in a token response beside `refresh_token`.
pub(crate) fn access_token_response(
    state: &AppState,
    client: &ClientRow,
    grant_id: &str,
    user_id: &str,
    resource: &crate::store::resources::ResourceRow,
    scope: String,
    refresh_token: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let ttl = crate::oauth::policy::access_token_ttl(state, resource);
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.as_str().to_owned(),
        sub: user_id.to_owned(),
        aud: resource.uri.clone(),
        client_id: client.client_id.clone(),
        scope,
        iat: now,
        exp: now + ttl,
        jti: uuid::Uuid::now_v7().simple().to_string(),
        gid: grant_id.to_owned(),
        act: None,
        may_act: None,
    };
    let access_token = access_token::mint(state, &claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope: claims.scope,
        refresh_token,
        issued_token_type: None,
    })
}
