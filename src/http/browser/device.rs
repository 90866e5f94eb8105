//! GET|POST /device and POST /device/consent: the device verification page (RFC 8628
//! §3.3). A signed-in user enters the code their device shows, answers the consent page
//! the browser flow uses, and is told to return to the device.

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpRequest, HttpResponse, web};

use super::authorize::{failure, render_consent};
use super::form::{BrowserPost, Caller};
use super::{Next, base, current_session, form_expired, opaque_id, see_other, unavailable};
use crate::http::pages::{DevicePage, error_page, render, render_with};
use crate::http::peer::client_key;
use crate::oauth::device::user_code::MAX_INPUT_CHARS;
use crate::oauth::device::verification::{self, Entered};
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::store::sessions::SessionUser;

/// Sign in first, then come back here, with the code if it is well formed.
fn to_login(state: &AppState, user_code: Option<&str>) -> HttpResponse {
    let next = Next::device(user_code).param().unwrap_or_default();
    see_other(&format!("{}/login?next={next}", base(state)))
}

fn page(user: &SessionUser, state: &AppState, user_code: String) -> DevicePage {
    DevicePage {
        base: base(state),
        csrf: user.csrf.clone(),
        username: user.username.clone(),
        user_code,
        error: None,
        done: None,
    }
}

/// The code form, filled in from `verification_uri_complete`'s `user_code`. Nothing is
/// looked up until the user submits it (RFC 8628 §5.4: they confirm what they were sent).
pub async fn get_device(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let user = match current_session(&state, &req).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return to_login(&state, params.get("user_code")),
        Err(e) => return unavailable(&state, e),
    };
    let code = params
        .get("user_code")
        .filter(|c| c.chars().count() <= MAX_INPUT_CHARS && !c.chars().any(char::is_control))
        .unwrap_or_default()
        .to_owned();
    render(StatusCode::OK, &page(&user, &state, code))
}

pub async fn post_device(
    state: web::Data<AppState>,
    req: HttpRequest,
    post: BrowserPost,
) -> HttpResponse {
    let (params, user) = match signed_in(&state, post) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let typed = params.get("user_code").unwrap_or_default();
    let address = client_key(&req, &state.settings.limits.trusted_proxies);
    let refusal = |status: StatusCode, message: &'static str| {
        let kept = if typed.chars().count() <= MAX_INPUT_CHARS {
            typed.to_owned()
        } else {
            String::new()
        };
        let mut builder = HttpResponse::build(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            builder.insert_header((RETRY_AFTER, crate::limits::USER_CODE_WINDOW.to_string()));
        }
        render_with(
            builder,
            &DevicePage {
                error: Some(message),
                ..page(&user, &state, kept)
            },
        )
    };
    match verification::enter(&state, &user.user_id, address, typed).await {
        Ok(Entered::Consent(prompt)) => render_consent(&state, &user, prompt, "/device/consent"),
        Ok(Entered::Malformed) => refusal(
            StatusCode::BAD_REQUEST,
            "That is not a code. Codes are eight letters, like BCDF-GHJK.",
        ),
        Ok(Entered::Unknown) => refusal(
            StatusCode::BAD_REQUEST,
            "No device is waiting for that code. Check it and try again: codes expire after ten minutes.",
        ),
        Ok(Entered::TooMany(_)) => refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong codes. Wait ten minutes and try again.",
        ),
        Err(f) => failure(&state, f),
    }
}

pub async fn post_device_consent(state: web::Data<AppState>, post: BrowserPost) -> HttpResponse {
    let (params, user) = match signed_in(&state, post) {
        Ok(p) => p,
        Err(response) => return *response,
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
    match verification::decide(&state, &id, &user.user_id, allow).await {
        Ok(()) => render(
            StatusCode::OK,
            &DevicePage {
                done: Some(allow),
                ..page(&user, &state, String::new())
            },
        ),
        Err(f) => failure(&state, f),
    }
}

/// The form and the signed-in user it speaks for, or the response that refuses it.
fn signed_in(
    state: &AppState,
    post: BrowserPost,
) -> Result<(Params, SessionUser), Box<HttpResponse>> {
    let params = post.form.map_err(|e| {
        error_page(
            &base(state),
            StatusCode::BAD_REQUEST,
            "Invalid request",
            &e.description,
        )
    })?;
    let refusal = match post.session {
        Ok(Caller::SignedIn { user, .. }) => return Ok((params, user)),
        Ok(Caller::Anonymous) => to_login(state, None),
        Ok(Caller::Forged) => form_expired(state),
        Err(e) => unavailable(state, e),
    };
    Err(Box::new(refusal))
}
