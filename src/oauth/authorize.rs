//! The authorization endpoint (OAuth 2.1 §4.1.1, §4.1.2; RFC 7636; RFC 8707 §2; RFC 9207).
//!
//! `start` validates a request and stores it; `advance` moves a stored request on once
//! the browser has a session (to the consent page, or straight to a code when consent is
//! remembered); `decide` records the user's answer. Until the client and redirect URI are
//! known good, errors are pages, never redirects. After that they redirect with `error`,
//! `state` and `iss`, except for clients that registered themselves, which get pages until
//! the user has seen their consent screen: otherwise anyone could register a phishing
//! redirect URI and use us to bounce browsers to it.

use url::Url;

use crate::clock::UnixTime;
use crate::crypto::random;
use crate::domain::Consent;
use crate::domain::{AuthMethod, Client, GrantType, Registration};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::lookup::ClientLookupError;
use crate::oauth::params::Params;
use crate::oauth::policy;
use crate::oauth::scope::ScopeSet;
use crate::oauth::{pkce, redirect_uri};
use crate::state::AppState;
use crate::store;
use crate::store::authorization::{AuthorizationCodeRow, AuthorizationRequestRow};
use crate::store::sessions::SessionUser;

/// How long a validated request waits for sign-in and consent.
pub const REQUEST_TTL: i64 = 600;

/// Why the flow stopped.
#[derive(Debug)]
pub enum Failure {
    /// An error page (status 400, or 503 when the database is down): never a redirect.
    Page {
        title: &'static str,
        message: String,
        unavailable: bool,
    },
    /// An error response for the client, as a complete redirect URL.
    Redirect(String),
}

impl Failure {
    fn page(title: &'static str, message: impl Into<String>) -> Failure {
        Failure::Page {
            title,
            message: message.into(),
            unavailable: false,
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        let e: anyhow::Error = e.into();
        tracing::error!(error = format!("{e:#}"), "authorization failed");
        Failure::Page {
            title: "Temporarily unavailable",
            message: "Warden cannot complete this request right now. Try again in a moment.".into(),
            unavailable: true,
        }
    }
}

/// What the browser sees next.
#[derive(Debug)]
pub enum Step {
    /// Sign in first, then come back to this request.
    Login {
        request_id: String,
        client_name: String,
    },
    Consent(ConsentPrompt),
    /// The authorization response (a code, or an error the user chose, like access_denied).
    Redirect(String),
}

/// Everything the consent page shows.
#[derive(Debug)]
pub struct ConsentPrompt {
    pub request_id: String,
    pub client_name: String,
    pub client_id: String,
    pub registration: &'static str,
    pub unverified: bool,
    pub redirect_host: String,
    pub resource_name: String,
    pub resource_uri: String,
    pub new_scopes: Vec<(String, String)>,
    pub granted_scopes: Vec<(String, String)>,
    /// Why the user is asked again for what they allowed before, if they are.
    pub asked_again: Option<AskedAgain>,
    /// A metadata-document client whose every redirect is loopback: whoever controls the
    /// document's domain, any program on this device could be the one receiving the code.
    pub loopback_only: bool,
}

/// Why remembered consent did not answer for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskedAgain {
    /// A public client returning to a loopback address or a private-use scheme: its
    /// identity cannot be proven, so every request needs the user (RFC 8252 §8.6).
    NativeApp,
    /// The client's name or redirect URIs changed since the user consented.
    ClientChanged,
}

/// A hash of what the user saw and what decides where codes go: the client's name and its
/// redirect URIs (sorted, so order alone is no change). JSON keeps the parts unambiguous.
pub fn consent_fingerprint(client: &Client) -> String {
    let mut uris: Vec<&str> = client.redirect_uris.iter().map(|u| u.as_str()).collect();
    uris.sort();
    uris.dedup();
    let encoded = serde_json::json!([client.name, uris]).to_string();
    random::sha256_b64(&encoded)
}

/// Must this request be shown to the user even when consent is remembered? A public
/// client returning to a loopback or private-use redirect can be impersonated by any
/// program on the device (RFC 8252 §8.6), so it is "processed as if no previous request had
/// been approved". A confidential client proves itself with its credentials at the token
/// endpoint, and an https redirect belongs to its domain.
fn needs_user(client: &Client, redirect: &str) -> bool {
    client.token_endpoint_auth_method == AuthMethod::None && redirect_uri::is_native(redirect)
}

#[derive(Debug, Default, Clone, Copy)]
struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, String> {
    let mut prompt = Prompt::default();
    for word in value.unwrap_or("").split(' ').filter(|w| !w.is_empty()) {
        match word {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            other => {
                return Err(format!(
                    "prompt value {} is not supported",
                    crate::oauth::params::excerpt(other)
                ));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err("prompt=none cannot be combined with other values".into());
    }
    Ok(prompt)
}

/// Builds the redirect back to the client: `params`, then `state` and `iss` (RFC 9207).
fn response_url(
    state: &AppState,
    redirect: &str,
    params: &[(&str, &str)],
    client_state: Option<&str>,
) -> String {
    match Url::parse(redirect) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in params {
                    query.append_pair(k, v);
                }
                if let Some(s) = client_state {
                    query.append_pair("state", s);
                }
                query.append_pair("iss", state.settings.issuer.as_str());
            }
            url.to_string()
        }
        Err(_) => redirect.to_owned(),
    }
}

fn error_url(
    state: &AppState,
    redirect: &str,
    client_state: Option<&str>,
    code: ErrorCode,
    description: &str,
) -> String {
    response_url(
        state,
        redirect,
        &[
            ("error", code.as_str()),
            (
                "error_description",
                &crate::oauth::error::rfc6749_description(description.to_owned().into()),
            ),
        ],
        client_state,
    )
}

/// Validates an authorization request and stores it; returns its id.
/// The largest authorization request stored while the user signs in: room for a 4 KiB
/// `state` and every other parameter, not for an attacker's megabyte.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;

pub async fn start(state: &AppState, raw: &[u8]) -> Result<String, Failure> {
    if raw.len() > MAX_REQUEST_BYTES {
        return Err(Failure::page(
            "Invalid request",
            format!("The authorization request is longer than {MAX_REQUEST_BYTES} bytes."),
        ));
    }
    let params = Params::parse(raw).map_err(|m| Failure::page("Invalid request", m))?;
    let Some(client_id) = params.get("client_id") else {
        return Err(Failure::page(
            "Invalid request",
            "The request names no application (client_id is missing).",
        ));
    };
    let client = match crate::oauth::lookup::client(state, client_id).await {
        Ok(Some(c)) if c.enabled => c,
        Ok(_) => {
            return Err(Failure::page(
                "Unknown application",
                "This application is not registered with Warden, or it has been disabled.",
            ));
        }
        Err(ClientLookupError::Document(why)) => {
            return Err(Failure::page("This application cannot be used", why));
        }
        Err(ClientLookupError::Database(e)) => return Err(e.into()),
    };
    let registered = &client.redirect_uris;
    let (redirect, sent) = match params.get("redirect_uri") {
        Some(requested) => match redirect_uri::find_match(requested, registered) {
            Some(_) => (requested.to_owned(), true),
            None => {
                return Err(Failure::page(
                    "Invalid redirect address",
                    "The application asked to return to an address it has not registered, so Warden will not send you there.",
                ));
            }
        },
        None if registered.len() == 1 => (registered[0].as_str().to_owned(), false),
        None => {
            return Err(Failure::page(
                "Invalid request",
                "redirect_uri is required for this application.",
            ));
        }
    };
    let client_state = params.get("state").filter(|s| s.len() <= 4096);
    // From here on the redirect URI is one the client registered.
    let may_redirect = client.registration == Registration::Admin;
    let fail = |code: ErrorCode, description: String| {
        if may_redirect {
            Failure::Redirect(error_url(
                state,
                &redirect,
                client_state,
                code,
                &description,
            ))
        } else {
            Failure::page(
                "The application's request was refused",
                format!("{}: {description}", code.as_str()),
            )
        }
    };
    if params.get("state").is_some_and(|s| s.len() > 4096) {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "state is longer than 4096 characters".into(),
        ));
    }
    if params.get("request").is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported".into(),
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported".into(),
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "response_type is required".into(),
            ));
        }
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported".into(),
            ));
        }
    }
    let challenge = pkce::check_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(|m| fail(ErrorCode::InvalidRequest, m.into()))?;
    parse_prompt(params.get("prompt")).map_err(|m| fail(ErrorCode::InvalidRequest, m))?;
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow".into(),
        ));
    }
    let resources: Vec<&str> = params.get_all("resource").collect();
    let resource = policy::resolve_resource(state, &client, &resources)
        .await
        .map_err(|e| oauth_failure(e, &fail))?;
    let scope = policy::resolve_scope(&client, &resource, params.get("scope"))
        .map_err(|e| oauth_failure(e, &fail))?;

    let now = state.clock.now();
    let row = AuthorizationRequestRow {
        id: random::token(),
        client_id: client.client_id.clone(),
        redirect_uri: redirect.clone(),
        redirect_uri_sent: sent,
        state: client_state.map(str::to_owned),
        scope: scope.to_scope_string(),
        resource: resource.uri,
        code_challenge: challenge,
        prompt: params.get("prompt").unwrap_or("").to_owned(),
        user_id: None,
        consent_shown: false,
        created_at: now,
        expires_at: now + REQUEST_TTL,
        consumed_at: None,
    };
    state.store.insert_authorization_request(&row).await?;
    Ok(row.id)
}

fn oauth_failure(e: OAuthError, fail: &impl Fn(ErrorCode, String) -> Failure) -> Failure {
    match e.cause {
        Some(cause) => Failure::from(cause),
        None => fail(e.code, e.description.into_owned()),
    }
}

/// A stored request with what it refers to, checked to be still usable.
struct Loaded {
    request: AuthorizationRequestRow,
    client: Client,
    prompt: Prompt,
}

async fn load(state: &AppState, id: &str) -> Result<Loaded, Failure> {
    let now = state.clock.now();
    let expired = || {
        Failure::page(
            "This sign-in has expired",
            "Go back to the application and start again.",
        )
    };
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
    let prompt = parse_prompt(Some(&request.prompt)).unwrap_or_default();
    Ok(Loaded {
        request,
        client,
        prompt,
    })
}

impl Loaded {
    fn may_redirect(&self) -> bool {
        self.client.registration == Registration::Admin || self.request.consent_shown
    }

    fn fail(&self, state: &AppState, code: ErrorCode, description: &str) -> Failure {
        if self.may_redirect() {
            Failure::Redirect(error_url(
                state,
                &self.request.redirect_uri,
                self.request.state.as_deref(),
                code,
                description,
            ))
        } else {
            Failure::page(
                "The application's request was refused",
                format!("{}: {description}", code.as_str()),
            )
        }
    }
}

/// Moves request `id` on for the browser's `session` (if any).
pub async fn advance(
    state: &AppState,
    id: &str,
    session: Option<&SessionUser>,
) -> Result<Step, Failure> {
    let loaded = load(state, id).await?;
    let fresh_enough =
        |s: &&SessionUser| !loaded.prompt.login || s.created_at >= loaded.request.created_at;
    let Some(session) = session.filter(fresh_enough) else {
        if loaded.prompt.none {
            return Err(loaded.fail(state, ErrorCode::LoginRequired, "the user is not signed in"));
        }
        return Ok(Step::Login {
            request_id: id.to_owned(),
            client_name: loaded.client.name.clone(),
        });
    };
    let someone_else = || {
        Failure::page(
            "This request belongs to someone else",
            "Go back to the application and start again.",
        )
    };
    if loaded
        .request
        .user_id
        .as_deref()
        .is_some_and(|u| u != session.user_id)
    {
        return Err(someone_else());
    }
    let requested = ScopeSet::from_stored(&loaded.request.scope);
    let remembered = remembered_consent(state, &loaded, &session.user_id).await?;
    let granted = &remembered.scopes;
    let covered = requested.is_subset(granted);
    let native = needs_user(&loaded.client, &loaded.request.redirect_uri);
    if covered && remembered.current && !native && !loaded.prompt.consent {
        // Consent remembered: claiming, consuming and the code are one transaction.
        return approve(state, &loaded, &session.user_id, &remembered)
            .await
            .map(Step::Redirect);
    }
    if loaded.prompt.none {
        return Err(loaded.fail(
            state,
            ErrorCode::ConsentRequired,
            "the user has not consented to this request",
        ));
    }
    if !state
        .store
        .claim_authorization_request(id, &session.user_id, true)
        .await?
    {
        return Err(someone_else());
    }
    let resource = state
        .store
        .resource_by_uri(&loaded.request.resource)
        .await?;
    let describe = |set: ScopeSet| async move {
        let mut lines = Vec::new();
        for name in set.iter() {
            let description = state
                .store
                .scope(name)
                .await?
                .map(|s| s.description)
                .unwrap_or_default();
            lines.push((name.to_owned(), description));
        }
        Ok::<_, sqlx::Error>(lines)
    };
    // What was granted before stays granted on the page (the user confirms it with one
    // click); only the reason for asking again is new.
    let asked_again = if !covered || loaded.prompt.consent {
        None
    } else if native {
        Some(AskedAgain::NativeApp)
    } else if remembered.grant.is_some() && !remembered.current {
        Some(AskedAgain::ClientChanged)
    } else {
        None
    };
    let uris = &loaded.client.redirect_uris;
    let loopback_only = loaded.client.registration == Registration::MetadataDocument
        && !uris.is_empty()
        && uris.iter().all(|u| redirect_uri::is_loopback(u.as_str()));
    let new: ScopeSet = requested.difference(granted).map(str::to_owned).collect();
    let (registration, unverified) = match loaded.client.registration {
        Registration::Admin => ("Registered by an administrator of this server", false),
        Registration::MetadataDocument => {
            let host = Url::parse(&loaded.client.client_id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            match crate::oauth::domain_policy::trust_for(&state.store, &host).await? {
                Some(crate::oauth::domain_policy::DomainTrust::Trusted) => (
                    "Published by a domain this server's administrators trust",
                    false,
                ),
                _ => ("Identified only by a metadata document it publishes", true),
            }
        }
        Registration::Dynamic => ("Registered itself with this server", true),
    };
    Ok(Step::Consent(ConsentPrompt {
        request_id: id.to_owned(),
        client_name: loaded.client.name.clone(),
        client_id: loaded.client.client_id.clone(),
        registration,
        unverified,
        redirect_host: Url::parse(&loaded.request.redirect_uri)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(str::to_owned)
                    .or_else(|| Some(u.scheme().to_owned()))
            })
            .unwrap_or_default(),
        resource_name: resource
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        resource_uri: loaded.request.resource.clone(),
        new_scopes: describe(new).await?,
        granted_scopes: describe(requested.intersection(granted)).await?,
        asked_again,
        loopback_only,
    }))
}

/// The user's answer on the consent page.
pub async fn decide(
    state: &AppState,
    id: &str,
    session: &SessionUser,
    allow: bool,
) -> Result<String, Failure> {
    let loaded = load(state, id).await?;
    if loaded.request.user_id.as_deref() != Some(session.user_id.as_str())
        || !loaded.request.consent_shown
    {
        return Err(Failure::page(
            "This request belongs to someone else",
            "Go back to the application and start again.",
        ));
    }
    if !allow {
        if !state
            .store
            .consume_authorization_request(id, &session.user_id, state.clock.now())
            .await?
        {
            return Err(Failure::page(
                "This sign-in has expired",
                "Go back to the application and start again.",
            ));
        }
        return Ok(error_url(
            state,
            &loaded.request.redirect_uri,
            loaded.request.state.as_deref(),
            ErrorCode::AccessDenied,
            "the user denied the request",
        ));
    }
    let remembered = remembered_consent(state, &loaded, &session.user_id).await?;
    approve(state, &loaded, &session.user_id, &remembered).await
}

/// What the user already granted this client for this resource.
struct Remembered {
    /// The live grant that holds it.
    grant: Option<String>,
    /// Its scopes that the admin still permits.
    scopes: ScopeSet,
    /// Whether it was given to the client as it is now (same name and redirect URIs).
    current: bool,
}

/// What the user already granted this client for this resource (the remembered consent).
/// Only what the admin still permits counts (`policy::still_permitted`): a scope taken
/// from the client or the resource is asked for again, and a consent that grows drops
/// what is no longer permitted.
async fn remembered_consent(
    state: &AppState,
    loaded: &Loaded,
    user_id: &str,
) -> Result<Remembered, sqlx::Error> {
    let Some(grant) = state
        .store
        .live_user_grant(&loaded.client.client_id, user_id, &loaded.request.resource)
        .await?
    else {
        return Ok(Remembered {
            grant: None,
            scopes: ScopeSet::default(),
            current: false,
        });
    };
    let current =
        grant.consent_fingerprint.as_deref() == Some(consent_fingerprint(&loaded.client).as_str());
    let granted = match crate::oauth::lookup::resource(state, &loaded.request.resource).await? {
        Some(resource) => policy::still_permitted(
            &ScopeSet::from_stored(&grant.scope),
            &loaded.client,
            &resource,
        ),
        None => ScopeSet::default(),
    };
    Ok(Remembered {
        grant: Some(grant.id),
        scopes: granted,
        current,
    })
}

/// Claims the request, records the consent (when there is one to record) and issues the
/// code, all or nothing: `None` when the request was no longer pending.
async fn approve_in_one_transaction(
    state: &AppState,
    request_id: &str,
    user_id: &str,
    now: UnixTime,
    consent: Option<&Consent>,
    code: &AuthorizationCodeRow,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = state.store.begin().await?;
    if !store::authorization::claim_request(tx.conn(), request_id, user_id, now).await? {
        return Ok(None);
    }
    let grant_id = match consent {
        None => code.grant_id.clone(),
        Some(consent) => {
            store::grants::record_consent(
                tx.conn(),
                &code.client_id,
                user_id,
                &code.resource,
                consent,
                now,
            )
            .await?
        }
    };
    store::authorization::insert_code(tx.conn(), code, &grant_id).await?;
    tx.commit().await?;
    Ok(Some(grant_id))
}

/// Records consent (the grant's scope grows to cover the request) and issues the code.
async fn approve(
    state: &AppState,
    loaded: &Loaded,
    user_id: &str,
    remembered: &Remembered,
) -> Result<String, Failure> {
    let now = state.clock.now();
    let request = &loaded.request;
    let requested = ScopeSet::from_stored(&request.scope);
    let granted = &remembered.scopes;
    let code = random::token();
    let mut row = AuthorizationCodeRow {
        code_hash: random::sha256_b64(&code),
        grant_id: String::new(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_sent: request.redirect_uri_sent,
        code_challenge: request.code_challenge.clone(),
        resource: request.resource.clone(),
        scope: request.scope.clone(),
        user_id: user_id.to_owned(),
        created_at: now,
        expires_at: now + state.settings.authorization_code_ttl,
        consumed_at: None,
    };
    let approved = match &remembered.grant {
        // Everything asked for is already granted, to the client as it is: nothing to record.
        Some(id) if remembered.current && requested.is_subset(granted) => {
            row.grant_id = id.clone();
            approve_in_one_transaction(state, &request.id, user_id, now, None, &row)
                .await?
                .is_some()
        }
        // The consent is recorded in the transaction that issues its code: never one
        // without the other.
        _ => {
            let consent = Consent {
                scope: granted
                    .iter()
                    .chain(requested.iter())
                    .map(str::to_owned)
                    .collect(),
                fingerprint: consent_fingerprint(&loaded.client),
            };
            let approve = || {
                approve_in_one_transaction(state, &request.id, user_id, now, Some(&consent), &row)
            };
            // Two approvals racing to start the same grant: the loser's transaction rolled
            // back whole, and a second try finds the winner's grant.
            let approved = match approve().await {
                Err(e) if crate::store::is_unique_violation(&e) => approve().await,
                other => other,
            };
            approved?.is_some()
        }
    };
    if !approved {
        return Err(Failure::page(
            "This sign-in has expired",
            "Go back to the application and start again.",
        ));
    }
    Ok(response_url(
        state,
        &request.redirect_uri,
        &[("code", &code)],
        request.state.as_deref(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn client(name: &str, uris: &[&str]) -> Client {
        let id = "https://app.example.com/client.json";
        let doc = serde_json::json!({"client_id": id, "client_name": name,
                                     "redirect_uris": uris, "token_endpoint_auth_method": "none"});
        crate::oauth::cimd::validate(id, doc.to_string().as_bytes(), 0).unwrap()
    }

    #[test]
    fn the_consent_fingerprint_follows_the_name_and_redirects_but_not_their_order() {
        let a = "https://app.example.com/cb";
        let b = "http://127.0.0.1/cb";
        let base = consent_fingerprint(&client("App", &[a, b]));
        assert_eq!(base, consent_fingerprint(&client("App", &[b, a])));
        assert_ne!(base, consent_fingerprint(&client("App", &[a])));
        assert_ne!(
            base,
            consent_fingerprint(&client("App", &[a, b, "https://evil.example/cb"]))
        );
        assert_ne!(base, consent_fingerprint(&client("App 2", &[a, b])));
    }

    #[test]
    fn only_public_clients_on_native_redirects_need_the_user_every_time() {
        let mut c = client("App", &["https://app.example.com/cb"]);
        assert!(needs_user(&c, "http://127.0.0.1:9999/cb"));
        assert!(needs_user(&c, "com.example.app:/cb"));
        assert!(!needs_user(&c, "https://app.example.com/cb"));
        c.token_endpoint_auth_method = AuthMethod::ClientSecretBasic;
        assert!(!needs_user(&c, "http://127.0.0.1:9999/cb"));
    }
}
