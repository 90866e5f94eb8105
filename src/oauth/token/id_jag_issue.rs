//! Warden as the enterprise IdP: token exchange (RFC 8693 §2) for an Identity Assertion
//! JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant §4.3, the MCP
//! extension "Enterprise-Managed Authorization").
//!
//! A client that signed its user in at Warden presents the ID token (or access token)
//! Warden issued *to it* for that user, and asks for an ID-JAG naming another
//! authorization server (`audience`, its issuer) and its MCP server (`resource`). Which
//! client may ask for which audience, resource and scopes is admin policy
//! (`id_jag_policies`); the client the ID-JAG names is the client's id at the other
//! server, also from the policy. Nothing is stored but the audit event, which every
//! attempt writes, issued or refused; an ID-JAG whose issuance cannot be audited is not
//! issued. Errors follow RFC 8693 §2.2.2: a subject token that is not acceptable is
//! `invalid_request`, an audience or resource outside the policy `invalid_target`.

use serde::Serialize;
use serde_json::json;

use crate::clock::UnixTime;
use crate::crypto::keys::JwtType;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::scope::ScopeSet;
use crate::oauth::token::TokenResponse;
use crate::oauth::token::token_exchange::ACCESS_TOKEN_TYPE;
use crate::oauth::{access_token, id_token, resource};
use crate::state::AppState;
use crate::store::id_jag::IdJagPolicyRow;

/// The draft's token type for ID-JAGs (§4.3.1 `requested_token_type`, §4.3.2
/// `issued_token_type`).
pub const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// RFC 8693 §3: an OpenID Connect ID token as the subject token.
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// An ID-JAG is redeemed at once by the client; a short life limits a leaked one.
pub const ID_JAG_TTL: i64 = 300;

/// The ID-JAG's claims (draft §3).
#[derive(Debug, Serialize)]
struct IdJagClaims {
    iss: String,
    sub: String,
    aud: String,
    client_id: String,
    jti: String,
    exp: UnixTime,
    iat: UnixTime,
    resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<UnixTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

/// The signed-in user the subject token speaks for.
struct Subject {
    user_id: String,
    auth_time: Option<UnixTime>,
}

/// What the audit log records about an attempt, filled in as the checks go.
#[derive(Default)]
struct Attempt {
    subject: String,
    audience: String,
    resource: String,
    scope: String,
}

/// Whether a token exchange request asks for an ID-JAG.
pub fn requested(params: &Params) -> bool {
    params.get("requested_token_type") == Some(ID_JAG_TYPE)
}

pub async fn issue(
    state: &AppState,
    caller: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let mut attempt = Attempt::default();
    let result = check(state, caller, params, &mut attempt).await;
    let now = state.clock.now();
    let client_id = &caller.client.client_id;
    let mut event = AuditEvent::new(AuditKind::IdJagIssued, Actor::client(client_id), now)
        .client(client_id)
        .subject(&attempt.subject)
        .resource(&attempt.resource)
        .details(json!({ "audience": attempt.audience, "scope": attempt.scope }));
    if let Err(e) = &result {
        event = event.failed(format!("{}: {}", e.code.as_str(), e.description));
    }
    state.store.audit(&event).await?;
    let claims = result?;
    let jag = state.keys.sign(now, JwtType::IdJag, &claims)?;
    tracing::info!(client_id = %client_id, audience = %claims.aud, resource = %claims.resource, "ID-JAG issued");
    Ok(TokenResponse {
        token_type: "N_A",
        issued_token_type: Some(ID_JAG_TYPE),
        ..TokenResponse::bearer(
            jag,
            ID_JAG_TTL,
            claims.scope.unwrap_or_default(),
            claims.resource,
        )
    })
}

/// The checks, in the order their errors are reported.
async fn check(
    state: &AppState,
    caller: &AuthenticatedClient,
    params: &Params,
    attempt: &mut Attempt,
) -> Result<IdJagClaims, OAuthError> {
    if !caller.is_confidential() {
        return Err(OAuthError::unauthorized_client(
            "an ID-JAG needs an authenticated confidential client",
        ));
    }
    if params.get("actor_token").is_some() || params.get("actor_token_type").is_some() {
        return Err(OAuthError::invalid_request(
            "an ID-JAG is issued to the client itself: no actor_token",
        ));
    }
    let token = params
        .require("subject_token")
        .map_err(OAuthError::invalid_request)?;
    let token_type = params
        .require("subject_token_type")
        .map_err(OAuthError::invalid_request)?;
    let client_id = caller.client.client_id.as_str();
    let subject = subject(state, client_id, token, token_type).await?;
    attempt.subject = subject.user_id.clone();
    let policy = policy(state, client_id, params, attempt).await?;
    let scope = scope(params, &policy)?;
    attempt.scope = scope.to_scope_string();
    let email = match policy.include_email {
        true => verified_email(state, &subject.user_id).await?,
        false => None,
    };
    let now = state.clock.now();
    Ok(IdJagClaims {
        iss: state.settings.issuer.as_str().to_owned(),
        sub: subject.user_id,
        aud: policy.audience,
        client_id: policy.remote_client_id,
        jti: uuid::Uuid::now_v7().simple().to_string(),
        exp: now + ID_JAG_TTL,
        iat: now,
        resource: policy.resource,
        scope: (!scope.is_empty()).then(|| scope.to_scope_string()),
        auth_time: subject.auth_time,
        email,
    })
}

/// The user behind a subject token Warden issued to this very client, under a live grant,
/// for an enabled user: someone else's token must not buy an ID-JAG for this client.
async fn subject(
    state: &AppState,
    client_id: &str,
    token: &str,
    token_type: &str,
) -> Result<Subject, OAuthError> {
    let now = state.clock.now();
    let unacceptable = || {
        OAuthError::invalid_request(
            "the subject token is invalid, expired, revoked, or not issued to this client",
        )
    };
    let (user_id, grant_id, auth_time) = match token_type {
        ID_TOKEN_TYPE => {
            let claims = id_token::verify(state, token, now)
                .filter(|c| c.aud == client_id && c.azp == client_id)
                .ok_or_else(unacceptable)?;
            (claims.sub, claims.gid, Some(claims.auth_time))
        }
        ACCESS_TOKEN_TYPE => {
            // A delegated token (`act`) speaks for someone acting, not for the signed-in user.
            let claims = access_token::verify(state, token, now)
                .filter(|c| c.client_id == client_id && c.act.is_none())
                .ok_or_else(unacceptable)?;
            (claims.sub, claims.gid, None)
        }
        _ => {
            return Err(OAuthError::invalid_request(format!(
                "an ID-JAG is issued for a subject_token_type of {ID_TOKEN_TYPE} or \
                 {ACCESS_TOKEN_TYPE}"
            )));
        }
    };
    if !crate::oauth::lookup::grant_is_live(state, &grant_id).await? {
        return Err(unacceptable());
    }
    // A client's own token (client_credentials) names the client, not a user.
    match state.store.user_by_id(&user_id).await? {
        Some(user) if !user.disabled => Ok(Subject { user_id, auth_time }),
        _ => Err(unacceptable()),
    }
}

/// The one policy row for this client, `audience` and `resource` (which may be left out
/// when the client has one resource at that audience).
async fn policy(
    state: &AppState,
    client_id: &str,
    params: &Params,
    attempt: &mut Attempt,
) -> Result<IdJagPolicyRow, OAuthError> {
    let audiences: Vec<&str> = params.get_all("audience").collect();
    let [audience] = audiences.as_slice() else {
        return Err(OAuthError::invalid_request(
            "name the other authorization server's issuer in one audience",
        ));
    };
    attempt.audience = crate::oauth::params::excerpt(audience).to_string();
    let resources: Vec<&str> = params.get_all("resource").collect();
    let wanted = match resources.as_slice() {
        [] => None,
        [one] => Some(resource::canonicalize(one).map_err(OAuthError::invalid_target)?),
        _ => return Err(OAuthError::invalid_target("one resource per ID-JAG")),
    };
    if let Some(uri) = &wanted {
        attempt.resource = uri.clone();
    }
    let mut candidates = state.store.id_jag_policies_for(client_id, audience).await?;
    candidates.retain(|p| wanted.as_ref().is_none_or(|w| *w == p.resource));
    match (candidates.pop(), candidates.is_empty()) {
        (Some(policy), true) => {
            attempt.resource = policy.resource.clone();
            Ok(policy)
        }
        (Some(_), false) => Err(OAuthError::invalid_target(
            "this client may reach several resources there: name one",
        )),
        (None, _) => Err(OAuthError::invalid_target(
            "this client may not obtain an ID-JAG for this audience and resource",
        )),
    }
}

/// The requested scopes within the policy's, or (none requested) all of the policy's.
fn scope(params: &Params, policy: &IdJagPolicyRow) -> Result<ScopeSet, OAuthError> {
    let allowed = ScopeSet::from_stored(&policy.scopes);
    let Some(requested) = params.get("scope") else {
        return Ok(allowed);
    };
    let requested = ScopeSet::parse(requested).map_err(OAuthError::invalid_scope)?;
    let beyond: Vec<&str> = requested.difference(&allowed).collect();
    if !beyond.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "not allowed in an ID-JAG for this resource: {}",
            crate::oauth::params::excerpt(&beyond.join(" "))
        )));
    }
    Ok(requested)
}

/// The email an upstream provider the admin trusts for emails vouched for: the other
/// server may link accounts by it, so an unverified one is never sent.
async fn verified_email(state: &AppState, user_id: &str) -> Result<Option<String>, OAuthError> {
    let mut identities = state.store.identities_of(user_id).await?;
    identities.sort_by_key(|i| std::cmp::Reverse(i.last_login_at));
    for identity in identities.iter().filter(|i| i.email.is_some()) {
        let trusted = state
            .store
            .upstream_provider(&identity.provider_id)
            .await?
            .is_some_and(|p| p.trust_email);
        if trusted {
            return Ok(identity.email.clone());
        }
    }
    Ok(None)
}
