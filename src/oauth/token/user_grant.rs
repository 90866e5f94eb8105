//! Tokens from a user's grant (OAuth 2.1 §4.1.3, §4.3; RFC 8628 §3.5; RFC 9068): what the
//! authorization code, device code and refresh token grants share. The code or refresh token a request spends, the
//! new refresh token and the grant's last use are written in one transaction, so a crash
//! leaves all of it or none; a second spend means the credential leaked, and the grant
//! goes (OAuth 2.1 §7.5.4, RFC 9700 §4.14.2).

use crate::clock::UnixTime;
use crate::crypto::{random, successor};
use crate::domain::Resource;
use crate::domain::{Actor, AuditEvent, AuditKind, Client, GrantStatus};
use crate::oauth::access_token::{self, AccessTokenClaims, Confirmation};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop::Jkt;
use crate::oauth::error::OAuthError;
use crate::oauth::policy;
use crate::oauth::scope::{ScopeSet, token_scope};
use crate::oauth::token::{TokenContext, TokenResponse, issues_refresh_token, refresh_token};
use crate::state::AppState;
use crate::store::authorization::{RefreshTokenRow, Spend};

/// Whose tokens are issued: a user's grant to a client, for one resource.
pub(crate) struct UserGrant<'a> {
    pub client: &'a Client,
    pub grant_id: &'a str,
    pub user_id: &'a str,
    pub resource: &'a Resource,
    /// The key of the request's DPoP proof: the access token's `cnf.jkt` (RFC 9449 §6.1).
    pub dpop: Option<&'a Jkt>,
    /// The key a new refresh token is bound to: the proof's, for a public client only
    /// (RFC 9449 §5; a confidential client's authentication already binds its tokens).
    pub refresh_binding: Option<&'a Jkt>,
}

impl<'a> UserGrant<'a> {
    /// The bindings a request's proof gives the tokens `client` gets.
    pub fn bindings(
        client: &AuthenticatedClient,
        ctx: &'a TokenContext,
    ) -> (Option<&'a Jkt>, Option<&'a Jkt>) {
        let dpop = ctx.dpop.as_ref();
        (dpop, dpop.filter(|_| !client.is_confidential()))
    }
}

/// What an issuance spends, in the same transaction that records it.
pub(crate) enum Spent<'a> {
    /// The hash of the authorization code being redeemed.
    Code(&'a str),
    /// The hash of the approved device code being redeemed.
    DeviceCode(&'a str),
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

/// What a device code redeems: the consent it was issued under, with its grant as it
/// stands now.
pub(crate) struct Consented<'a> {
    pub grant_id: &'a str,
    pub user_id: &'a str,
    pub resource: &'a str,
    /// What the code was issued for.
    pub scope: &'a str,
    /// Everything the user granted this client for the resource.
    pub grant_scope: &'a str,
    pub last_used_at: Option<UnixTime>,
    pub status: &'a GrantStatus,
}

/// Issues what a device code buys, once its own checks passed (the authorization code
/// grant runs the same steps with its `dpop_jkt` binding between them): the access token
/// for the code's
/// scope and a refresh token that may reach back to the whole grant, both narrowed to what
/// the admin permits now (an admin may narrow the client or the resource between consent
/// and redemption). A grant with nothing left is revoked.
pub(crate) async fn redeem(
    state: &AppState,
    authenticated: &AuthenticatedClient,
    ctx: &TokenContext,
    consented: &Consented<'_>,
    spent: Spent<'_>,
) -> Result<TokenResponse, OAuthError> {
    let client = &authenticated.client;
    let now = state.clock.now();
    let resource = crate::oauth::lookup::resource(state, consented.resource).await?;
    let Some(resource) = resource.filter(|_| consented.status.is_live()) else {
        return Err(OAuthError::invalid_grant(
            "the authorization is no longer valid",
        ));
    };
    // No key was named before the code was issued, so nothing is spent on a refusal: the
    // client retries with a proof (RFC 9449 §5 through the client's or resource's policy).
    crate::oauth::dpop::policy::check(client, &resource, None, ctx.dpop.as_ref())?;
    let touch = crate::store::grants::last_use_is_stale(consented.last_used_at, now);
    let refresh_scope = if consented.grant_scope.is_empty() {
        consented.scope
    } else {
        consented.grant_scope
    };
    let refresh_scope =
        policy::still_permitted(&ScopeSet::from_stored(refresh_scope), client, &resource);
    if refresh_scope.is_empty() {
        let event = AuditEvent::new(AuditKind::GrantRevoked, Actor::system(), now)
            .failed("no scope of this authorization is available to the client any more");
        state
            .store
            .revoke_grant(consented.grant_id, now, event)
            .await?;
        crate::measure::grants_revoked(crate::measure::Revocation::ScopeWithdrawn, 1);
        return Err(OAuthError::invalid_scope(
            "no scope of this authorization is available to the client any more",
        ));
    }
    let scope = policy::still_permitted(&ScopeSet::from_stored(consented.scope), client, &resource);
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "no scope of this code is available to the client any more",
        ));
    }
    let (dpop, refresh_binding) = UserGrant::bindings(authenticated, ctx);
    let grant = UserGrant {
        client,
        grant_id: consented.grant_id,
        user_id: consented.user_id,
        resource: &resource,
        dpop,
        refresh_binding,
    };
    issue(
        state,
        &grant,
        scope.to_scope_string(),
        &refresh_scope.to_scope_string(),
        Some(spent),
        touch,
    )
    .await
}

/// Mints the access token and, when `issues_refresh_token` says so, a fresh refresh token
/// (stored as a hash) carrying `refresh_scope`. The database work (spend, new refresh
/// token, last use) is one transaction: one commit per issuance.
pub(crate) async fn issue(
    state: &AppState,
    grant: &UserGrant<'_>,
    scope: String,
    refresh_scope: &str,
    spent: Option<Spent<'_>>,
    touch: bool,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let client_id = grant.client.client_id.as_str();
    let refresh_token = issues_refresh_token(grant.client).then(random::token);
    let row = refresh_token.as_ref().map(|token| RefreshTokenRow {
        token_hash: random::sha256_b64(token),
        grant_id: grant.grant_id.to_owned(),
        client_id: client_id.to_owned(),
        scope: refresh_scope.to_owned(),
        created_at: now,
        expires_at: now + state.settings.refresh_token_ttl,
        rotated_at: None,
        dpop_jkt: grant.refresh_binding.map(|j| j.as_str().to_owned()),
    });
    let sealed = match (&spent, &refresh_token) {
        (Some(Spent::Refresh(r)), Some(next)) if r.grace => {
            Some(successor::seal(r.presented, next)?)
        }
        _ => None,
    };
    let spend = spent.as_ref().map(|s| match s {
        Spent::Code(code_hash) => Spend::Code {
            code_hash,
            client_id,
        },
        Spent::DeviceCode(device_code_hash) => Spend::DeviceCode {
            device_code_hash,
            client_id,
        },
        Spent::Refresh(r) => Spend::Refresh {
            token_hash: r.token_hash,
            client_id,
            successor_sealed: sealed.as_deref(),
        },
    });
    let recorded = state
        .store
        .record_issue(grant.grant_id, now, spend, row.as_ref(), touch)
        .await?;
    if !recorded {
        // A concurrent request spent the code or the refresh token a moment ago.
        return match spent {
            Some(Spent::Refresh(r)) if r.grace => {
                refresh_token::redeliver(state, grant, r.presented, r.token_hash, scope).await
            }
            Some(Spent::Refresh(_)) => {
                Err(revoke_leaked(state, grant.grant_id, client_id, Leaked::RefreshToken).await?)
            }
            Some(Spent::DeviceCode(_)) => {
                Err(revoke_leaked(state, grant.grant_id, client_id, Leaked::DeviceCode).await?)
            }
            _ => Err(revoke_leaked(state, grant.grant_id, client_id, Leaked::Code).await?),
        };
    }
    access_token_response(state, grant, scope, refresh_token)
}

/// The RFC 9068 access token of a user grant, in a token response beside `refresh_token`.
/// `scope` is what was granted; the token carries its closure (`scope::token_scope`).
pub(crate) fn access_token_response(
    state: &AppState,
    grant: &UserGrant<'_>,
    scope: String,
    refresh_token: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let scope = token_scope(state, &ScopeSet::from_stored(&scope)).to_scope_string();
    let ttl = crate::oauth::policy::access_token_ttl(state, grant.resource);
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.as_str().to_owned(),
        sub: grant.user_id.to_owned(),
        aud: grant.resource.uri.clone(),
        client_id: grant.client.client_id.clone(),
        scope,
        iat: now,
        exp: now + ttl,
        jti: uuid::Uuid::now_v7().simple().to_string(),
        gid: grant.grant_id.to_owned(),
        act: None,
        may_act: None,
        cnf: Confirmation::of(grant.dpop),
    };
    let access_token = access_token::mint(state, &claims)?;
    Ok(TokenResponse {
        refresh_token,
        ..TokenResponse::bearer(access_token, ttl, claims.scope, claims.aud)
    })
}

/// A credential spent a second time.
#[derive(Clone, Copy)]
pub(crate) enum Leaked {
    Code,
    DeviceCode,
    RefreshToken,
}

/// A spent code or rotated refresh token came back from its own client: it leaked (or a
/// response was intercepted), so the grant and every token it bought are revoked.
pub(crate) async fn revoke_leaked(
    state: &AppState,
    grant_id: &str,
    client_id: &str,
    what: Leaked,
) -> Result<OAuthError, OAuthError> {
    let (log, description, kind) = match what {
        Leaked::Code => (
            "authorization code replayed; grant revoked",
            "the authorization code was already used; its tokens are revoked",
            AuditKind::GrantRevoked,
        ),
        Leaked::DeviceCode => (
            "device code replayed; grant revoked",
            "the device code was already used; its tokens are revoked",
            AuditKind::GrantRevoked,
        ),
        Leaked::RefreshToken => (
            "refresh token reused; grant revoked",
            "the refresh token was already used; the authorization is revoked",
            AuditKind::RefreshTokenReused,
        ),
    };
    let now = state.clock.now();
    let event = AuditEvent::new(kind, Actor::client(client_id), now).failed(log);
    state.store.revoke_grant(grant_id, now, event).await?;
    crate::measure::grants_revoked(crate::measure::Revocation::Replay, 1);
    if matches!(what, Leaked::RefreshToken) {
        crate::measure::refresh_reuse();
    }
    tracing::warn!(grant_id = %grant_id, client_id = %client_id, "{log}");
    Ok(OAuthError::invalid_grant(description))
}
