//! POST /token (RFC 6749 §3.2), /introspect (RFC 7662 §2), /revoke (RFC 7009 §2),
//! /device_authorization (RFC 8628 §3.1): read the form, call `oauth::`, map the result.

use actix_web::http::header::{self, CacheControl, CacheDirective, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use crate::http::errors::oauth_error;
use crate::measure;
use crate::oauth::dpop::DpopHeader;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::{MAX_FORM_BYTES, Params};
use crate::oauth::{introspect, revoke, token};
use crate::state::AppState;

pub async fn post_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    match read_form(&req, body).await {
        Ok(params) => {
            let result = token::handle(&state, authorization(&req), dpop(&req), &params).await;
            match result {
                Ok(body) => {
                    let mut response = no_store_json(&body);
                    if let Some(Ok(nonce)) = body.dpop_nonce.as_deref().map(HeaderValue::from_str) {
                        response.headers_mut().insert(DPOP_NONCE, nonce);
                    }
                    response
                }
                Err(e) => token_error(e),
            }
        }
        Err(e) => token_error(e),
    }
}

/// Every /token refusal, counted by its RFC code on the way out.
fn token_error(e: OAuthError) -> HttpResponse {
    measure::token_error(e.code);
    oauth_error(e)
}

/// The `DPoP` header (RFC 9449 §4.1); two of them, or one that is not visible ASCII, is
/// a malformed proof (§4.3 check 1).
fn dpop(req: &HttpRequest) -> DpopHeader<'_> {
    let mut values = req.headers().get_all(DPOP);
    match (values.next(), values.next()) {
        (None, _) => DpopHeader::Absent,
        (Some(one), None) => one.to_str().map_or(DpopHeader::Malformed, DpopHeader::One),
        (Some(_), Some(_)) => DpopHeader::Malformed,
    }
}

pub async fn post_device_authorization(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let address = crate::http::peer::client_key(&req, &state.settings.limits.trusted_proxies);
    match read_form(&req, body).await {
        Ok(params) => json_or_error(
            crate::oauth::device::authorization::handle(
                &state,
                authorization(&req),
                &params,
                address,
            )
            .await,
        ),
        Err(e) => oauth_error(e),
    }
}

pub async fn post_introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let result = match read_form(&req, body).await {
        Ok(params) => introspect::handle(&state, authorization(&req), &params).await,
        Err(e) => Err(e),
    };
    measure::introspection(match &result {
        Ok(answer) if answer.active => measure::Introspected::Active,
        Ok(_) => measure::Introspected::Inactive,
        Err(_) => measure::Introspected::Refused,
    });
    json_or_error(result)
}

pub async fn post_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let result = match read_form(&req, body).await {
        Ok(params) => revoke::handle(&state, authorization(&req), &params).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => HttpResponse::Ok()
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .finish(),
        Err(e) => oauth_error(e),
    }
}

fn json_or_error<T: serde::Serialize>(result: Result<T, OAuthError>) -> HttpResponse {
    match result {
        Ok(body) => no_store_json(&body),
        Err(e) => oauth_error(e),
    }
}

fn no_store_json<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// The `Authorization` header; a value that is not visible ASCII counts as malformed.
fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""))
}

/// Reads and parses an `application/x-www-form-urlencoded` body of at most `MAX_FORM_BYTES`.
pub(crate) async fn read_form(req: &HttpRequest, body: web::Payload) -> Result<Params, OAuthError> {
    let bytes = read_form_bytes(req, body).await?;
    Params::parse(&bytes).map_err(OAuthError::invalid_request)
}

/// The raw bytes of a form body, after the content-type and size checks.
pub(crate) async fn read_form_bytes(
    req: &HttpRequest,
    mut body: web::Payload,
) -> Result<web::BytesMut, OAuthError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let too_large = || {
        OAuthError::too_large(
            ErrorCode::InvalidRequest,
            format!("the body exceeds {MAX_FORM_BYTES} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_FORM_BYTES) {
        return Err(too_large());
    }
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| OAuthError::invalid_request("the body could not be read"))?;
        if bytes.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

const DPOP: HeaderName = HeaderName::from_static("dpop");
const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// Only POST is served on these paths.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST"))
        .json(serde_json::json!({"error": "invalid_request", "error_description": "use POST"}))
}
