//! GET|POST /login and POST /logout. The login form is protected against CSRF by a
//! double-submit token (a cookie and a hidden field that must agree); after sign-in the
//! session's own token takes over.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::form::{BrowserPost, Caller};
use super::{
    Next, base, cookie, current_session, device_cookie, form_expired, login_cookie, opaque_id,
    removal, see_other, session_cookie, unavailable,
};
use crate::accounts::{self, SignIn};
use crate::crypto::random;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::http::pages::{LoginPage, ProviderButton, error_page, render_with};
use crate::http::peer::client_key;
use crate::oauth::params::Params;
use crate::state::AppState;
use actix_web::cookie::Cookie;

pub async fn get_login(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let request = opaque_id(params.get("request"));
    let next = Next::parse(params.get("next"));
    page(&state, StatusCode::OK, request, next, String::new(), None).await
}

/// The login form with a fresh double-submit token.
async fn page(
    state: &AppState,
    status: StatusCode,
    request: Option<String>,
    next: Next,
    username: String,
    error: Option<String>,
) -> HttpResponse {
    let client_name = match &request {
        Some(id) => match state.store.authorization_request(id).await {
            Ok(Some(r)) => state
                .store
                .client(&r.client_id)
                .await
                .ok()
                .flatten()
                .map(|c| c.name),
            _ => None,
        },
        None => None,
    };
    let providers = enabled_providers(state).await;
    let csrf = random::token();
    let mut builder = HttpResponse::build(status);
    builder.cookie(cookie(state, login_cookie(state), csrf.clone()));
    if status == StatusCode::TOO_MANY_REQUESTS {
        builder.insert_header((header::RETRY_AFTER, accounts::THROTTLE_WINDOW.to_string()));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        builder.insert_header((header::RETRY_AFTER, "1"));
    }
    render_with(
        builder,
        &LoginPage {
            base: base(state),
            csrf,
            request,
            next: next.param(),
            client_name,
            username,
            error,
            providers,
            password_login: state.settings.password_login,
        },
    )
}

/// The buttons for enabled upstream providers; none when the database is unreachable
/// (the password form still renders, and its POST reports the outage).
pub async fn enabled_providers(state: &AppState) -> Vec<ProviderButton> {
    match state.store.upstream_providers(true).await {
        Ok(rows) => rows
            .into_iter()
            .map(|p| ProviderButton {
                id: p.id,
                display_name: p.display_name,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list upstream providers");
            Vec::new()
        }
    }
}

/// Re-renders the login page with an error (used by the upstream callback too).
pub async fn page_with_error(
    state: &AppState,
    status: StatusCode,
    request: Option<String>,
    error: String,
) -> HttpResponse {
    page(
        state,
        status,
        request,
        Next::Account,
        String::new(),
        Some(error),
    )
    .await
}

pub async fn post_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    post: BrowserPost,
) -> HttpResponse {
    let params = match post.form {
        Ok(p) => p,
        Err(e) => {
            return error_page(
                &base(&state),
                StatusCode::BAD_REQUEST,
                "Sign-in refused",
                &e.description,
            );
        }
    };
    let request = opaque_id(params.get("request"));
    let next = Next::parse(params.get("next"));
    if !state.settings.password_login {
        return page(
            &state,
            StatusCode::FORBIDDEN,
            request,
            next,
            String::new(),
            Some("Password sign-in is turned off here. Use one of the buttons.".to_owned()),
        )
        .await;
    }
    let username = params.get("username").unwrap_or("").trim().to_owned();
    if !post.from_login_page {
        let message = "The sign-in form expired. Please try again.".to_owned();
        return page(
            &state,
            StatusCode::FORBIDDEN,
            request,
            next,
            username,
            Some(message),
        )
        .await;
    }
    let password = params.get("password").unwrap_or("");
    let address = client_key(&req, &state.settings.limits.trusted_proxies);
    let device = req.cookie(device_cookie(&state));
    let device = device.as_ref().map(|c| c.value());
    let user = match accounts::sign_in(&state, &username, password, address, device).await {
        Ok(SignIn::Ok(user)) => user,
        Ok(SignIn::Refused) => {
            let message = "Wrong username or password.".to_owned();
            return page(
                &state,
                StatusCode::UNAUTHORIZED,
                request,
                next,
                username,
                Some(message),
            )
            .await;
        }
        Ok(SignIn::Throttled(_)) => {
            let message = "Too many failed attempts. Wait 15 minutes and try again.".to_owned();
            return page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                request,
                next,
                username,
                Some(message),
            )
            .await;
        }
        Ok(SignIn::Busy) => {
            let message = "Too many sign-ins at once. Try again in a moment.".to_owned();
            return page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                request,
                next,
                username,
                Some(message),
            )
            .await;
        }
        Err(e) => return unavailable(&state, e),
    };
    let event = AuditEvent::new(
        AuditKind::SigninSucceeded,
        Actor::user(&user.id),
        state.clock.now(),
    )
    .subject(&user.id)
    .source(address.to_string());
    let mut response = signed_in(&state, &req, &user.id, request, next, event).await;
    // This browser now knows the password: from here on its failures count against it
    // alone (a fresh id each time, so a copied cookie is not renewed by its owner).
    let value = accounts::device::issue(&state.master_key, &user.username.to_ascii_lowercase());
    let mut device = cookie(&state, device_cookie(&state), value);
    device.set_max_age(actix_web::cookie::time::Duration::seconds(
        accounts::device::DEVICE_TTL,
    ));
    let _ = response.add_cookie(&device);
    response
}

/// Starts a fresh session for `user_id`, recording `event` (how they signed in) with it,
/// and sends the browser on: back to the pending authorization request, or to the account
/// page.
pub async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
    user_id: &str,
    request: Option<String>,
    next: Next,
    event: AuditEvent,
) -> HttpResponse {
    // A new session on every sign-in (no fixation); the old one, if any, ends.
    if let Ok(Some((old, _))) = current_session(state, req).await {
        let _ = accounts::end_session(state, &old).await;
    }
    let token = match accounts::start_session(state, user_id, event).await {
        Ok(t) => t,
        Err(e) => return unavailable(state, e),
    };
    let next = match request {
        Some(id) => format!("{}/authorize/continue?request={id}", base(state)),
        None => format!("{}{}", base(state), next.path()),
    };
    let mut response = see_other(&next);
    for c in signed_in_cookies(state, token) {
        let _ = response.add_cookie(&c);
    }
    response
}

/// The cookies of a new session: the session's, and the spent login token removed.
pub fn signed_in_cookies(state: &AppState, token: String) -> [Cookie<'static>; 2] {
    [
        cookie(state, session_cookie(state), token),
        removal(state, login_cookie(state)),
    ]
}

pub async fn post_logout(state: web::Data<AppState>, post: BrowserPost) -> HttpResponse {
    match post.session {
        Ok(Caller::SignedIn { cookie, .. }) => {
            if let Err(e) = accounts::end_session(&state, &cookie).await {
                return unavailable(&state, e);
            }
        }
        Ok(Caller::Forged) => return form_expired(&state),
        Ok(Caller::Anonymous) => {}
        Err(e) => return unavailable(&state, e),
    }
    let mut response = see_other(&format!("{}/login", base(&state)));
    let _ = response.add_cookie(&removal(&state, session_cookie(&state)));
    response
}
