//! The prelude every browser form POST shares: the form, read once, and what its `csrf`
//! field proves. A form proves either the signed-in session (its token is the session's)
//! or, before sign-in, the login page (its token is the pre-login cookie set with it). Each
//! handler words its own refusal page; the reading and comparing happen only here.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::{current_session, login_cookie, same_token};
use crate::http::oauth::read_form;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::store::sessions::SessionUser;

/// A browser form POST after the shared checks.
pub struct BrowserPost {
    /// The form, or why it could not be read.
    pub form: Result<Params, OAuthError>,
    /// Who the form speaks for, by the session cookie and the form's `csrf`.
    pub session: anyhow::Result<Caller>,
    /// The form's `csrf` is the pre-login cookie: it was posted from Warden's login page.
    pub from_login_page: bool,
}

pub enum Caller {
    /// Signed in, and the form carries this session's token.
    SignedIn { cookie: String, user: SessionUser },
    /// Signed in, but the form does not carry this session's token: forged, or left over
    /// from an older session. Nothing may be done on its behalf.
    Forged,
    /// No live session on this browser.
    Anonymous,
}

impl FromRequest for BrowserPost {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<BrowserPost, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Payload::from_request(&req, payload);
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| actix_web::error::ErrorInternalServerError("no state"))?;
            let form = read_form(&req, body.await?).await;
            let csrf = form
                .as_ref()
                .ok()
                .and_then(|p| p.get("csrf"))
                .unwrap_or("")
                .to_owned();
            let session = match current_session(state, &req).await {
                Ok(Some((cookie, user))) if same_token(&csrf, &user.csrf) => {
                    Ok(Caller::SignedIn { cookie, user })
                }
                Ok(Some(_)) => Ok(Caller::Forged),
                Ok(None) => Ok(Caller::Anonymous),
                Err(e) => Err(e),
            };
            let expected = req
                .cookie(login_cookie(state))
                .map(|c| c.value().to_owned())
                .unwrap_or_default();
            let from_login_page = same_token(&csrf, &expected);
            Ok(BrowserPost {
                form,
                session,
                from_login_page,
            })
        })
    }
}
