//! The authorization response (OAuth 2.1 §4.1.2, §4.1.2.1; RFC 9207 `iss`): the code,
//! issued in the transaction that claims the request and records the consent, or an error
//! sent back to the client's redirect URI when that is safe.

use serde_json::json;
use url::Url;

use crate::clock::UnixTime;
use crate::crypto::random;
use crate::domain::{Actor, AuditEvent, AuditKind, Consent, DeviceStatus};
use crate::oauth::error::{ErrorCode, OAuthError, rfc6749_description};
use crate::state::AppState;
use crate::store;
use crate::store::authorization::AuthorizationCodeRow;
use crate::store::sessions::SessionUser;

use super::consent::{Remembered, consent_fingerprint};
use super::request::Loaded;
use super::{Failure, PageError};

/// A request refused with an RFC 6749 error, or one that could not be judged at all.
pub(super) enum Refusal {
    Error(ErrorCode, String),
    Internal(anyhow::Error),
}

impl Refusal {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Refusal {
        Refusal::Error(code, description.into())
    }
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Refusal {
        match e.cause {
            Some(cause) => Refusal::Internal(cause),
            None => Refusal::Error(e.code, e.description.into_owned()),
        }
    }
}

/// Where an error for a request goes: its registered redirect URI with its `state`, or,
/// while redirecting is not yet safe, a page.
pub(super) struct Reply<'a> {
    pub redirect: &'a str,
    pub state: Option<&'a str>,
    pub may_redirect: bool,
}

impl Reply<'_> {
    pub fn refuse(&self, app: &AppState, refusal: Refusal) -> Failure {
        match refusal {
            Refusal::Internal(cause) => Failure::from(cause),
            Refusal::Error(code, description) if self.may_redirect => Failure::Redirect(error_url(
                app,
                self.redirect,
                self.state,
                code,
                &description,
            )),
            Refusal::Error(code, description) => {
                Failure::Page(PageError::Refused { code, description })
            }
        }
    }
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

/// An error response (OAuth 2.1 §4.1.2.1) as a redirect URL.
fn error_url(
    state: &AppState,
    redirect: &str,
    client_state: Option<&str>,
    code: ErrorCode,
    description: &str,
) -> String {
    let description = rfc6749_description(description.to_owned().into());
    response_url(
        state,
        redirect,
        &[
            ("error", code.as_str()),
            ("error_description", &description),
        ],
        client_state,
    )
}

/// The user said no: the request is used up (and the refusal audited with it), and the
/// client hears `access_denied`.
pub(super) async fn deny(
    state: &AppState,
    loaded: &Loaded,
    user_id: &str,
) -> Result<String, Failure> {
    let request = &loaded.request;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !store::authorization::consume_request(tx.conn(), &request.id, user_id, now).await? {
        return Err(Failure::Page(PageError::Expired));
    }
    let event = AuditEvent::new(AuditKind::ConsentRefused, Actor::user(user_id), now)
        .subject(user_id)
        .client(&request.client_id)
        .resource(&request.resource)
        .details(json!({ "scope": request.scope }))
        .failed("the user denied the request");
    tx.audit(event).await?;
    tx.commit().await?;
    crate::measure::consent(false);
    Ok(error_url(
        state,
        &request.redirect_uri,
        request.state.as_deref(),
        ErrorCode::AccessDenied,
        "the user denied the request",
    ))
}

/// Records consent (the grant's scope grows to cover the request) and issues the code.
pub(super) async fn approve(
    state: &AppState,
    loaded: &Loaded,
    session: &SessionUser,
    remembered: &Remembered,
) -> Result<String, Failure> {
    let now = state.clock.now();
    let user_id = session.user_id.as_str();
    let (code, mut row) = code_row(state, loaded, session, now);
    let requested = loaded.requested();
    let approved = match &remembered.grant {
        // Everything asked for is already granted, to the client as it is: nothing to record.
        Some(id) if remembered.current && requested.is_subset(&remembered.covers) => {
            row.grant_id = id.clone();
            approve_in_one_transaction(state, &loaded.request.id, user_id, now, None, &row).await?
        }
        // The consent is recorded in the transaction that issues its code: never one
        // without the other.
        _ => {
            let consent = consent_for(loaded, remembered);
            let approve = || {
                let request_id = &loaded.request.id;
                approve_in_one_transaction(state, request_id, user_id, now, Some(&consent), &row)
            };
            // Two approvals racing to start the same grant: the loser's transaction rolled
            // back whole, and a second try finds the winner's grant.
            match approve().await {
                Err(e) if crate::store::is_unique_violation(&e) => approve().await?,
                other => other?,
            }
        }
    };
    if approved.is_none() {
        return Err(Failure::Page(PageError::Expired));
    }
    let request = &loaded.request;
    Ok(response_url(
        state,
        &request.redirect_uri,
        &[("code", &code)],
        request.state.as_deref(),
    ))
}

/// What the user consents to by allowing `loaded`: everything granted before and the
/// request, to the client as it is now.
fn consent_for(loaded: &Loaded, remembered: &Remembered) -> Consent {
    Consent {
        scope: remembered
            .scopes
            .iter()
            .chain(loaded.requested().iter())
            .map(str::to_owned)
            .collect(),
        fingerprint: consent_fingerprint(&loaded.client),
    }
}

/// The user allowed a device authorization (RFC 8628 §3.3): the consent is recorded and
/// the device code approved with its grant in one transaction; the device's next poll
/// gets the tokens.
pub(super) async fn approve_device(
    state: &AppState,
    loaded: &Loaded,
    user_id: &str,
    remembered: &Remembered,
) -> Result<(), Failure> {
    let now = state.clock.now();
    let consent = consent_for(loaded, remembered);
    let request = &loaded.request;
    let approve = || async {
        let mut tx = state.store.begin().await?;
        let grant_id = store::grants::record_consent(
            tx.conn(),
            &request.client_id,
            user_id,
            &request.resource,
            &consent,
            now,
        )
        .await?;
        let answered = store::device::answer(
            tx.conn(),
            &request.id,
            user_id,
            DeviceStatus::Approved,
            Some(&grant_id),
            now,
        )
        .await?;
        if !answered {
            return Ok::<bool, sqlx::Error>(false);
        }
        let event = AuditEvent::new(AuditKind::ConsentGiven, Actor::user(user_id), now)
            .subject(user_id)
            .client(&request.client_id)
            .resource(&request.resource)
            .grant(&grant_id)
            .details(
                json!({ "scope": request.scope, "granted": consent.scope.to_scope_string(),
                             "flow": "device" }),
            );
        tx.audit(event).await?;
        tx.commit().await?;
        Ok(true)
    };
    // As for a code: two approvals racing to start the same grant; the loser retries once.
    let answered = match approve().await {
        Err(e) if crate::store::is_unique_violation(&e) => approve().await?,
        other => other?,
    };
    if !answered {
        return Err(Failure::Page(PageError::Expired));
    }
    crate::measure::consent(true);
    Ok(())
}

/// The user denied a device authorization: the device's next poll gets `access_denied`.
pub(super) async fn deny_device(
    state: &AppState,
    loaded: &Loaded,
    user_id: &str,
) -> Result<(), Failure> {
    let request = &loaded.request;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let denied = DeviceStatus::Denied;
    if !store::device::answer(tx.conn(), &request.id, user_id, denied, None, now).await? {
        return Err(Failure::Page(PageError::Expired));
    }
    let event = AuditEvent::new(AuditKind::ConsentRefused, Actor::user(user_id), now)
        .subject(user_id)
        .client(&request.client_id)
        .resource(&request.resource)
        .details(json!({ "scope": request.scope, "flow": "device" }))
        .failed("the user denied the request");
    tx.audit(event).await?;
    tx.commit().await?;
    crate::measure::consent(false);
    Ok(())
}

/// A new code for the request (returned in the clear once; stored as a hash). Its grant is
/// filled in once known.
fn code_row(
    state: &AppState,
    loaded: &Loaded,
    session: &SessionUser,
    now: UnixTime,
) -> (String, AuthorizationCodeRow) {
    let request = &loaded.request;
    let code = random::token();
    let row = AuthorizationCodeRow {
        code_hash: random::sha256_b64(&code),
        grant_id: String::new(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_sent: request.redirect_uri_sent,
        code_challenge: request.code_challenge.clone(),
        resource: request.resource.clone(),
        scope: request.scope.clone(),
        user_id: session.user_id.clone(),
        openid_scope: request.openid_scope.clone(),
        nonce: request.nonce.clone(),
        // OIDC Core §2: when the user last authenticated, not when this session was
        // last used.
        auth_time: Some(session.authenticated_at),
        created_at: now,
        expires_at: now + state.settings.authorization_code_ttl,
        consumed_at: None,
        dpop_jkt: request.dpop_jkt.clone(),
    };
    (code, row)
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
    let consented = consent.is_some();
    if let Some(consent) = consent {
        let event = AuditEvent::new(AuditKind::ConsentGiven, Actor::user(user_id), now)
            .subject(user_id)
            .client(&code.client_id)
            .resource(&code.resource)
            .grant(&grant_id)
            .details(json!({ "scope": code.scope, "granted": consent.scope.to_scope_string() }));
        tx.audit(event).await?;
    }
    tx.commit().await?;
    if consented {
        crate::measure::consent(true);
    }
    Ok(Some(grant_id))
}
