//! `GET|POST /admin/setup?token=…`: the first admin account, from the one-time link
//! `warden serve` prints while no admin exists (see `admin::setup`). The form is protected
//! like the login form (a double-submit token); the link's token is the credential.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::FormError;
use crate::admin::setup::{self, Setup};
use crate::crypto::random;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::http::browser::form::BrowserPost;
use crate::http::browser::login::signed_in_cookies;
use crate::http::browser::{base, cookie, login_cookie, see_other, unavailable};
use crate::http::pages::{error_page, render_with};
use crate::http::peer::client_key;
use crate::oauth::params::Params;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/setup.html")]
struct SetupPage {
    base: String,
    /// Where the console is, in full (the page names it).
    console: String,
    csrf: String,
    token: String,
    username: String,
    error: FormError,
}

fn spent(state: &AppState) -> HttpResponse {
    error_page(
        &base(state),
        StatusCode::NOT_FOUND,
        "This setup link does not work",
        "It was used already, has expired, or an admin exists. Sign in at the admin console, \
         or run `warden user add NAME --admin --password-stdin` on the server.",
    )
}

fn page(
    state: &AppState,
    status: StatusCode,
    token: String,
    username: String,
    error: FormError,
) -> HttpResponse {
    let csrf = random::token();
    let mut builder = HttpResponse::build(status);
    builder.cookie(cookie(state, login_cookie(state), csrf.clone()));
    render_with(
        builder,
        &SetupPage {
            base: base(state),
            console: state.settings.issuer.endpoint("/admin"),
            csrf,
            token,
            username,
            error,
        },
    )
}

pub async fn get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let token = params.get("token").unwrap_or("").to_owned();
    match setup::link_is_live(&state.store, &token, state.clock.now()).await {
        Ok(true) => page(
            &state,
            StatusCode::OK,
            token,
            String::new(),
            FormError::none(),
        ),
        Ok(false) => spent(&state),
        Err(e) => unavailable(&state, anyhow::anyhow!(e)),
    }
}

pub async fn post(state: web::Data<AppState>, req: HttpRequest, post: BrowserPost) -> HttpResponse {
    let params = match post.form {
        Ok(p) => p,
        Err(e) => {
            return error_page(
                &base(&state),
                StatusCode::BAD_REQUEST,
                "This form could not be read",
                &e.description,
            );
        }
    };
    let token = params.get("token").unwrap_or("").to_owned();
    let username = params.get("username").unwrap_or("").trim().to_owned();
    if !post.from_login_page {
        // A forged or stale form: show it again with a fresh token, spending nothing.
        return match setup::link_is_live(&state.store, &token, state.clock.now()).await {
            Ok(true) => page(
                &state,
                StatusCode::FORBIDDEN,
                token,
                username,
                FormError::conflict("The form expired. Please submit it again."),
            ),
            Ok(false) => spent(&state),
            Err(e) => unavailable(&state, anyhow::anyhow!(e)),
        };
    }
    let password = params.get("password").unwrap_or("").to_owned();
    let now = state.clock.now();
    let user = match setup::complete(&state.store, &token, username.clone(), password, now).await {
        Ok(Setup::Created(u)) => u,
        Ok(Setup::LinkGone) => return spent(&state),
        Err(e) => {
            return match super::failure(&state, e) {
                super::Failure::Form(error) => page(&state, error.status(), token, username, error),
                super::Failure::Page(response) => response,
            };
        }
    };
    let event = AuditEvent::new(AuditKind::SigninSucceeded, Actor::user(&user.id), now)
        .subject(&user.id)
        .source(client_key(&req, &state.settings.limits.trusted_proxies).to_string())
        .detail("via", "admin setup");
    let session = match crate::accounts::start_session(&state, &user.id, event).await {
        Ok(t) => t,
        Err(e) => return unavailable(&state, e),
    };
    let mut response = see_other(&format!("{}/admin/resources?done=created", base(&state)));
    for c in signed_in_cookies(&state, session) {
        let _ = response.add_cookie(&c);
    }
    response
}
