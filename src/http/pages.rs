//! The askama pages and how they are sent: HTML, `no-store`, with the strict security
//! headers every response carries.

use actix_web::http::StatusCode;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpResponse, HttpResponseBuilder};
use askama::Template;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub base: String,
    pub csrf: String,
    pub request: Option<String>,
    /// Signing in for the admin console (`next=admin`).
    pub next_admin: bool,
    pub client_name: Option<String>,
    pub username: String,
    pub error: Option<String>,
    /// One button per enabled upstream identity provider.
    pub providers: Vec<ProviderButton>,
    /// The local username/password form (WARDEN_PASSWORD_LOGIN).
    pub password_login: bool,
}

pub struct ProviderButton {
    pub id: String,
    pub display_name: String,
}

pub struct IdentityLine {
    pub provider: String,
    pub email: Option<String>,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub base: String,
    pub csrf: String,
    pub request: String,
    pub username: String,
    pub client_name: String,
    pub client_id: String,
    pub registration: String,
    pub unverified: bool,
    pub redirect_host: String,
    pub resource_name: String,
    pub resource_uri: String,
    pub new_scopes: Vec<ScopeLine>,
    pub granted_scopes: Vec<ScopeLine>,
    /// Why the user is asked again for what they allowed before (a sentence), if they are.
    pub asked_again: Option<&'static str>,
    pub loopback_only: bool,
}

pub struct ScopeLine {
    pub name: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub base: String,
    pub csrf: String,
    pub username: String,
    pub grants: Vec<GrantLine>,
    pub notice: Option<String>,
    /// Linked upstream identities, and the providers that could be linked.
    pub identities: Vec<IdentityLine>,
    pub providers: Vec<ProviderButton>,
}

pub struct GrantLine {
    pub id: String,
    pub client_name: String,
    pub resource_name: String,
    pub resource_uri: String,
    pub scopes: Vec<String>,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub base: String,
    pub title: String,
    pub message: String,
    pub detail: Option<String>,
}

/// Renders `page` with `status`; a template failure is logged and becomes a bare 500.
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    render_with(HttpResponse::build(status), page)
}

pub fn render_with(mut builder: HttpResponseBuilder, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => builder
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

pub fn error_page(base: &str, status: StatusCode, title: &str, message: &str) -> HttpResponse {
    render(
        status,
        &ErrorPage {
            base: base.to_owned(),
            title: title.to_owned(),
            message: message.to_owned(),
            detail: None,
        },
    )
}

/// A UTC date and time for people, from epoch seconds (`2026-11-26 08:15 UTC`).
pub fn human_time(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant), to avoid a date crate for one format.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn human_time_formats_utc() {
        assert_eq!(human_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(human_time(1_795_680_000), "2026-11-26 08:00 UTC");
    }
}
