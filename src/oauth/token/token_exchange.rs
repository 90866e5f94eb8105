//! Token exchange (RFC 8693 §2): an MCP server trades the user's token it received for a
//! token to a downstream resource, instead of passing the user's token on.
//!
//! Policy comes from the resource registry: the caller must serve the subject token's
//! audience (no confused deputy), the target must be a downstream of that audience, and
//! scopes only narrow (or map, where the admin mapped them). The result is delegation: the
//! user stays `sub` and `act` names the caller (RFC 8693 §4.1), nested when the subject was
//! itself delegated. The actor is the caller, proven by no actor token or by a client token
//! of its own, unless the subject token's `may_act` names someone else (RFC 8693 §4.4):
//! an actor token alone proves only that its holder got hold of it. Every exchange, issued
//! or refused, is written to the audit log, which names an actor only once it is accepted.

use serde_json::{Value, json};

use crate::domain::{self, AuditEvent, AuditKind, Client, Resource, SubjectMode};
use crate::oauth::access_token::{self, AccessTokenClaims, Confirmation};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop;
use crate::oauth::error::OAuthError;
use crate::oauth::external_token;
use crate::oauth::params::Params;
use crate::oauth::policy::{self, uri_list};
use crate::oauth::resource;
use crate::oauth::scope::ScopeSet;
use crate::oauth::token::{TokenContext, TokenResponse, id_jag_issue};
use crate::state::AppState;
use crate::store;
use crate::store::exchange::DownstreamRow;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const MAX_ACT_DEPTH: usize = 5;

/// A verified subject token, wherever it came from.
struct Subject {
    sub: String,
    /// Who issued the token: our issuer, or the trusted external issuer.
    iss: String,
    /// Internal tokens: the client the token was issued to.
    client_id: Option<String>,
    audience: String,
    scope: ScopeSet,
    exp: i64,
    act: Option<Value>,
    may_act: Option<Value>,
    /// Internal tokens: their grant, whose root becomes the exchanged token's parent.
    grant_id: Option<String>,
}

/// What the audit log records about an attempt, filled in as the checks go.
#[derive(Default)]
struct Attempt {
    subject: String,
    source: String,
    target: String,
    scope: String,
    actor: String,
}

pub async fn exchange(
    state: &AppState,
    caller: &AuthenticatedClient,
    params: &Params,
    ctx: &TokenContext,
) -> Result<TokenResponse, OAuthError> {
    // Warden as the enterprise IdP: a token for another authorization server, not a
    // delegation to a downstream of ours.
    if id_jag_issue::requested(params) {
        return id_jag_issue::issue(state, caller, params).await;
    }
    let mut attempt = Attempt::default();
    let result = run(state, caller, params, ctx, &mut attempt).await;
    let reason = match &result {
        Ok(_) => None,
        Err(e) => Some(format!("{}: {}", e.code.as_str(), e.description)),
    };
    let now = state.clock.now();
    // The caller is the audit's actor; `act`'s actor, once accepted, is in the details.
    let mut audit = AuditEvent::new(
        AuditKind::TokenExchange,
        domain::Actor::client(&caller.client.client_id),
        now,
    )
    .client(&caller.client.client_id)
    .subject(&attempt.subject)
    .resource(&attempt.target)
    .details(json!({
        "source": attempt.source,
        "scope": attempt.scope,
        "actor": attempt.actor,
    }));
    if let Some(reason) = reason {
        audit = audit.failed(reason);
    }
    // The token's grant and the audit row are one transaction: an exchange we cannot record
    // is an exchange we do not make.
    let mut tx = state.store.begin().await?;
    let issued = match result {
        Ok(mut exchanged) => {
            // The exchanged token gets a grant of its own, so the MCP server can revoke it
            // without touching the user's grant, while revoking the user's grant ends it.
            let claims = &mut exchanged.claims;
            claims.gid = store::exchange::insert_grant(
                tx.conn(),
                &claims.client_id,
                &claims.sub,
                &claims.aud,
                &claims.scope,
                exchanged.parent.as_deref(),
                now,
            )
            .await?;
            audit = audit.grant(&claims.gid);
            Ok(exchanged)
        }
        Err(e) => Err(e),
    };
    let source = attempt.source;
    tx.audit(audit).await?;
    tx.commit().await?;
    let Exchanged {
        claims,
        ttl,
        impersonate,
        ..
    } = issued?;
    // The grant keeps what was exchanged; the token carries its closure under the scope
    // hierarchy, as every token does (`scope::token_scope`).
    let claims = AccessTokenClaims {
        scope: crate::oauth::scope::token_scope(state, &ScopeSet::from_stored(&claims.scope))
            .to_scope_string(),
        cnf: Confirmation::of(ctx.dpop.as_ref()),
        ..claims
    };
    let access_token = access_token::mint(state, &claims)?;
    tracing::info!(client_id = %claims.client_id, source = %source, target = %claims.aud, impersonate, "token exchanged");
    Ok(TokenResponse {
        issued_token_type: Some(ACCESS_TOKEN_TYPE),
        ..TokenResponse::bearer(access_token, ttl, claims.scope, claims.aud)
    })
}

/// An exchange that passed every check: the token to issue (its grant id is set once the
/// grant is written), and the grant's parent.
struct Exchanged {
    claims: AccessTokenClaims,
    parent: Option<String>,
    ttl: i64,
    impersonate: bool,
}

/// The checks, in the order their errors are reported, each filling in `attempt`.
async fn run(
    state: &AppState,
    caller: &AuthenticatedClient,
    params: &Params,
    ctx: &TokenContext,
    attempt: &mut Attempt,
) -> Result<Exchanged, OAuthError> {
    let subject_token = parse(caller, params)?;
    let client = &caller.client;
    let subject = subject(state, client, subject_token, attempt).await?;
    let acting = actor(state, client, params, &subject, attempt).await?;
    let target = target(state, params, &subject, attempt).await?;
    dpop::policy::check(client, &target.resource, None, ctx.dpop.as_ref())?;
    let scope = scope(client, params, &subject, &target, attempt)?;
    let ttl = lifetime(state, &subject, &target.resource)?;
    let act = match impersonates(client, &acting, &target) {
        true => None,
        false => Some(act(client, &acting.actor, &subject)?),
    };
    planned(state, client, subject, target.resource, scope, ttl, act).await
}

/// A confidential caller and a well-formed request (RFC 8693 §2.1); returns the subject
/// token.
fn parse<'p>(caller: &AuthenticatedClient, params: &'p Params) -> Result<&'p str, OAuthError> {
    if !caller.is_confidential() {
        return Err(OAuthError::unauthorized_client(
            "token exchange needs an authenticated confidential client",
        ));
    }
    let token = params
        .require("subject_token")
        .map_err(OAuthError::invalid_request)?;
    let token_type = params
        .require("subject_token_type")
        .map_err(OAuthError::invalid_request)?;
    if !is_token_type(token_type) {
        return Err(OAuthError::invalid_request(
            "subject_token_type must be an access_token or jwt token type",
        ));
    }
    if params
        .get("requested_token_type")
        .is_some_and(|t| !is_token_type(t))
    {
        return Err(OAuthError::invalid_request(
            "only access tokens can be requested",
        ));
    }
    Ok(token)
}

/// The token types we accept and issue: both mean our JWT access tokens.
fn is_token_type(value: &str) -> bool {
    value == ACCESS_TOKEN_TYPE || value == JWT_TYPE
}

/// The verified subject token, which must have been issued for a resource the caller
/// serves: an MCP server exchanges only the tokens it received (no confused deputy).
async fn subject(
    state: &AppState,
    client: &Client,
    token: &str,
    attempt: &mut Attempt,
) -> Result<Subject, OAuthError> {
    let subject = verify_subject(state, token).await?;
    attempt.subject = subject.sub.clone();
    attempt.source = subject.audience.clone();
    if !client.serves(&subject.audience) {
        return Err(OAuthError::invalid_request(
            "the subject token was not issued for a resource this client serves",
        ));
    }
    Ok(subject)
}

/// Who acts, and whether an actor token said so.
struct Acting {
    actor: Actor,
    by_token: bool,
}

/// The actor (RFC 8693 §4.1, §4.4): the caller, or the holder of a verified actor token
/// when the subject token's `may_act` names it (or it is a client token of the caller's).
async fn actor(
    state: &AppState,
    client: &Client,
    params: &Params,
    subject: &Subject,
    attempt: &mut Attempt,
) -> Result<Acting, OAuthError> {
    let caller = Actor::client(state.settings.issuer.as_str(), &client.client_id);
    let from_token = match (params.get("actor_token"), params.get("actor_token_type")) {
        (None, None) => None,
        (Some(token), Some(t)) if is_token_type(t) => Some(verify_actor(state, token).await?),
        _ => {
            return Err(OAuthError::invalid_request(
                "actor_token and a supported actor_token_type go together",
            ));
        }
    };
    let by_token = from_token.is_some();
    let actor = from_token.unwrap_or_else(|| caller.clone());
    match &subject.may_act {
        Some(may_act) if !names(may_act, &actor) => {
            return Err(OAuthError::invalid_request(
                "the subject token's may_act does not name the actor",
            ));
        }
        Some(_) => {}
        None if actor != caller => {
            return Err(OAuthError::invalid_request(
                "the actor_token must be a client token of the caller's own, \
                 unless the subject token's may_act names its holder",
            ));
        }
        None => {}
    }
    attempt.actor = actor.sub.clone();
    Ok(Acting { actor, by_token })
}

/// An actor token, verified as a subject token would be.
async fn verify_actor(state: &AppState, token: &str) -> Result<Actor, OAuthError> {
    let token = verify_subject(state, token).await.map_err(|mut e| {
        // The checks are the subject token's; the description says which token failed.
        if e.cause.is_none() {
            e.description = format!("actor_token: {}", e.description).into();
        }
        e
    })?;
    Ok(Actor {
        sub: token.sub,
        iss: token.iss,
        client_id: token.client_id,
    })
}

/// The target resource and the registry link that makes it a downstream of the subject
/// token's audience.
struct Target {
    link: DownstreamRow,
    resource: Resource,
}

async fn target(
    state: &AppState,
    params: &Params,
    subject: &Subject,
    attempt: &mut Attempt,
) -> Result<Target, OAuthError> {
    let target_uri = target_uri(params)?;
    attempt.target = target_uri.clone();
    let unknown = || {
        OAuthError::invalid_target(format!(
            "{target_uri} is not a downstream target of {}",
            subject.audience
        ))
    };
    let link = state
        .store
        .downstream(&subject.audience, &target_uri)
        .await?
        .ok_or_else(unknown)?;
    let resource = state
        .store
        .resource_by_uri(&target_uri)
        .await?
        .filter(|r| r.enabled && !r.builtin)
        .ok_or_else(unknown)?;
    Ok(Target { link, resource })
}

/// The scope to issue: the requested one (or, by default, all) of what the subject token
/// reaches on the target. Scopes only narrow, or map where the admin mapped them.
fn scope(
    client: &Client,
    params: &Params,
    subject: &Subject,
    target: &Target,
    attempt: &mut Attempt,
) -> Result<ScopeSet, OAuthError> {
    let allowed = reachable_scopes(client, subject, target);
    let scope = match params.get("scope") {
        None => allowed,
        Some(requested) => {
            let requested = ScopeSet::parse(requested).map_err(OAuthError::invalid_scope)?;
            let beyond: Vec<&str> = requested.difference(&allowed).collect();
            if !beyond.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "the subject token does not carry {}",
                    beyond.join(" ")
                )));
            }
            requested
        }
    };
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "no scope of the subject token reaches the target",
        ));
    }
    attempt.scope = scope.to_scope_string();
    Ok(scope)
}

/// The subject token's scopes that the target accepts from this caller today (its allowed
/// scopes apply here too), directly or through the link's scope map.
fn reachable_scopes(client: &Client, subject: &Subject, target: &Target) -> ScopeSet {
    let accepted = policy::permitted_scopes(client, &target.resource);
    let map: serde_json::Map<String, Value> =
        serde_json::from_str(&target.link.scope_map).unwrap_or_default();
    let mut allowed: Vec<String> = subject
        .scope
        .intersection(&accepted)
        .iter()
        .map(str::to_owned)
        .collect();
    for source_scope in subject.scope.iter() {
        if let Some(Value::Array(mapped)) = map.get(source_scope) {
            allowed.extend(
                mapped
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|s| accepted.contains(s))
                    .map(str::to_owned),
            );
        }
    }
    allowed.into_iter().collect()
}

/// The token's lifetime: the target's, but never past the subject token's expiry.
fn lifetime(state: &AppState, subject: &Subject, target: &Resource) -> Result<i64, OAuthError> {
    let ttl = (subject.exp - state.clock.now()).min(policy::access_token_ttl(state, target));
    if ttl <= 0 {
        return Err(OAuthError::invalid_request("the subject token has expired"));
    }
    Ok(ttl)
}

/// Whether the link lets this caller impersonate the user (a token with no `act`): never
/// when an actor token names someone else as the actor.
fn impersonates(client: &Client, acting: &Acting, target: &Target) -> bool {
    !acting.by_token && uri_list(&target.link.impersonators).contains(&client.client_id)
}

/// The `act` claim (RFC 8693 §4.1): the actor, with the subject token's own `act` nested
/// inside when the subject was itself delegated, up to `MAX_ACT_DEPTH`.
fn act(client: &Client, actor: &Actor, subject: &Subject) -> Result<Value, OAuthError> {
    let mut act = json!({ "sub": actor.sub, "client_id": client.client_id });
    if let Some(previous) = subject.act.clone() {
        if depth(&previous) >= MAX_ACT_DEPTH {
            return Err(OAuthError::invalid_request(
                "the delegation chain is too long",
            ));
        }
        act["act"] = previous;
    }
    Ok(act)
}

/// The token to issue, under a grant whose parent is the root of the subject's grant; no
/// `act` means impersonation.
async fn planned(
    state: &AppState,
    client: &Client,
    subject: Subject,
    target: Resource,
    scope: ScopeSet,
    ttl: i64,
    act: Option<Value>,
) -> Result<Exchanged, OAuthError> {
    let impersonate = act.is_none();
    let parent = match &subject.grant_id {
        Some(g) => state.store.grant_root(g).await?,
        None => None,
    };
    let now = state.clock.now();
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.as_str().to_owned(),
        sub: subject.sub,
        aud: target.uri,
        client_id: client.client_id.clone(),
        scope: scope.to_scope_string(),
        iat: now,
        exp: now + ttl,
        jti: uuid::Uuid::now_v7().simple().to_string(),
        // Set once the grant is written, in `exchange`.
        gid: String::new(),
        act,
        may_act: None,
        // Set with the proof of the request, in `exchange`.
        cnf: None,
    };
    Ok(Exchanged {
        claims,
        parent,
        ttl,
        impersonate,
    })
}

/// Who acts in an exchange: the caller itself, or the subject of a verified actor token.
#[derive(Clone, PartialEq)]
struct Actor {
    sub: String,
    iss: String,
    client_id: Option<String>,
}

impl Actor {
    /// A client acting as itself: what its client_credentials tokens say (`sub` is the client).
    fn client(issuer: &str, client_id: &str) -> Self {
        Actor {
            sub: client_id.to_owned(),
            iss: issuer.to_owned(),
            client_id: Some(client_id.to_owned()),
        }
    }
}

/// Whether `may_act` (RFC 8693 §4.4) names `actor`: by `sub` or `client_id`, and every one of
/// `sub`, `iss` and `client_id` it carries agrees, since `iss` and `client_id` narrow whose
/// `sub` is meant. A may_act naming nobody names no one.
fn names(may_act: &Value, actor: &Actor) -> bool {
    let field = |name: &str| may_act.get(name).map(Value::as_str);
    let agrees = |name: &str, value: Option<&str>| match field(name) {
        None => true,
        Some(claimed) => claimed.is_some() && claimed == value,
    };
    (field("sub").is_some() || field("client_id").is_some())
        && agrees("sub", Some(&actor.sub))
        && agrees("iss", Some(&actor.iss))
        && agrees("client_id", actor.client_id.as_deref())
}

fn depth(act: &Value) -> usize {
    1 + act.get("act").map_or(0, depth)
}

/// The one target named by `resource` and/or `audience` (RFC 8693 §2.1).
fn target_uri(params: &Params) -> Result<String, OAuthError> {
    let mut targets: Vec<String> = Vec::new();
    for value in params.get_all("resource").chain(params.get_all("audience")) {
        let canonical = resource::canonicalize(value).map_err(OAuthError::invalid_target)?;
        if !targets.contains(&canonical) {
            targets.push(canonical);
        }
    }
    match targets.len() {
        1 => Ok(targets.remove(0)),
        0 => Err(OAuthError::invalid_target(
            "name the target with resource or audience",
        )),
        _ => Err(OAuthError::invalid_target(
            "exchange for one target at a time",
        )),
    }
}

/// The scope of our own subject token, narrowed to what its client may hold on its
/// audience now: the consent behind it is reused here, so an admin's narrowing applies
/// (`policy::still_permitted`) before the token expires.
async fn still_permitted(
    state: &AppState,
    claims: &AccessTokenClaims,
) -> Result<ScopeSet, OAuthError> {
    let client = crate::oauth::lookup::stored_client(state, &claims.client_id).await?;
    let resource = crate::oauth::lookup::resource(state, &claims.aud).await?;
    Ok(match (client, resource) {
        (Some(client), Some(resource)) => {
            policy::still_permitted(&ScopeSet::from_stored(&claims.scope), &client, &resource)
        }
        _ => ScopeSet::default(),
    })
}

/// Our own access token (live grant), or a JWT from a trusted external issuer.
async fn verify_subject(state: &AppState, token: &str) -> Result<Subject, OAuthError> {
    match access_token::verify(state, token, state.clock.now()) {
        Some(claims) => internal_subject(state, claims).await,
        None => external_subject_token(state, token).await,
    }
}

/// One of our access tokens, whose grant must still be live.
async fn internal_subject(
    state: &AppState,
    claims: AccessTokenClaims,
) -> Result<Subject, OAuthError> {
    if !crate::oauth::lookup::grant_is_live(state, &claims.gid).await? {
        return Err(OAuthError::invalid_request(
            "the subject token has been revoked",
        ));
    }
    let scope = still_permitted(state, &claims).await?;
    Ok(Subject {
        sub: claims.sub,
        iss: claims.iss,
        client_id: Some(claims.client_id),
        audience: claims.aud,
        scope,
        exp: claims.exp,
        act: claims.act,
        may_act: claims.may_act,
        grant_id: Some(claims.gid),
    })
}

/// A JWT signed by a trusted external issuer (never one claiming to be us), its `sub`
/// mapped to one of our users or namespaced by the issuer.
async fn external_subject_token(state: &AppState, token: &str) -> Result<Subject, OAuthError> {
    let unacceptable = || {
        OAuthError::invalid_request(
            "the subject token is invalid, expired, or from an unknown issuer",
        )
    };
    let issuer_name = external_token::unverified_issuer(token).ok_or_else(unacceptable)?;
    if issuer_name == state.settings.issuer.as_str() {
        return Err(unacceptable());
    }
    let issuer = state
        .store
        .trusted_issuer(&issuer_name)
        .await?
        .ok_or_else(unacceptable)?;
    let claims = external_token::verify(state, &issuer, token)
        .await
        .map_err(OAuthError::invalid_request)?;
    let sub = match issuer.subject_mode {
        SubjectMode::Username => state
            .store
            .user_by_name(&claims.sub)
            .await?
            .filter(|u| !u.disabled)
            .map(|u| u.id)
            .ok_or_else(|| {
                OAuthError::invalid_request("the subject token's user is not known here")
            })?,
        // Namespaced by its issuer: a `sub` an external issuer chose can never equal a
        // Warden user id (a UUID has no `#`), so it cannot pass for one of our users.
        SubjectMode::Keep => external_subject(&issuer.issuer, &claims.sub),
    };
    Ok(Subject {
        sub,
        iss: issuer.issuer,
        client_id: None,
        audience: issuer.audience,
        scope: ScopeSet::parse(&claims.scope).unwrap_or_default(),
        exp: claims.exp,
        act: claims.act,
        may_act: claims.may_act,
        grant_id: None,
    })
}

/// The `sub` of a token exchanged for an external subject kept as is (`--subject keep`):
/// `{issuer}#{sub}`.
pub fn external_subject(issuer: &str, sub: &str) -> String {
    format!("{issuer}#{sub}")
}
