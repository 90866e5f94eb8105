//! Token introspection (RFC 7662 §2, §4). The caller authenticates as a confidential
//! client (a public client has nothing to authenticate with); a token is
//! reported active only when it is ours, unexpired, its grant is live, and its audience is
//! a resource the caller serves, so a resource server learns nothing of others' tokens.
//! A DPoP-bound token reports `token_type` `DPoP` and its `cnf` (RFC 9449 §6.2).

use serde::Serialize;

use crate::oauth::access_token::{self, Confirmation};
use crate::oauth::client_auth;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<ActiveToken>,
}

#[derive(Debug, Serialize)]
pub struct ActiveToken {
    pub scope: String,
    pub client_id: String,
    pub sub: String,
    pub aud: String,
    pub iss: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
    /// RFC 9449 §6.2: the key a DPoP-bound token needs a proof by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

const INACTIVE: Introspection = Introspection {
    active: false,
    details: None,
};

pub async fn handle(
    state: &AppState,
    authorization: Option<&str>,
    params: &Params,
) -> Result<Introspection, OAuthError> {
    let token = params
        .require("token")
        .map_err(OAuthError::invalid_request)?;
    let creds = client_auth::credentials(authorization, params)?;
    let authenticated = client_auth::authenticate(state, creds).await?;
    // A public client only names itself: anyone could, so it may not read token claims.
    if !authenticated.is_confidential() {
        return Err(OAuthError::invalid_client(false));
    }
    let caller = authenticated.client;

    let now = state.clock.now();
    let Some(claims) = access_token::verify(state, token, now) else {
        return Ok(INACTIVE);
    };
    if !caller.serves(&claims.aud) {
        return Ok(INACTIVE);
    }
    if !crate::oauth::lookup::grant_is_live(state, &claims.gid).await? {
        return Ok(INACTIVE);
    }
    Ok(Introspection {
        active: true,
        details: Some(ActiveToken {
            scope: claims.scope,
            client_id: claims.client_id,
            sub: claims.sub,
            aud: claims.aud,
            iss: claims.iss,
            exp: claims.exp,
            iat: claims.iat,
            jti: claims.jti,
            // RFC 9449 §6.2: a bound token is a DPoP token, not a bearer one.
            token_type: if claims.cnf.is_some() {
                "DPoP"
            } else {
                "Bearer"
            },
            act: claims.act,
            cnf: claims.cnf,
        }),
    })
}
