//! The authorization request (OAuth 2.1 §4.1.1; RFC 7636 §4.3; RFC 8707 §2; RFC 9449 §10
//! `dpop_jkt`; OIDC Core §3.1.2.1 `prompt`): parsed, checked and stored while the user
//! signs in, then loaded again by id. Until the client and its redirect URI are known good,
//! errors are pages.

use crate::crypto::random;
use crate::domain::{Client, GrantType, Registration};
use crate::oauth::dpop::Jkt;
use crate::oauth::error::ErrorCode;
use crate::oauth::lookup::ClientLookupError;
use crate::oauth::params::{Params, excerpt};
use crate::oauth::scope::ScopeSet;
use crate::oauth::{id_token, pkce, policy, redirect_uri};
use crate::state::AppState;
use crate::store::authorization::AuthorizationRequestRow;
use crate::store::device::DeviceCodeRow;
use crate::store::sessions::SessionUser;

use super::approve::{Refusal, Reply};
use super::{Failure, PageError};

/// How long a validated request waits for sign-in and consent.
pub const REQUEST_TTL: i64 = 600;

/// The largest authorization request stored while the user signs in: room for a 4 KiB
/// `state` and every other parameter, not for an attacker's megabyte.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// The longest `state` we carry back to the client.
const MAX_STATE_CHARS: usize = 4096;

/// The query string or form body, bounded and parsed.
pub(super) fn parse(raw: &[u8]) -> Result<Params, Failure> {
    if raw.len() > MAX_REQUEST_BYTES {
        return Err(Failure::Page(PageError::TooLong));
    }
    Params::parse(raw).map_err(|m| Failure::Page(PageError::Malformed(m.to_string())))
}

/// The enabled client the request names; a bad or unknown one gets a page.
pub(super) async fn find_client(state: &AppState, params: &Params) -> Result<Client, Failure> {
    let Some(client_id) = params.get("client_id") else {
        return Err(Failure::Page(PageError::MissingClientId));
    };
    match crate::oauth::lookup::client(state, client_id).await {
        Ok(Some(c)) if c.enabled => Ok(c),
        Ok(_) => Err(Failure::Page(PageError::UnknownClient)),
        Err(ClientLookupError::Document(detail)) => {
            Err(Failure::Page(PageError::UnusableClient { detail }))
        }
        Err(ClientLookupError::Database(e)) => Err(e.into()),
    }
}

/// Where the response goes: a registered redirect URI, and whether the request named it
/// (then the token request must name it too).
pub(super) struct Redirect {
    pub uri: String,
    pub sent: bool,
}

/// The redirect URI, checked against the client's registered ones. Sending the browser to
/// an unregistered address would make us an open redirector, so this is a page.
pub(super) fn redirect_uri(client: &Client, params: &Params) -> Result<Redirect, Failure> {
    let registered = &client.redirect_uris;
    match params.get("redirect_uri") {
        Some(requested) => match redirect_uri::find_match(requested, registered) {
            Some(_) => Ok(Redirect {
                uri: requested.to_owned(),
                sent: true,
            }),
            None => Err(Failure::Page(PageError::UnregisteredRedirectUri)),
        },
        None if registered.len() == 1 => Ok(Redirect {
            uri: registered[0].as_str().to_owned(),
            sent: false,
        }),
        None => Err(Failure::Page(PageError::RedirectUriRequired)),
    }
}

/// The `state` to return with the response; one too long is refused, so it is not echoed.
pub(super) fn client_state(params: &Params) -> Option<&str> {
    params.get("state").filter(|s| s.len() <= MAX_STATE_CHARS)
}

/// Where errors go from here: a client registered by an administrator gets redirects; a
/// self-registered one gets pages until the user has seen its consent screen, or anyone
/// could register a phishing redirect URI and use us to bounce browsers to it.
pub(super) fn reply<'a>(client: &Client, redirect: &'a Redirect, params: &'a Params) -> Reply<'a> {
    Reply {
        redirect: &redirect.uri,
        state: client_state(params),
        may_redirect: client.registration == Registration::Admin,
    }
}

/// The other parameters, once the redirect URI is trusted (errors may redirect).
pub(super) struct Checked {
    code_challenge: String,
    resource: String,
    scope: ScopeSet,
    /// The key the code is bound to (RFC 9449 §10).
    dpop_jkt: Option<Jkt>,
    /// OIDC Core §3.1.2.1: the OIDC scopes and `nonce` of an `openid` request.
    openid_scope: Option<ScopeSet>,
    nonce: Option<String>,
}

/// Checks the parameters that do not need the store, then resolves the resource and scope.
pub(super) async fn check(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<Checked, Refusal> {
    let code_challenge = check_parameters(client, params)?;
    let dpop_jkt = dpop_jkt(params)?;
    let split = id_token::split(params.get("scope"))?;
    let nonce = id_token::nonce(split.oidc.is_some(), params.get("nonce"))
        .map_err(|m| Refusal::new(ErrorCode::InvalidRequest, m))?;
    let resources: Vec<&str> = params.get_all("resource").collect();
    let resource = policy::resolve_resource(state, client, &resources).await?;
    let scope = policy::resolve_scope(client, &resource, split.resource.as_deref())?;
    Ok(Checked {
        code_challenge,
        resource: resource.uri,
        scope,
        dpop_jkt,
        openid_scope: split.oidc,
        nonce,
    })
}

/// RFC 9449 §10: `dpop_jkt` names the key whose proof alone may redeem the code. It is a
/// thumbprint, so anything else is a malformed request, not a key we would never see.
fn dpop_jkt(params: &Params) -> Result<Option<Jkt>, Refusal> {
    params
        .get("dpop_jkt")
        .map(|value| {
            Jkt::parse(value).ok_or_else(|| {
                Refusal::new(
                    ErrorCode::InvalidRequest,
                    "dpop_jkt must be a JWK SHA-256 thumbprint (RFC 7638): 43 base64url characters",
                )
            })
        })
        .transpose()
}

/// `state`, request objects, `response_type`, PKCE, `prompt` and the client's grant types;
/// returns the PKCE challenge.
fn check_parameters(client: &Client, params: &Params) -> Result<String, Refusal> {
    use ErrorCode::*;
    if params
        .get("state")
        .is_some_and(|s| s.len() > MAX_STATE_CHARS)
    {
        return Err(Refusal::new(
            InvalidRequest,
            "state is longer than 4096 characters",
        ));
    }
    if params.get("request").is_some() {
        return Err(Refusal::new(
            RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(Refusal::new(
            RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(Refusal::new(InvalidRequest, "response_type is required")),
        Some(_) => {
            return Err(Refusal::new(
                UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    let challenge = pkce::check_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(|m| Refusal::new(InvalidRequest, m))?;
    Prompt::parse(params.get("prompt")).map_err(|m| Refusal::new(InvalidRequest, m))?;
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(Refusal::new(
            UnauthorizedClient,
            "this client may not use the authorization code flow",
        ));
    }
    Ok(challenge)
}

/// Stores the checked request for the browser to come back to; returns its id.
pub(super) async fn store(
    state: &AppState,
    client: &Client,
    redirect: Redirect,
    params: &Params,
    checked: Checked,
) -> Result<String, Failure> {
    let now = state.clock.now();
    let row = AuthorizationRequestRow {
        id: random::token(),
        client_id: client.client_id.clone(),
        redirect_uri: redirect.uri,
        redirect_uri_sent: redirect.sent,
        state: client_state(params).map(str::to_owned),
        scope: checked.scope.to_scope_string(),
        resource: checked.resource,
        code_challenge: checked.code_challenge,
        prompt: params.get("prompt").unwrap_or("").to_owned(),
        openid_scope: checked.openid_scope.map(|s| s.to_scope_string()),
        nonce: checked.nonce,
        user_id: None,
        consent_shown: false,
        created_at: now,
        expires_at: now + REQUEST_TTL,
        consumed_at: None,
        dpop_jkt: checked.dpop_jkt.map(|j| j.as_str().to_owned()),
    };
    state.store.insert_authorization_request(&row).await?;
    Ok(row.id)
}

/// OIDC Core §3.1.2.1 `prompt`: `none` never shows a page; `login` wants a sign-in newer
/// than the request; `consent` asks even when consent is remembered.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    fn parse(value: Option<&str>) -> Result<Prompt, String> {
        let mut prompt = Prompt::default();
        for word in value.unwrap_or("").split(' ').filter(|w| !w.is_empty()) {
            match word {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                other => {
                    return Err(format!("prompt value {} is not supported", excerpt(other)));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err("prompt=none cannot be combined with other values".into());
        }
        Ok(prompt)
    }
}

/// A stored request with what it refers to, checked to be still usable.
pub(super) struct Loaded {
    pub request: AuthorizationRequestRow,
    pub client: Client,
    pub prompt: Prompt,
}

/// The pending request `id`, if it has not expired, been used, or lost its client.
pub(super) async fn load(state: &AppState, id: &str) -> Result<Loaded, Failure> {
    let now = state.clock.now();
    let expired = || Failure::Page(PageError::Expired);
    let request = match state.store.authorization_request(id).await? {
        Some(r) if r.expires_at > now && r.consumed_at.is_none() => r,
        _ => return Err(expired()),
    };
    // From the database, not the hot cache: remembered consent is judged against the
    // client's name and redirect URIs as they are now, and a metadata document that just
    // changed them does not clear the cache (nor would another node's cache be cleared).
    let client = match state.store.client(&request.client_id).await? {
        Some(c) if c.enabled => c,
        _ => return Err(expired()),
    };
    let prompt = Prompt::parse(Some(&request.prompt)).unwrap_or_default();
    Ok(Loaded {
        request,
        client,
        prompt,
    })
}

impl Loaded {
    /// A device authorization (RFC 8628 §3.3) as the consent flow sees it: a request with
    /// no redirect (nothing is sent anywhere; the device polls), shown to the user who
    /// entered its code. `None` when its client is gone or disabled.
    pub async fn device(
        state: &AppState,
        device: &DeviceCodeRow,
    ) -> Result<Option<Loaded>, sqlx::Error> {
        let client = match state.store.client(&device.client_id).await? {
            Some(c) if c.enabled => c,
            _ => return Ok(None),
        };
        let request = AuthorizationRequestRow {
            id: device.id.clone(),
            client_id: device.client_id.clone(),
            redirect_uri: String::new(),
            redirect_uri_sent: false,
            state: None,
            scope: device.scope.clone(),
            resource: device.resource.clone(),
            code_challenge: String::new(),
            prompt: String::new(),
            user_id: device.user_id.clone(),
            consent_shown: true,
            created_at: device.created_at,
            expires_at: device.expires_at,
            consumed_at: device.consumed_at,
            dpop_jkt: None,
            openid_scope: None,
            nonce: None,
        };
        Ok(Some(Loaded {
            request,
            client,
            prompt: Prompt::default(),
        }))
    }

    /// The scopes the request asks for.
    pub fn requested(&self) -> ScopeSet {
        ScopeSet::from_stored(&self.request.scope)
    }

    /// Whether `session` may answer for this request (`prompt=login` wants a fresh one).
    pub fn accepts(&self, session: &SessionUser) -> bool {
        !self.prompt.login || session.created_at >= self.request.created_at
    }

    /// Someone else signed in on this request first.
    pub fn claimed_by_other_than(&self, user_id: &str) -> bool {
        self.request
            .user_id
            .as_deref()
            .is_some_and(|u| u != user_id)
    }

    /// Only the user who was shown the consent page may answer it.
    pub fn shown_to(&self, user_id: &str) -> bool {
        self.request.user_id.as_deref() == Some(user_id) && self.request.consent_shown
    }

    /// Where errors go: redirects once the user has seen the consent page, or at once for
    /// a client an administrator registered.
    pub fn reply(&self) -> Reply<'_> {
        Reply {
            redirect: &self.request.redirect_uri,
            state: self.request.state.as_deref(),
            may_redirect: self.client.registration == Registration::Admin
                || self.request.consent_shown,
        }
    }
}
