//! Who may use the console, decided once per request: a live session whose user has the
//! `admin` role. A form must also carry the session's CSRF token, and a destructive one a
//! password proven within the last five minutes. When either is missing (a stale form, an
//! expired session, an old sign-in) the answer is a page that asks for the password again
//! and posts the very same form back, so nothing the admin typed is lost.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::accounts::{self, SignIn};
use crate::crypto::random;
use crate::domain::{Actor, AuditEvent, AuditKind, Role};
use crate::http::browser::form::{BrowserPost, Caller};
use crate::http::browser::login::signed_in_cookies;
use crate::http::browser::{
    base, cookie, current_session, device_cookie, login_cookie, see_other, unavailable,
};
use crate::http::pages::{error_page, render_with};
use crate::http::peer::client_key;
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::store::sessions::SessionUser;

/// How long a password proves intent for destructive actions.
pub const REAUTH_AFTER: i64 = 5 * 60;

/// Form fields the gate reads and never hands on.
const GATE_FIELDS: [&str; 3] = ["csrf", "reauth_username", "reauth_password"];

/// A signed-in admin: what every console handler receives.
pub struct Admin {
    pub user_id: String,
    pub username: String,
    pub csrf: String,
}

impl Admin {
    /// Who the audit log says acted.
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user_id)
    }

    fn of(s: SessionUser) -> Admin {
        Admin {
            user_id: s.user_id,
            username: s.username,
            csrf: s.csrf,
        }
    }
}

/// What a console form asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Creates or edits: the session and its CSRF token suffice.
    Change,
    /// Deletes, disables, revokes, rotates, grants admin: also a recent password.
    Destructive,
}

/// The admin behind a console page, or the answer to send instead: the sign-in page for
/// no session, 403 (audited) for a user who is not an admin.
pub async fn admin_for_page(state: &AppState, req: &HttpRequest) -> Result<Admin, HttpResponse> {
    match current_session(state, req).await {
        Ok(Some((_, s))) if s.role == Role::Admin => Ok(Admin::of(s)),
        Ok(Some((_, s))) => Err(denied(state, req, &s).await),
        Ok(None) => Err(see_other(&format!("{}/login?next=admin", base(state)))),
        Err(e) => Err(unavailable(state, e)),
    }
}

/// The admin behind a console form and the form's own fields (without the gate's), or the
/// answer to send instead. See the module header.
pub async fn admin_for_action(
    state: &AppState,
    req: &HttpRequest,
    post: BrowserPost,
    action: Action,
) -> Result<(Admin, Params), HttpResponse> {
    let params = match post.form {
        Ok(p) => p,
        Err(e) => {
            return Err(error_page(
                &base(state),
                StatusCode::BAD_REQUEST,
                "This form could not be read",
                &e.description,
            ));
        }
    };
    let carried = Carried::of(req, &params);
    let session = match post.session {
        Ok(s) => s,
        Err(e) => return Err(unavailable(state, e)),
    };
    let now = state.clock.now();
    match session {
        Caller::Anonymous => {
            Err(sign_in_again(state, req, &params, post.from_login_page, carried).await)
        }
        Caller::Forged => match current_session(state, req).await {
            // A stale form (an older session's, or a page left open): ask before acting.
            Ok(Some((_, s))) if s.role == Role::Admin => {
                Err(confirm(state, &s, carried, None, StatusCode::FORBIDDEN, action).await)
            }
            Ok(Some((_, s))) => Err(denied(state, req, &s).await),
            Ok(None) => Err(sign_in_again(state, req, &params, false, carried).await),
            Err(e) => Err(unavailable(state, e)),
        },
        Caller::SignedIn { user, .. } if user.role != Role::Admin => {
            Err(denied(state, req, &user).await)
        }
        Caller::SignedIn { user, .. } => {
            if let Some(password) = params.get("reauth_password") {
                return match check_password(state, req, &user.username, password).await {
                    Ok(()) => {
                        if let Err(e) = state.store.reauthenticated(&user.token_hash, now).await {
                            return Err(unavailable(state, e.into()));
                        }
                        Ok((Admin::of(user), carried.into_params()))
                    }
                    Err((status, message)) => {
                        Err(confirm(state, &user, carried, Some(message), status, action).await)
                    }
                };
            }
            if action == Action::Destructive && now - user.authenticated_at > REAUTH_AFTER {
                return Err(confirm(
                    state,
                    &user,
                    carried,
                    None,
                    StatusCode::UNAUTHORIZED,
                    action,
                )
                .await);
            }
            Ok((Admin::of(user), carried.into_params()))
        }
    }
}

/// The form being carried through a re-authentication: where it posts and its fields.
pub struct Carried {
    action: String,
    fields: Vec<(String, String)>,
}

impl Carried {
    fn of(req: &HttpRequest, params: &Params) -> Carried {
        Carried {
            action: req.uri().path().to_owned(),
            fields: params
                .iter()
                .filter(|(n, _)| !GATE_FIELDS.contains(n))
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    fn into_params(self) -> Params {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (n, v) in &self.fields {
            body.append_pair(n, v);
        }
        Params::parse(body.finish().as_bytes()).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "admin/reauth.html")]
struct ReauthPage {
    base: String,
    title: &'static str,
    message: String,
    error: Option<String>,
    action: String,
    fields: Vec<(String, String)>,
    csrf: String,
    /// Sign in whole (no session): ask for the username too.
    username: Option<String>,
    /// The account has no password (an upstream sign-in): it confirms with a button when
    /// its sign-in is recent enough for the action, and otherwise must sign in again.
    no_password: bool,
    can_continue: bool,
}

/// Asks the signed-in admin for their password before posting `carried` again.
async fn confirm(
    state: &AppState,
    user: &SessionUser,
    carried: Carried,
    error: Option<String>,
    status: StatusCode,
    action: Action,
) -> HttpResponse {
    let no_password = match state.store.user_by_id(&user.user_id).await {
        Ok(u) => u.is_none_or(|u| u.password_hash.is_empty()),
        Err(e) => return unavailable(state, e.into()),
    };
    // Without a password, only a recent enough sign-in can confirm: a button that posted
    // the form again would otherwise come straight back here.
    let recent =
        action == Action::Change || state.clock.now() - user.authenticated_at <= REAUTH_AFTER;
    render_with(
        HttpResponse::build(status),
        &ReauthPage {
            base: base(state),
            title: "Confirm it is you",
            message: if no_password {
                "Nothing has been changed yet.".into()
            } else {
                "Enter your password to continue. Nothing has been changed yet; what you \
                 entered is kept."
                    .into()
            },
            error,
            action: carried.action,
            fields: carried.fields,
            csrf: user.csrf.clone(),
            username: None,
            no_password,
            can_continue: no_password && recent,
        },
    )
}

/// No session: a sign-in form that keeps the fields; once signed in, the admin confirms
/// the action on a page carrying the new session's token.
async fn sign_in_again(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
    from_login_page: bool,
    carried: Carried,
) -> HttpResponse {
    let username = params
        .get("reauth_username")
        .unwrap_or("")
        .trim()
        .to_owned();
    let password = params.get("reauth_password");
    let mut error = None;
    let mut status = StatusCode::UNAUTHORIZED;
    if let (Some(password), true) = (password, from_login_page) {
        match check_password(state, req, &username, password).await {
            Ok(()) => return continue_signed_in(state, req, &username, carried).await,
            Err((s, message)) => {
                status = s;
                error = Some(message);
            }
        }
    }
    let csrf = random::token();
    let mut builder = HttpResponse::build(status);
    builder.cookie(cookie(state, login_cookie(state), csrf.clone()));
    render_with(
        builder,
        &ReauthPage {
            base: base(state),
            title: "Sign in again",
            message: "Your session ended. Sign in to continue; what you entered is kept.".into(),
            error,
            action: carried.action,
            fields: carried.fields,
            csrf,
            username: Some(username),
            no_password: !state.settings.password_login,
            can_continue: false,
        },
    )
}

/// Signed in again: a fresh session, and the form once more to confirm with its token.
async fn continue_signed_in(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    carried: Carried,
) -> HttpResponse {
    let user = match state.store.user_by_name(username).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return error_page(
                &base(state),
                StatusCode::UNAUTHORIZED,
                "Sign-in refused",
                "Wrong username or password.",
            );
        }
        Err(e) => return unavailable(state, e.into()),
    };
    if user.role != Role::Admin {
        return error_page(
            &base(state),
            StatusCode::FORBIDDEN,
            "Not an administrator",
            "This account cannot use the admin console.",
        );
    }
    let address = client_key(req, &state.settings.limits.trusted_proxies);
    let event = AuditEvent::new(
        AuditKind::SigninSucceeded,
        Actor::user(&user.id),
        state.clock.now(),
    )
    .subject(&user.id)
    .source(address.to_string())
    .detail("via", "admin console");
    let (token, csrf) = match accounts::start_session_with_csrf(state, &user.id, event).await {
        Ok(t) => t,
        Err(e) => return unavailable(state, e),
    };
    let mut builder = HttpResponse::build(StatusCode::OK);
    for c in signed_in_cookies(state, token) {
        builder.cookie(c);
    }
    render_with(
        builder,
        &ReauthPage {
            base: base(state),
            title: "Signed in",
            message: "Confirm to finish what you started.".into(),
            error: None,
            action: carried.action,
            fields: carried.fields,
            csrf,
            username: None,
            no_password: true,
            can_continue: true,
        },
    )
}

/// The password check of sign-in, with its throttle: `Err` is the status and the message.
async fn check_password(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    password: &str,
) -> Result<(), (StatusCode, String)> {
    let address = client_key(req, &state.settings.limits.trusted_proxies);
    let device = req.cookie(device_cookie(state));
    let device = device.as_ref().map(|c| c.value());
    match accounts::sign_in(state, username, password, address, device).await {
        Ok(SignIn::Ok(_)) => Ok(()),
        Ok(SignIn::Refused) => Err((
            StatusCode::UNAUTHORIZED,
            "Wrong username or password.".into(),
        )),
        Ok(SignIn::Throttled(_)) => Err((
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts. Wait 15 minutes and try again.".into(),
        )),
        Ok(SignIn::Busy) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many sign-ins at once. Try again in a moment.".into(),
        )),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "console re-authentication failed");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "Warden cannot check the password right now.".into(),
            ))
        }
    }
}

/// 403 for a signed-in user who is not an admin; audited at most once a minute per user,
/// so reloading the page cannot flood the log.
async fn denied(state: &AppState, req: &HttpRequest, user: &SessionUser) -> HttpResponse {
    let now = state.clock.now();
    let event = AuditEvent::new(
        AuditKind::AdminAccessDenied,
        Actor::user(&user.user_id),
        now,
    )
    .subject(&user.user_id)
    .source(client_key(req, &state.settings.limits.trusted_proxies).to_string())
    .failed("not an admin")
    .detail("path", req.uri().path());
    if let Err(e) = state.store.audit_once_since(&event, now - 60).await {
        tracing::warn!(error = %e, "cannot audit a refused console request");
    }
    error_page(
        &base(state),
        StatusCode::FORBIDDEN,
        "Not an administrator",
        "Your account cannot use the admin console. Ask an administrator for access.",
    )
}
