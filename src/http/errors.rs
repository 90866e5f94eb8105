//! Mapping errors to responses: JSON bodies with the RFC code and `Cache-Control: no-store`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CacheControl, CacheDirective};

use crate::oauth::error::{ErrorBody, ErrorCode};

/// RFC 9449 §8.1: the header a server nonce travels in.
pub const DPOP_NONCE: &str = "DPoP-Nonce";

/// The HTTP status each code travels with on JSON endpoints.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope | ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

pub fn json_error(code: ErrorCode, description: Option<&str>) -> HttpResponse {
    HttpResponse::build(status_of(code))
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(ErrorBody {
            error: code,
            error_description: description,
        })
}

/// Any path we do not serve: a small JSON 404, never a framework page.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({"error": "not_found"}))
}

/// An `OAuthError` as RFC 6749 §5.2 wants it; the cause of an internal error is logged here
/// and goes no further.
pub fn oauth_error(e: crate::oauth::error::OAuthError) -> HttpResponse {
    if let Some(cause) = &e.cause {
        tracing::error!(
            error = format!("{cause:#}"),
            code = e.code.as_str(),
            "request failed"
        );
    }
    let status = if e.too_large {
        StatusCode::PAYLOAD_TOO_LARGE
    } else if e.polling {
        StatusCode::BAD_REQUEST
    } else {
        status_of(e.code)
    };
    let mut response = HttpResponse::build(status);
    response
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((actix_web::http::header::PRAGMA, "no-cache"));
    // RFC 6749 §5.2: the challenge answers the Authorization header; a client that
    // authenticated in the body (or with an assertion) gets none, rather than being told
    // to try a scheme it never used.
    if e.code == ErrorCode::InvalidClient && e.used_basic {
        response.insert_header((
            actix_web::http::header::WWW_AUTHENTICATE,
            "Basic realm=\"warden\"",
        ));
    }
    if e.code == ErrorCode::TemporarilyUnavailable {
        response.insert_header((actix_web::http::header::RETRY_AFTER, "5"));
    }
    if let Some(nonce) = &e.dpop_nonce {
        response.insert_header((DPOP_NONCE, nonce.as_str()));
    }
    if e.code == ErrorCode::SlowDown && !e.polling {
        response.insert_header((actix_web::http::header::RETRY_AFTER, "1"));
    }
    response.json(ErrorBody {
        error: e.code,
        error_description: Some(&e.description),
    })
}
