//! GET metadata (RFC 8414 §3, OIDC Discovery §4) and the JWKS (RFC 7517 §5): both served
//! from memory, never touching the database.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// Short enough that resource servers see a rotated-in key well before it signs
/// (`WARDEN_KEY_ACTIVATION_DELAY` defaults to 600 s).
const MAX_AGE: u32 = 300;

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    public_json(state.metadata_json(), "application/json")
}

pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    public_json(state.keys.jwks(), "application/jwk-set+json")
}

fn public_json(body: bytes::Bytes, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(MAX_AGE),
        ]))
        .body(body)
}
