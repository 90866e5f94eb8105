//! The authorization endpoint (OAuth 2.1 §4.1.1, §4.1.2; RFC 7636; RFC 8707 §2; RFC 9207;
//! OIDC Core §3.1.2.1 `prompt`; RFC 8252 §8.6).
//!
//! `start` validates a request and stores it; `advance` moves a stored request on once
//! the browser has a session (to the consent page, or straight to a code when consent is
//! remembered); `decide` records the user's answer. Until the client and redirect URI are
//! known good, errors are pages, never redirects. After that they redirect with `error`,
//! `state` and `iss`, except for clients that registered themselves, which get pages until
//! the user has seen their consent screen: otherwise anyone could register a phishing
//! redirect URI and use us to bounce browsers to it.
//!
//! The parts: `request` (parsing, checking, storing and loading a request), `consent`
//! (remembered consent and the consent page's content), `approve` (the response: a code in
//! one transaction, or an error URL). Pages are named by `PageError`; their words belong
//! to `http::browser`.

mod approve;
mod consent;
mod request;

pub use consent::{AskedAgain, ConsentPrompt, Provenance, ScopeItem, consent_fingerprint};
pub use request::{MAX_REQUEST_BYTES, REQUEST_TTL};

use crate::oauth::error::ErrorCode;
use crate::state::AppState;
use crate::store::device::DeviceCodeRow;
use crate::store::sessions::SessionUser;

use approve::Refusal;
use consent::Answer;

/// Why the flow stopped.
#[derive(Debug)]
pub enum Failure {
    /// An error page: never a redirect.
    Page(PageError),
    /// An error response for the client, as a complete redirect URL.
    Redirect(String),
}

/// Which error page the browser gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// The request is longer than `MAX_REQUEST_BYTES`.
    TooLong,
    /// The query or form could not be read (the parser says why).
    Malformed(String),
    /// No `client_id`.
    MissingClientId,
    /// No such client, or a disabled one.
    UnknownClient,
    /// A metadata-document client whose document cannot be used (the validator says why).
    UnusableClient { detail: String },
    /// A `redirect_uri` the client did not register.
    UnregisteredRedirectUri,
    /// No `redirect_uri`, and the client registered more than one.
    RedirectUriRequired,
    /// An error for a client that may not be redirected to yet.
    Refused {
        code: ErrorCode,
        description: String,
    },
    /// The request expired, was used, or its client is gone.
    Expired,
    /// Another user signed in on this request.
    NotYours,
    /// The database failed: try again (status 503).
    Unavailable,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        let e: anyhow::Error = e.into();
        tracing::error!(error = format!("{e:#}"), "authorization failed");
        Failure::Page(PageError::Unavailable)
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

/// Validates an authorization request and stores it; returns its id.
pub async fn start(state: &AppState, raw: &[u8]) -> Result<String, Failure> {
    let params = request::parse(raw)?;
    let client = request::find_client(state, &params).await?;
    let redirect = request::redirect_uri(&client, &params)?;
    // From here on the redirect URI is one the client registered.
    let checked = request::check(state, &client, &params)
        .await
        .map_err(|r| request::reply(&client, &redirect, &params).refuse(state, r))?;
    request::store(state, &client, redirect, &params, checked).await
}

/// Moves request `id` on for the browser's `session` (if any).
pub async fn advance(
    state: &AppState,
    id: &str,
    session: Option<&SessionUser>,
) -> Result<Step, Failure> {
    let loaded = request::load(state, id).await?;
    let Some(session) = session.filter(|s| loaded.accepts(s)) else {
        if loaded.prompt.none {
            let refusal = Refusal::new(ErrorCode::LoginRequired, "the user is not signed in");
            return Err(loaded.reply().refuse(state, refusal));
        }
        return Ok(Step::Login {
            request_id: id.to_owned(),
            client_name: loaded.client.name.clone(),
        });
    };
    let user_id = &session.user_id;
    if loaded.claimed_by_other_than(user_id) {
        return Err(Failure::Page(PageError::NotYours));
    }
    let remembered = consent::remembered(state, &loaded, user_id).await?;
    let asked_again = match consent::answer(&loaded, &remembered) {
        // Claiming, consuming and the code are one transaction.
        Answer::Remembered => {
            let url = approve::approve(state, &loaded, session, &remembered).await?;
            return Ok(Step::Redirect(url));
        }
        Answer::AskUser(why) => why,
    };
    if loaded.prompt.none {
        let refusal = Refusal::new(
            ErrorCode::ConsentRequired,
            "the user has not consented to this request",
        );
        return Err(loaded.reply().refuse(state, refusal));
    }
    if !state
        .store
        .claim_authorization_request(id, user_id, true)
        .await?
    {
        return Err(Failure::Page(PageError::NotYours));
    }
    let prompt = consent::prompt(state, &loaded, &remembered, asked_again).await?;
    Ok(Step::Consent(prompt))
}

/// The consent page for the device authorization `device`, whose user code `user_id`
/// entered (RFC 8628 §3.3): the browser flow's page, with nothing to redirect to.
pub async fn device_prompt(
    state: &AppState,
    device: &DeviceCodeRow,
    user_id: &str,
) -> Result<ConsentPrompt, Failure> {
    let Some(loaded) = request::Loaded::device(state, device).await? else {
        return Err(Failure::Page(PageError::Expired));
    };
    let remembered = consent::remembered(state, &loaded, user_id).await?;
    consent::prompt(state, &loaded, &remembered, None).await
}

/// The user's answer to the device authorization `device` (already checked to be theirs
/// and pending).
pub async fn device_decide(
    state: &AppState,
    device: &DeviceCodeRow,
    user_id: &str,
    allow: bool,
) -> Result<(), Failure> {
    let Some(loaded) = request::Loaded::device(state, device).await? else {
        return Err(Failure::Page(PageError::Expired));
    };
    if !allow {
        return approve::deny_device(state, &loaded, user_id).await;
    }
    let remembered = consent::remembered(state, &loaded, user_id).await?;
    approve::approve_device(state, &loaded, user_id, &remembered).await
}

/// The user's answer on the consent page.
pub async fn decide(
    state: &AppState,
    id: &str,
    session: &SessionUser,
    allow: bool,
) -> Result<String, Failure> {
    let loaded = request::load(state, id).await?;
    let user_id = &session.user_id;
    if !loaded.shown_to(user_id) {
        return Err(Failure::Page(PageError::NotYours));
    }
    if !allow {
        return approve::deny(state, &loaded, user_id).await;
    }
    let remembered = consent::remembered(state, &loaded, user_id).await?;
    approve::approve(state, &loaded, session, &remembered).await
}
