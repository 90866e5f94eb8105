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
    /// Where the sign-in leads when not to an authorization request (`next=admin`,
    /// `next=device`).
    pub next: Option<String>,
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
    /// Where the answer is posted: `/consent`, or `/device/consent` for a device.
    pub action: &'static str,
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
    /// A refresh token will be issued: the page says so in words.
    pub stays_signed_in: bool,
}

/// The device verification page (RFC 8628 §3.3): the code form, or the end of the flow.
#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage {
    pub base: String,
    pub csrf: String,
    pub username: String,
    /// The code as typed or carried by `verification_uri_complete`.
    pub user_code: String,
    pub error: Option<&'static str>,
    /// After the answer: whether the user allowed (then the form is not shown).
    pub done: Option<bool>,
}

pub struct ScopeLine {
    pub name: String,
    pub description: String,
    /// What the scope also grants, comma-separated; empty when nothing.
    pub includes: String,
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

/// The inverse of `human_time` for form inputs: epoch seconds from a UTC date
/// (`2026-11-26`) or a date and time as `datetime-local` sends it (`2026-11-26T08:15`,
/// seconds optional); `None` for anything else.
pub fn parse_utc_time(value: &str) -> Option<i64> {
    let value = value.trim();
    let (date, time) = match value.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (value, None),
    };
    let number = |s: &str, len: usize| -> Option<i64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut parts = date.split('-');
    let year = number(parts.next()?, 4)?;
    let month = number(parts.next()?, 2)?;
    let day = number(parts.next()?, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&month) {
        return None;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=month_days).contains(&day) {
        return None;
    }
    let seconds = match time {
        None => 0,
        Some(t) => {
            let mut parts = t.split(':');
            let h = number(parts.next()?, 2)?;
            let m = number(parts.next()?, 2)?;
            let s = parts.next().map_or(Some(0), |s| number(s, 2))?;
            if parts.next().is_some() || h > 23 || m > 59 || s > 59 {
                return None;
            }
            h * 3600 + m * 60 + s
        }
    };
    // Days-from-civil (H. Hinnant), the inverse of `human_time`'s.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + seconds)
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

    #[test]
    fn form_times_parse_as_utc_and_invert_human_time() {
        assert_eq!(parse_utc_time("1970-01-01"), Some(0));
        assert_eq!(parse_utc_time("2026-11-26T08:00"), Some(1_795_680_000));
        assert_eq!(parse_utc_time("2026-11-26 08:00:30"), Some(1_795_680_030));
        assert_eq!(parse_utc_time("2024-02-29"), Some(1_709_164_800));
        for t in [0, 951_782_400, 1_709_164_800, 1_795_680_000, 4_102_444_800] {
            let shown = human_time(t);
            assert_eq!(parse_utc_time(shown.trim_end_matches(" UTC")), Some(t));
        }
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-29",
            "2026-11-26T24:00",
            "2026-1-26",
            "2026-11-26T08",
            "1795680000",
            "2026-11-26T08:00:00:00",
        ] {
            assert_eq!(parse_utc_time(bad), None, "{bad}");
        }
    }
}
