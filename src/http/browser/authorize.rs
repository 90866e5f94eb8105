//! GET|POST /authorize, GET /authorize/continue, POST /consent.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::authorize_text as text;
use super::form::{BrowserPost, Caller};
use super::{base, current_session, opaque_id, see_other, unavailable};
use crate::http::oauth::read_form_bytes;
use crate::http::pages::{ConsentPage, ScopeLine, error_page, render};
use crate::http::peer::client_key;
use crate::limits::{self, Refusal};
use crate::oauth::authorize::{self, Failure, Step};
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::store::sessions::SessionUser;

pub async fn get_authorize(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    begin(&state, &req, req.query_string().as_bytes()).await
}

pub async fn post_authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    match read_form_bytes(&req, body).await {
        Ok(bytes) => begin(&state, &req, &bytes).await,
        Err(e) => error_page(
            &base(&state),
            StatusCode::BAD_REQUEST,
            "Invalid request",
            &e.description,
        ),
    }
}

async fn begin(state: &AppState, req: &HttpRequest, raw: &[u8]) -> HttpResponse {
    let session = match current_session(state, req).await {
        Ok(s) => s,
        Err(e) => return unavailable(state, e),
    };
    // A browser without a session is anyone: what it may make Warden store is bounded.
    if session.is_none() {
        let address = client_key(req, &state.settings.limits.trusted_proxies);
        if let Err(e) = limits::admit_authorization(state, address).await {
            return match e.downcast_ref::<Refusal>() {
                Some(Refusal::Rate(after)) => refusal_page(
                    state,
                    StatusCode::TOO_MANY_REQUESTS,
                    *after,
                    "Too many sign-in requests from your network. Wait a minute and try again.",
                ),
                Some(Refusal::Full) => refusal_page(
                    state,
                    StatusCode::SERVICE_UNAVAILABLE,
                    5,
                    "Warden is very busy right now. Try again in a moment.",
                ),
                None => unavailable(state, e),
            };
        }
    }
    let id = match authorize::start(state, raw).await {
        Ok(id) => id,
        Err(f) => return failure(state, f),
    };
    advance(state, &id, session.as_ref().map(|(_, s)| s)).await
}

fn refusal_page(state: &AppState, status: StatusCode, retry: i64, message: &str) -> HttpResponse {
    let mut response = error_page(&base(state), status, "Try again later", message);
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&retry.to_string()) {
        response
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    response
}

pub async fn get_continue(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let Some(id) = opaque_id(params.get("request")) else {
        return error_page(
            &base(&state),
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The request id is missing.",
        );
    };
    proceed(&state, &req, &id).await
}

async fn proceed(state: &AppState, req: &HttpRequest, id: &str) -> HttpResponse {
    let session = match current_session(state, req).await {
        Ok(s) => s,
        Err(e) => return unavailable(state, e),
    };
    advance(state, id, session.as_ref().map(|(_, s)| s)).await
}

async fn advance(state: &AppState, id: &str, session_user: Option<&SessionUser>) -> HttpResponse {
    match authorize::advance(state, id, session_user).await {
        Ok(Step::Login { request_id, .. }) => {
            see_other(&format!("{}/login?request={request_id}", base(state)))
        }
        Ok(Step::Redirect(url)) => see_other(&url),
        Ok(Step::Consent(prompt)) => match session_user {
            Some(user) => consent_page(state, user, prompt),
            None => HttpResponse::InternalServerError().finish(),
        },
        Err(f) => failure(state, f),
    }
}

fn consent_page(state: &AppState, user: &SessionUser, p: authorize::ConsentPrompt) -> HttpResponse {
    render_consent(state, user, p, "/consent")
}

/// The consent page, answered at `action` (the browser flow's, or the device flow's).
pub(super) fn render_consent(
    state: &AppState,
    user: &SessionUser,
    p: authorize::ConsentPrompt,
    action: &'static str,
) -> HttpResponse {
    let lines = |v: Vec<authorize::ScopeItem>| {
        v.into_iter()
            .map(|s| ScopeLine {
                name: s.name,
                description: s.description,
                includes: s.includes.join(", "),
            })
            .collect()
    };
    render(
        StatusCode::OK,
        &ConsentPage {
            base: base(state),
            action,
            csrf: user.csrf.clone(),
            request: p.request_id,
            username: user.username.clone(),
            client_name: p.client_name,
            client_id: p.client_id,
            registration: text::provenance(p.provenance).to_owned(),
            unverified: p.provenance.unverified(),
            redirect_host: p.redirect_host,
            resource_name: p.resource_name,
            resource_uri: p.resource_uri,
            new_scopes: lines(p.new_scopes),
            granted_scopes: lines(p.granted_scopes),
            asked_again: p.asked_again.map(text::asked_again),
            loopback_only: p.loopback_only,
            stays_signed_in: p.stays_signed_in,
        },
    )
}

pub async fn post_consent(state: web::Data<AppState>, post: BrowserPost) -> HttpResponse {
    let params = match post.form {
        Ok(p) => p,
        Err(e) => {
            return error_page(
                &base(&state),
                StatusCode::BAD_REQUEST,
                "Invalid request",
                &e.description,
            );
        }
    };
    let session = match post.session {
        Ok(Caller::SignedIn { user, .. }) => user,
        Ok(Caller::Anonymous) => {
            return error_page(
                &base(&state),
                StatusCode::UNAUTHORIZED,
                "Your session has ended",
                "Go back to the application and start again.",
            );
        }
        Ok(Caller::Forged) => {
            return error_page(
                &base(&state),
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your safety Warden did not act on it. Go back to the application and start again.",
            );
        }
        Err(e) => return unavailable(&state, e),
    };
    let Some(id) = opaque_id(params.get("request")) else {
        return error_page(
            &base(&state),
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The request id is missing.",
        );
    };
    let allow = match params.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return error_page(
                &base(&state),
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "Choose Allow or Deny.",
            );
        }
    };
    match authorize::decide(&state, &id, &session, allow).await {
        Ok(url) => see_other(&url),
        Err(f) => failure(&state, f),
    }
}

pub(super) fn failure(state: &AppState, f: Failure) -> HttpResponse {
    match f {
        Failure::Redirect(url) => see_other(&url),
        Failure::Page(e) => {
            let (status, title, message) = text::error_page(e);
            error_page(&base(state), status, title, &message)
        }
    }
}
