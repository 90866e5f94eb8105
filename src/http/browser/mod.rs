//! Browser-facing endpoints: `/authorize`, sign-in, consent, the account page. Every form
//! carries a CSRF token; every redirect after a POST is a 303.

pub mod account;
pub mod authorize;
mod authorize_text;
pub mod device;
pub mod form;
pub mod login;
pub mod upstream;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

use crate::accounts;
use crate::http::pages::error_page;
use crate::oauth::device::user_code;
use crate::oauth::metadata::paths;
use crate::state::AppState;
use crate::store::sessions::SessionUser;

/// Cookie names: the `__Host-` prefix needs Secure, so plain-http development uses bare names.
pub fn session_cookie(state: &AppState) -> &'static str {
    if state.settings.issuer.is_https() {
        "__Host-warden-session"
    } else {
        "warden-session"
    }
}

pub fn login_cookie(state: &AppState) -> &'static str {
    if state.settings.issuer.is_https() {
        "__Host-warden-login"
    } else {
        "warden-login"
    }
}

pub fn upstream_cookie(state: &AppState) -> &'static str {
    if state.settings.issuer.is_https() {
        "__Host-warden-upstream"
    } else {
        "warden-upstream"
    }
}

/// The device cookie (`accounts::device`): long-lived, sent only to sign-in.
pub fn device_cookie(state: &AppState) -> &'static str {
    if state.settings.issuer.is_https() {
        "__Host-warden-device"
    } else {
        "warden-device"
    }
}

pub fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(state.settings.issuer.is_https())
        .same_site(SameSite::Lax)
        .finish()
}

pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new());
    c.make_removal();
    c
}

/// The signed-in user of this browser, if any.
pub async fn current_session(
    state: &AppState,
    req: &HttpRequest,
) -> anyhow::Result<Option<(String, SessionUser)>> {
    let Some(value) = req
        .cookie(session_cookie(state))
        .map(|c| c.value().to_owned())
    else {
        return Ok(None);
    };
    Ok(accounts::session(state, &value).await?.map(|s| (value, s)))
}

pub fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && a.as_bytes().ct_eq(b.as_bytes()).into()
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .finish()
}

pub fn base(state: &AppState) -> String {
    state.settings.issuer.path().to_owned()
}

pub fn unavailable(state: &AppState, e: anyhow::Error) -> HttpResponse {
    tracing::error!(error = format!("{e:#}"), "browser request failed");
    error_page(
        &base(state),
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "Warden cannot complete this request right now. Try again in a moment.",
    )
}

/// The page for a form whose `csrf` is not this session's (forged, or from an older
/// session): nothing was done on its behalf.
pub fn form_expired(state: &AppState) -> HttpResponse {
    error_page(
        &base(state),
        StatusCode::FORBIDDEN,
        "This form has expired",
        "Reload the page and try again.",
    )
}

/// Where a sign-in that was not for an authorization request lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Account,
    /// The admin console (`/login?next=admin`).
    Admin,
    /// The device verification page (`/login?next=device`, RFC 8628 §3.3), with the user
    /// code `verification_uri_complete` carried (`next=device:BCDFGHJK`), normalised.
    Device(Option<[u8; user_code::LENGTH]>),
}

impl Next {
    /// From the `next` parameter; anything but `admin` or `device` (carrying a user code
    /// only when it is well formed) is the account page, so the parameter can never name
    /// a place outside Warden.
    pub fn parse(value: Option<&str>) -> Next {
        match value {
            Some("admin") => Next::Admin,
            Some("device") => Next::Device(None),
            Some(v) => match v.strip_prefix("device:") {
                Some(code) => Next::Device(
                    user_code::normalise(code).and_then(|c| c.as_bytes().try_into().ok()),
                ),
                None => Next::Account,
            },
            None => Next::Account,
        }
    }

    /// The page to return to after the sign-in, for a device carrying `user_code`.
    pub fn device(user_code: Option<&str>) -> Next {
        match user_code {
            Some(code) => Next::parse(Some(&format!("device:{code}"))),
            None => Next::Device(None),
        }
    }

    /// The `next` parameter that names this place, if it needs one.
    pub fn param(self) -> Option<String> {
        match self {
            Next::Account => None,
            Next::Admin => Some("admin".into()),
            Next::Device(None) => Some("device".into()),
            Next::Device(Some(code)) => Some(format!("device:{}", String::from_utf8_lossy(&code))),
        }
    }

    pub fn path(self) -> String {
        match self {
            Next::Account => "/account".into(),
            Next::Admin => "/admin".into(),
            Next::Device(None) => paths::DEVICE_VERIFICATION.into(),
            Next::Device(Some(code)) => {
                let (a, b) = code.split_at(user_code::LENGTH / 2);
                format!(
                    "{}?user_code={}-{}",
                    paths::DEVICE_VERIFICATION,
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(b)
                )
            }
        }
    }
}

/// A 43-character opaque id from a query or form, or nothing.
pub fn opaque_id(value: Option<&str>) -> Option<String> {
    value
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_names_only_warden_pages_and_carries_only_well_formed_user_codes() {
        assert_eq!(Next::parse(Some("https://evil.example")), Next::Account);
        assert_eq!(Next::parse(Some("device:../../x")), Next::Device(None));
        assert_eq!(Next::parse(None).path(), "/account");
        assert_eq!(Next::parse(Some("device")).path(), "/device");
        let carried = Next::device(Some("bcdf-ghjk"));
        assert_eq!(carried.param().as_deref(), Some("device:BCDFGHJK"));
        assert_eq!(Next::parse(carried.param().as_deref()), carried);
        assert_eq!(carried.path(), "/device?user_code=BCDF-GHJK");
        assert_eq!(Next::device(Some("AEIO-UAEI")), Next::Device(None));
    }
}
