//! Identity Assertion JWT Authorization Grants (draft-ietf-oauth-identity-assertion-authz-grant
//! §3, §4.3, §5; MCP ext-auth Enterprise-Managed Authorization) presented with the JWT bearer
//! grant (RFC 7523 §2.1, §3; errors per §3.1).
//!
//! The enterprise IdP's policy is the consent: no page is shown, but the user's grant is
//! recorded (account page, revocation) and the issuance is audited. Every check runs before
//! anything is written; the `jti`, any subject link or new user, the grant and the audit
//! row are one transaction, so a refused ID-JAG stores nothing.

use josekit::jwk::JwkSet;
use serde_json::{Value, json};

use crate::crypto::foreign_jwt::{ASYMMETRIC_ALGS, unverified_issuer, verifier};
use crate::crypto::random;
use crate::domain::{self, AuditEvent, AuditKind, Consent, EmailRule, Resource, Role, ScopeSet};
use crate::oauth::access_token::{self, AccessTokenClaims, Confirmation};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::oauth::policy;
use crate::oauth::resource;
use crate::oauth::token::{TokenContext, TokenResponse, issues_refresh_token};
use crate::state::AppState;
use crate::store::authorization::RefreshTokenRow;
use crate::store::idps::{IdJagIssuerRow, link_subject, use_jti};
use crate::store::users::UserRow;

/// What metadata's `authorization_grant_profiles_supported` names (ext-auth
/// Enterprise-Managed Authorization).
pub const GRANT_PROFILE: &str = "urn:ietf:params:oauth:grant-profile:id-jag";

/// The JWS `typ` of an ID-JAG (draft §3.1).
pub const TYP: &str = "oauth-id-jag+jwt";

/// Clock skew tolerated on `exp` and `iat`.
const SKEW: i64 = 60;
/// The oldest `iat` we accept and the longest `exp - iat`: an ID-JAG is exchanged at once
/// (the draft recommends a lifetime of minutes), and its `jti` is remembered that long.
const MAX_AGE: i64 = 10 * 60;
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Whether a header `typ` names an ID-JAG: media types compare case-insensitively, and the
/// `application/` prefix may be left out (RFC 7515 §4.1.9).
pub fn is_id_jag_typ(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == TYP || typ.strip_prefix("application/") == Some(TYP)
}

/// An ID-JAG that passed every check.
struct Verified {
    sub: String,
    jti: String,
    exp: i64,
    resource: Vec<String>,
    scope: ScopeSet,
    email: Option<String>,
}

/// Who the token is for: a linked user, or one to link or create in the transaction.
enum Holder {
    Linked(String),
    Link(String),
    Create(UserRow),
}

pub async fn exchange(
    state: &AppState,
    caller: &AuthenticatedClient,
    params: &Params,
    ctx: &TokenContext,
    assertion: &str,
) -> Result<TokenResponse, OAuthError> {
    if !caller.is_confidential() {
        return Err(OAuthError::unauthorized_client(
            "an ID-JAG is exchanged by an authenticated confidential client",
        ));
    }
    let client = &caller.client;
    let issuer = trusted_issuer(state, assertion).await?;
    let jag = verify(state, &issuer, assertion, &client.client_id).await?;
    let resource = target(state, caller, params, &jag).await?;
    dpop::policy::check(client, &resource, None, ctx.dpop.as_ref())?;
    let scope = scope(caller, params, &jag, &resource)?;
    let holder = holder(state, &issuer, &jag).await?;
    let now = state.clock.now();

    let mut tx = state.store.begin().await?;
    if !use_jti(tx.conn(), &issuer.issuer, &jag.jti, jag.exp + SKEW, now).await? {
        return Err(OAuthError::invalid_grant(
            "the ID-JAG has already been used",
        ));
    }
    let (user_id, created) = match holder {
        Holder::Linked(id) => (id, false),
        Holder::Link(id) => {
            link_subject(tx.conn(), &issuer.id, &jag.sub, &id, now).await?;
            (id, false)
        }
        Holder::Create(user) => {
            crate::store::users::insert_user(tx.conn(), &user).await?;
            link_subject(tx.conn(), &issuer.id, &jag.sub, &user.id, now).await?;
            (user.id, true)
        }
    };
    let consent = Consent {
        scope: scope.clone(),
        // Not a consent page's: the IdP decided. A later interactive authorization shows the
        // consent page again, as the user never saw this client's name here.
        fingerprint: crate::store::idps::fingerprint(&issuer.issuer),
    };
    let grant_id = crate::store::grants::record_consent(
        tx.conn(),
        &client.client_id,
        &user_id,
        &resource.uri,
        &consent,
        now,
    )
    .await?;
    let event = AuditEvent::new(
        AuditKind::IdJagAccepted,
        domain::Actor::client(&client.client_id),
        now,
    )
    .client(&client.client_id)
    .subject(&user_id)
    .resource(&resource.uri)
    .grant(&grant_id)
    .details(json!({
        "idp": issuer.issuer,
        "idp_subject": jag.sub,
        "scope": scope.to_scope_string(),
        "user_created": created,
    }));
    tx.audit(event).await?;
    // Only where the admin let this IdP's decisions outlive one access token; otherwise
    // the client comes back with a new ID-JAG, and the IdP decides again.
    let refresh_token = (issuer.refresh_tokens && issues_refresh_token(client)).then(random::token);
    if let Some(token) = &refresh_token {
        let row = RefreshTokenRow {
            token_hash: random::sha256_b64(token),
            grant_id: grant_id.clone(),
            client_id: client.client_id.clone(),
            scope: scope.to_scope_string(),
            created_at: now,
            expires_at: now + state.settings.refresh_token_ttl,
            rotated_at: None,
            // A confidential client's refresh tokens are bound by its authentication
            // (RFC 9449 §5); an ID-JAG is only ever exchanged by one.
            dpop_jkt: None,
        };
        crate::store::authorization::insert_refresh_token(tx.conn(), &row).await?;
    }
    tx.commit().await?;

    let ttl = policy::access_token_ttl(state, &resource);
    // The grant keeps what the IdP granted; the token carries its closure under the scope
    // hierarchy, as every token does (`scope::token_scope`).
    let scope = crate::oauth::scope::token_scope(state, &scope);
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.as_str().to_owned(),
        sub: user_id,
        aud: resource.uri,
        client_id: client.client_id.clone(),
        scope: scope.to_scope_string(),
        iat: now,
        exp: now + ttl,
        jti: uuid::Uuid::now_v7().simple().to_string(),
        gid: grant_id,
        act: None,
        may_act: None,
        cnf: Confirmation::of(ctx.dpop.as_ref()),
    };
    let access_token = access_token::mint(state, &claims)?;
    tracing::info!(client_id = %claims.client_id, idp = %issuer.issuer, resource = %claims.aud, "ID-JAG accepted");
    Ok(TokenResponse {
        refresh_token,
        ..TokenResponse::bearer(access_token, ttl, claims.scope, claims.aud)
    })
}

/// The IdP named by the (not yet verified) `iss`, if an admin trusts it for ID-JAGs.
async fn trusted_issuer(state: &AppState, assertion: &str) -> Result<IdJagIssuerRow, OAuthError> {
    let untrusted =
        || OAuthError::invalid_grant("the ID-JAG is not from a trusted identity provider");
    let name = unverified_issuer(assertion).ok_or_else(untrusted)?;
    state
        .store
        .id_jag_issuer(&name)
        .await?
        .ok_or_else(untrusted)
}

/// Signature (an allowed asymmetric algorithm, a key from the IdP's JWKS) and claims.
async fn verify(
    state: &AppState,
    issuer: &IdJagIssuerRow,
    assertion: &str,
    client_id: &str,
) -> Result<Verified, OAuthError> {
    let bad = |m: &'static str| OAuthError::invalid_grant(m);
    let header =
        josekit::jwt::decode_header(assertion).map_err(|_| bad("the assertion is not a JWT"))?;
    if !header
        .claim("typ")
        .and_then(Value::as_str)
        .is_some_and(is_id_jag_typ)
    {
        return Err(bad("the assertion's typ is not oauth-id-jag+jwt"));
    }
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .unwrap_or("none");
    if !ASYMMETRIC_ALGS.contains(&alg) || !issuer.algorithms.split(' ').any(|a| a == alg) {
        return Err(OAuthError::invalid_grant(format!(
            "algorithm {} is not accepted from this identity provider",
            crate::oauth::params::excerpt(alg)
        )));
    }
    let jwks = state
        .fetcher
        .get(
            crate::fetch::FetchKind::Jwks,
            &issuer.jwks_uri,
            MAX_JWKS_BYTES,
        )
        .await
        .map_err(|e| {
            tracing::warn!(idp = %issuer.issuer, error = %e, "the IdP's JWKS is unavailable");
            OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "the identity provider's keys cannot be fetched; retry later",
            )
        })?;
    let Ok(set) = JwkSet::from_bytes(&jwks) else {
        state.fetcher.forget(&issuer.jwks_uri);
        return Err(OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the identity provider's JWKS is malformed; retry later",
        ));
    };
    let candidates = match header.claim("kid").and_then(Value::as_str) {
        Some(kid) => set.get(kid),
        None => set.keys(),
    };
    let (payload, _) = candidates
        .into_iter()
        .filter_map(|jwk| verifier(alg, jwk))
        .find_map(|v| josekit::jwt::decode_with_verifier(assertion, &*v).ok())
        .ok_or_else(|| bad("the ID-JAG's signature does not verify"))?;
    let claims = payload.claims_set();
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.issuer.as_str()) {
        return Err(bad("the ID-JAG has the wrong issuer"));
    }
    // Draft §3.1: `aud` is this authorization server's issuer, a single string.
    if claims.get("aud").and_then(Value::as_str) != Some(state.settings.issuer.as_str()) {
        return Err(bad(
            "the ID-JAG's aud must be this server's issuer, as a string",
        ));
    }
    if claims.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(bad("the ID-JAG was issued to another client"));
    }
    let now = state.clock.now();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("the ID-JAG has no exp"))?;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("the ID-JAG has no iat"))?;
    if exp <= now - SKEW {
        return Err(bad("the ID-JAG has expired"));
    }
    if iat > now + SKEW {
        return Err(bad("the ID-JAG was issued in the future"));
    }
    if iat < now - MAX_AGE || exp - iat > MAX_AGE {
        return Err(bad("the ID-JAG is too old or lives too long"));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| bad("the ID-JAG has no usable jti"))?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or_else(|| bad("the ID-JAG has no usable sub"))?;
    let resource = match claims.get("resource") {
        Some(Value::String(r)) => vec![r.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let scope = match claims.get("scope") {
        Some(Value::String(s)) => {
            ScopeSet::parse(s).map_err(|_| bad("the ID-JAG's scope is malformed"))?
        }
        None => ScopeSet::default(),
        Some(_) => return Err(bad("the ID-JAG's scope is malformed")),
    };
    let email = match claims.get("email_verified") {
        Some(Value::Bool(true)) => claims
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    Ok(Verified {
        sub: sub.to_owned(),
        jti: jti.to_owned(),
        exp,
        resource,
        scope,
        email,
    })
}

/// The resource (RFC 8707): the ID-JAG's `resource` claim, which the request's `resource`,
/// when sent, must name; registered, enabled and open to this client.
async fn target(
    state: &AppState,
    caller: &AuthenticatedClient,
    params: &Params,
    jag: &Verified,
) -> Result<Resource, OAuthError> {
    let in_jag: Vec<String> = jag
        .resource
        .iter()
        .filter_map(|r| resource::canonicalize(r).ok())
        .collect();
    let requested: Vec<&str> = params.get_all("resource").collect();
    let uri = match (requested.as_slice(), in_jag.as_slice()) {
        ([], [only]) => only.clone(),
        ([], _) => {
            return Err(OAuthError::invalid_target(
                "the ID-JAG must name one resource, or the request must choose one",
            ));
        }
        ([one], _) => {
            let one = resource::canonicalize(one).map_err(OAuthError::invalid_target)?;
            if !in_jag.contains(&one) {
                return Err(OAuthError::invalid_target(
                    "the requested resource is not one the ID-JAG grants",
                ));
            }
            one
        }
        _ => return Err(OAuthError::invalid_target("request one resource at a time")),
    };
    let found = crate::oauth::lookup::resource(state, &uri).await?;
    policy::usable(&caller.client, &uri, found)
}

/// Requested ∩ the ID-JAG's scope ∩ what the registry lets this client hold there. A
/// requested scope the registry does not offer is an error, not silently dropped.
fn scope(
    caller: &AuthenticatedClient,
    params: &Params,
    jag: &Verified,
    resource: &Resource,
) -> Result<ScopeSet, OAuthError> {
    let permitted = policy::permitted_scopes(&caller.client, resource);
    let granted = jag.scope.intersection(&permitted);
    let scope = match params.get("scope") {
        None => granted,
        Some(requested) => {
            let requested = ScopeSet::parse(requested).map_err(OAuthError::invalid_scope)?;
            let unknown: Vec<&str> = requested.difference(&permitted).collect();
            if !unknown.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "{} is not offered to this client on {}",
                    unknown.join(" "),
                    resource.uri
                )));
            }
            requested.intersection(&granted)
        }
    };
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "no scope is both requested and granted by the ID-JAG",
        ));
    }
    Ok(scope)
}

/// The Warden user the IdP's `sub` stands for: by its link, else by verified email per the
/// IdP's rule. A disabled user is refused.
async fn holder(
    state: &AppState,
    issuer: &IdJagIssuerRow,
    jag: &Verified,
) -> Result<Holder, OAuthError> {
    let live = |user: Option<UserRow>| -> Result<Option<String>, OAuthError> {
        match user {
            Some(u) if u.disabled => Err(OAuthError::invalid_grant("the user is disabled here")),
            Some(u) => Ok(Some(u.id)),
            None => Ok(None),
        }
    };
    if let Some(user_id) = state.store.id_jag_subject(&issuer.id, &jag.sub).await? {
        let user = state.store.user_by_id(&user_id).await?;
        return live(user)?
            .map(Holder::Linked)
            .ok_or_else(|| OAuthError::invalid_grant("the user is not known here"));
    }
    let unknown = || OAuthError::invalid_grant("the ID-JAG's subject is not linked to a user here");
    let email = match (issuer.email_rule, &jag.email) {
        (EmailRule::Refuse, _) | (_, None) => return Err(unknown()),
        (_, Some(email)) => email,
    };
    match live(state.store.user_by_name(email).await?)? {
        Some(id) => Ok(Holder::Link(id)),
        None if issuer.email_rule == EmailRule::Create => {
            let now = state.clock.now();
            Ok(Holder::Create(UserRow {
                id: uuid::Uuid::now_v7().to_string(),
                username: email.clone(),
                // No local password: the hash is empty, which no password verifies against.
                password_hash: String::new(),
                disabled: false,
                role: Role::None,
                created_at: now,
                updated_at: now,
            }))
        }
        None => Err(unknown()),
    }
}
