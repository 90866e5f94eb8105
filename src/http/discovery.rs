//! GET metadata (RFC 8414 §3, OIDC Discovery §4) and the JWKS (RFC 7517 §5): both served
//! from memory, never touching the database.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::settings::Settings;
use crate::state::AppState;

/// How long clients may cache metadata.
const MAX_AGE: u32 = 300;

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(public(MAX_AGE))
        .body(crate::oauth::metadata::document(&state))
}

/// With an `ETag` for cheap revalidation (304 to a matching `If-None-Match`).
pub async fn jwks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (body, etag) = state.keys.jwks();
    let cache = public(jwks_max_age(&state.settings));
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == &*etag || t == "*")
        });
    if unchanged {
        return HttpResponse::NotModified()
            .insert_header(cache)
            .insert_header((header::ETAG, &*etag))
            .finish();
    }
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header(cache)
        .insert_header((header::ETAG, &*etag))
        .body(body)
}

/// A rotated-in key is published `WARDEN_KEY_ACTIVATION_DELAY` before it signs, and every
/// node has it within `WARDEN_KEY_REFRESH_INTERVAL`: a JWKS cached no longer than the
/// difference always holds the key of any token a resource server is shown (RFC 7517 has
/// no rule; this is the pre-publication lead time of security catalogue case 112).
fn jwks_max_age(settings: &Settings) -> u32 {
    let lead = settings.key_activation_delay - settings.key_refresh_interval.as_secs() as i64;
    lead.clamp(0, i64::from(MAX_AGE)) as u32
}

fn public(max_age: u32) -> CacheControl {
    CacheControl(vec![
        CacheDirective::Public,
        CacheDirective::MaxAge(max_age),
    ])
}
