//! Tokens from a user's grant (OAuth 2.1 §4.1.3, §4.3; RFC 9068): what the authorization
//! code and refresh token grants share. The code or refresh token a request spends, the
//! new refresh token and the grant's last use are written in one transaction, so a crash
//! leaves all of it or none; a second spend means the credential leaked, and the grant
//! goes (OAuth 2.1 §7.5.4, RFC 9700 §4.14.2).

use crate::crypto::{random, successor};
use crate::domain::Resource;
use crate::domain::{Actor, AuditEvent, AuditKind, Client};
use crate::oauth::access_token::{self, AccessTokenClaims, Confirmation};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop::Jkt;
use crate::oauth::error::OAuthError;
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
        ..TokenResponse::bearer(access_token, ttl, claims.scope)
    })
}

/// A credential spent a second time.
#[derive(Clone, Copy)]
pub(crate) enum Leaked {
    Code,
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
        Leaked::RefreshToken => (
            "refresh token reused; grant revoked",
            "the refresh token was already used; the authorization is revoked",
            AuditKind::RefreshTokenReused,
        ),
    };
    let now = state.clock.now();
    let event = AuditEvent::new(kind, Actor::client(client_id), now).failed(log);
    state.store.revoke_grant(grant_id, now, event).await?;
    tracing::warn!(grant_id = %grant_id, client_id = %client_id, "{log}");
    Ok(OAuthError::invalid_grant(description))
}
