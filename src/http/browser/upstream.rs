//! POST /login/upstream/{provider} (a button on the login or account page) and
//! GET /login/upstream/{provider}/callback (where the provider sends the browser back).
//! Every failure is a page and leaves no session: see `crate::upstream` for the checks.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::form::{BrowserPost, Caller};
use super::{
    base, cookie, current_session, opaque_id, removal, see_other, unavailable, upstream_cookie,
};
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::http::pages::error_page;
use crate::http::peer::client_key;
use crate::limits;
use crate::measure::{self, SignInOutcome};
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::upstream::callback::{self, Answer, Unbound};
use crate::upstream::{self, UpstreamError};

pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    provider: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let params = match post.form {
        Ok(p) => p,
        Err(e) => return refused(&state, StatusCode::BAD_REQUEST, &e.description),
    };
    let request = opaque_id(params.get("request"));
    // Linking from the account page proves the session; signing in proves the login form.
    let link_user_id = if params.get("link") == Some("1") {
        match post.session {
            Ok(Caller::SignedIn { user, .. }) => Some(user.user_id),
            Ok(_) => return expired(&state),
            Err(e) => return unavailable(&state, e),
        }
    } else {
        if !post.from_login_page {
            return expired(&state);
        }
        let address = client_key(&req, &state.settings.limits.trusted_proxies);
        if let Err(e) = limits::admit_upstream_login(&state, address).await {
            return match e.downcast_ref::<limits::Refusal>() {
                Some(_) => refused(
                    &state,
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many sign-in requests from your network. Wait a minute and try again.",
                ),
                None => unavailable(&state, e),
            };
        }
        None
    };
    let provider = match state.store.upstream_provider(&provider).await {
        Ok(Some(p)) if p.enabled => p,
        Ok(_) => {
            return refused(
                &state,
                StatusCode::NOT_FOUND,
                "This sign-in option is not available.",
            );
        }
        Err(e) => return unavailable(&state, e.into()),
    };
    match upstream::begin(&state, &provider, request, link_user_id).await {
        Ok(begun) => {
            let mut response = see_other(&begun.location);
            let _ = response.add_cookie(&cookie(
                &state,
                upstream_cookie(&state),
                begun.browser_secret,
            ));
            response
        }
        Err(e) => failure(&state, &provider.display_name, e),
    }
}

pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    provider: web::Path<String>,
) -> HttpResponse {
    let Ok(params) = Params::parse(req.query_string().as_bytes()) else {
        return refused(
            &state,
            StatusCode::BAD_REQUEST,
            "The identity provider sent back a malformed answer.",
        );
    };
    let answer = Answer::read(|name| params.get(name));
    let browser = req
        .cookie(upstream_cookie(&state))
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let pending = match callback::resume(&state, &provider, &answer, &browser).await {
        Ok(pending) => pending,
        Err(e) => return unbound(&state, e),
    };
    if pending.link_user_id.is_some() {
        let signed_in_as = match current_session(&state, &req).await {
            Ok(session) => session.map(|(_, s)| s.user_id),
            Err(e) => return unavailable(&state, e),
        };
        if let Err(e) = callback::check_link(&pending, signed_in_as.as_deref()) {
            return unbound(&state, e);
        }
    }
    let provider = match state.store.upstream_provider(&provider).await {
        Ok(Some(p)) if p.enabled => p,
        Ok(_) => {
            return clear(
                refused(
                    &state,
                    StatusCode::NOT_FOUND,
                    "This sign-in option is not available.",
                ),
                &state,
            );
        }
        Err(e) => return unavailable(&state, e.into()),
    };
    let result = async {
        let code = answer.code(&provider.display_name)?;
        let identity = upstream::finish(&state, &provider, &pending, code, answer.iss).await?;
        let linking = pending.link_user_id.as_deref();
        upstream::accounts::resolve(&state, &provider, &identity, linking).await
    }
    .await;
    let address = client_key(&req, &state.settings.limits.trusted_proxies).to_string();
    let now = state.clock.now();
    let details = serde_json::json!({ "provider": provider.id });
    measure::sign_in(if result.is_ok() {
        SignInOutcome::UpstreamSuccess
    } else {
        SignInOutcome::UpstreamFailure
    });
    let user = match result {
        Ok(user) => user,
        Err(e) => {
            // A refusal by the provider or by our rules is audited (each needed a started,
            // rate-limited sign-in); an outage is only logged.
            if let UpstreamError::Denied(why)
            | UpstreamError::Invalid(why)
            | UpstreamError::Forbidden(why) = &e
            {
                let event = AuditEvent::new(AuditKind::SigninFailed, Actor::anonymous(), now)
                    .source(&address)
                    .details(details)
                    .failed(why.to_string());
                if let Err(e) = state.store.audit(&event).await {
                    return unavailable(&state, e.into());
                }
            }
            return clear(failure(&state, &provider.display_name, e), &state);
        }
    };
    tracing::info!(provider = %provider.id, user_id = %user.id, "upstream sign-in");
    let response = if pending.link_user_id.is_some() {
        see_other(&format!("{}/account", base(&state)))
    } else {
        let event = AuditEvent::new(AuditKind::SigninUpstream, Actor::user(&user.id), now)
            .subject(&user.id)
            .source(&address)
            .details(details);
        super::login::signed_in(
            &state,
            &req,
            &user.id,
            pending.request_id,
            super::Next::Account,
            event,
        )
        .await
    };
    clear(response, &state)
}

/// The page for a callback that resumes nothing; the round-trip cookie goes either way.
fn unbound(state: &AppState, e: Unbound) -> HttpResponse {
    let (status, message) = match e {
        Unbound::Internal(e) => return unavailable(state, e),
        Unbound::Elsewhere => (
            StatusCode::BAD_REQUEST,
            "This sign-in was started in another browser (or with another provider). Start again from the sign-in page.",
        ),
        Unbound::Expired => (
            StatusCode::BAD_REQUEST,
            "This sign-in has expired, was already used, or was not started here. Start again from the sign-in page.",
        ),
        Unbound::NotTheLinkingUser => (
            StatusCode::FORBIDDEN,
            "This browser is no longer signed in as the account that asked to link. Sign in and start again from the account page.",
        ),
    };
    clear(refused(state, status, message), state)
}

fn clear(mut response: HttpResponse, state: &AppState) -> HttpResponse {
    let _ = response.add_cookie(&removal(state, upstream_cookie(state)));
    response
}

fn expired(state: &AppState) -> HttpResponse {
    refused(
        state,
        StatusCode::FORBIDDEN,
        "The sign-in form expired. Reload the page and try again.",
    )
}

fn refused(state: &AppState, status: StatusCode, detail: &str) -> HttpResponse {
    error_page(&base(state), status, "Sign-in failed", detail)
}

fn failure(state: &AppState, provider: &str, e: UpstreamError) -> HttpResponse {
    match e {
        UpstreamError::Internal(e) => unavailable(state, e),
        UpstreamError::Unavailable(why) => {
            tracing::warn!(provider, reason = %why, "upstream provider unavailable");
            refused(
                state,
                StatusCode::BAD_GATEWAY,
                &format!(
                    "{provider} could not be reached or gave an unusable answer. Try again later, or use another way to sign in."
                ),
            )
        }
        UpstreamError::Denied(why) => refused(state, StatusCode::FORBIDDEN, &why),
        UpstreamError::Invalid(why) => {
            tracing::warn!(provider, reason = %why, "upstream sign-in rejected");
            refused(
                state,
                StatusCode::BAD_REQUEST,
                &format!(
                    "The answer from {provider} could not be trusted ({why}). Start again from the sign-in page."
                ),
            )
        }
        UpstreamError::Forbidden(why) => refused(state, StatusCode::FORBIDDEN, &why),
    }
}
