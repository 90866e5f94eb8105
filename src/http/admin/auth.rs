//! Bearer authentication of the admin API (RFC 6750 §2.1, §3): a live Warden access token
//! for `{issuer}/admin` carrying `warden:admin`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use super::{ApiError, ErrorCode};
use crate::admin::resources::ADMIN_AUDIENCE_PATH;
use crate::domain::Actor;
use crate::oauth::access_token;
use crate::oauth::scope::{ADMIN_SCOPE, ScopeSet};
use crate::state::AppState;

/// Proof that the request carries a live admin token. Every admin handler takes it as its
/// first argument, and the route table (`super::routes`) accepts no handler that does not,
/// so no admin route can skip the check. It names the admin client, the actor of what the
/// request changes.
#[derive(Debug)]
pub struct AdminCaller {
    client_id: String,
}

impl AdminCaller {
    /// Who the audit log says acted.
    pub fn actor(&self) -> Actor {
        Actor::admin_client(&self.client_id)
    }
}

impl FromRequest for AdminCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<AdminCaller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| super::internal(anyhow::anyhow!("no application state")))?;
            let client_id = require_admin(state, &req).await?;
            Ok(AdminCaller { client_id })
        })
    }
}

/// Checks the token; returns the admin client's id.
async fn require_admin(state: &AppState, req: &HttpRequest) -> Result<String, ApiError> {
    let realm = "Bearer realm=\"warden-admin\"";
    let unauthorized = |detail: &str, with_error: bool| ApiError {
        www_authenticate: Some(if with_error {
            format!("{realm}, error=\"invalid_token\", error_description=\"{detail}\"")
        } else {
            realm.to_owned()
        }),
        ..ApiError::new(ErrorCode::InvalidToken, detail)
    };
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(unauthorized("a bearer token is required", false));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or_else(|| unauthorized("use the Bearer scheme", true))?;
    let now = state.clock.now();
    let claims = access_token::verify(state, token, now)
        .filter(|c| c.aud == state.settings.issuer.endpoint(ADMIN_AUDIENCE_PATH))
        .ok_or_else(|| {
            unauthorized(
                "the token is invalid, expired, or not for the admin API",
                true,
            )
        })?;
    // RFC 9449 §7.2: a DPoP-bound token is not a bearer token, and the admin API takes no
    // proofs, so such a token is refused here whoever holds it.
    if claims.cnf.is_some() {
        return Err(unauthorized(
            "a DPoP-bound token is not accepted as a bearer token",
            true,
        ));
    }
    let live = state
        .store
        .grant_status(&claims.gid)
        .await
        .map_err(|e| super::internal(e.into()))?
        .is_some_and(|g| g.revoked_at.is_none() && g.client_enabled && g.user_enabled);
    if !live {
        return Err(unauthorized("the token has been revoked", true));
    }
    if !ScopeSet::from_stored(&claims.scope).contains(ADMIN_SCOPE) {
        return Err(ApiError {
            www_authenticate: Some(format!(
                "{realm}, error=\"insufficient_scope\", scope=\"{ADMIN_SCOPE}\""
            )),
            ..ApiError::new(
                ErrorCode::InsufficientScope,
                format!("the token lacks {ADMIN_SCOPE}"),
            )
        });
    }
    Ok(claims.client_id)
}
