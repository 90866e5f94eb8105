//! Console: the signing keys (RFC 7517 key sets at the JWKS endpoint) and their rotation.
//! A rotated-in key is published at once and signs after the activation delay, so every
//! node and every resource server has fetched it before a token carries its `kid`.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    Action, Chrome, Failure, FormError, admin_for_action, admin_for_page, done, failure,
    page_failure,
};
use crate::admin::AdminError;
use crate::admin::keys::{self, KeyStatus, KeyView};
use crate::http::browser::form::BrowserPost;
use crate::http::pages::{human_time, render};
use crate::oauth::metadata::paths;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list))
        .route("/keys/rotate", web::post().to(rotate));
}

const SECTION: &str = "/keys";

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyView>,
    jwks_uri: String,
    alg: &'static str,
    default_delay: i64,
    /// The delay as typed (kept when it is refused).
    activate_in: String,
    error: FormError,
}

impl KeysPage {
    fn status(&self, k: &KeyView) -> &'static str {
        match k.status {
            KeyStatus::Signing => "signing",
            KeyStatus::Published => "published",
            KeyStatus::Retired => "retired",
        }
    }

    fn when(&self, t: &i64) -> String {
        human_time(*t)
    }
}

async fn page(
    state: &AppState,
    chrome: Chrome,
    activate_in: String,
    error: FormError,
) -> HttpResponse {
    let keys = match keys::list(&state.store, state.clock.now()).await {
        Ok(k) => k,
        Err(e) => return page_failure(state, e),
    };
    render(
        error.status(),
        &KeysPage {
            chrome,
            // Newest first: the one about to sign, then the one signing.
            keys: keys.into_iter().rev().collect(),
            jwks_uri: state.settings.issuer.endpoint(paths::JWKS),
            alg: state.settings.signing_alg.as_str(),
            default_delay: state.settings.key_activation_delay,
            activate_in,
            error,
        },
    )
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let chrome = Chrome::new(&state, &admin, SECTION, &req);
    page(&state, chrome, String::new(), FormError::none()).await
}

async fn rotate(state: web::Data<AppState>, req: HttpRequest, post: BrowserPost) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let typed = params.get("activate_in").unwrap_or("").trim().to_owned();
    let delay = if typed.is_empty() {
        Ok(state.settings.key_activation_delay)
    } else {
        typed
            .parse::<i64>()
            .map_err(|_| AdminError::invalid("activate_in", "must be a whole number of seconds"))
    };
    let now = state.clock.now();
    let rotated = match delay {
        Ok(delay) => {
            keys::rotate(
                &state.store,
                &state.master_key,
                state.settings.signing_alg,
                delay,
                now,
                &admin.actor(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match rotated {
        Ok(_) => {
            // This node publishes the key at once; the others at their next key refresh,
            // which the default activation delay outlasts.
            if let Err(e) = keys::reload(&state.store, &state.keys, now).await {
                tracing::warn!(error = format!("{e:#}"), "could not refresh signing keys");
            }
            done(&state, SECTION, "rotated")
        }
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => {
                let chrome = Chrome::new(&state, &admin, SECTION, &req);
                page(&state, chrome, typed, error).await
            }
            Failure::Page(r) => r,
        },
    }
}
