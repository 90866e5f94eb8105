//! POST /register (RFC 7591 §3) and GET|PUT|DELETE /register/{client_id} (RFC 7592 §2).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use subtle::ConstantTimeEq;

use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::http::errors::oauth_error;
use crate::http::peer::client_key;
use crate::limits::{self, Refusal};
use crate::oauth::error::{ErrorBody, ErrorCode, OAuthError};
use crate::oauth::registration::{self, MAX_METADATA_BYTES};
use crate::settings::RegistrationPolicy;
use crate::state::AppState;

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

fn token_error(e: OAuthError) -> HttpResponse {
    let challenge = format!(
        "Bearer error=\"invalid_token\", error_description=\"{}\"",
        e.description
    );
    let mut response = oauth_error(e);
    if let Ok(v) = header::HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

async fn read_json(
    req: &HttpRequest,
    mut body: web::Payload,
) -> Result<serde_json::Value, OAuthError> {
    let bad = |d: String| OAuthError::new(ErrorCode::InvalidClientMetadata, d);
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(bad("send the client metadata as application/json".into()));
    }
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| bad("the body could not be read".into()))?;
        if bytes.len() + chunk.len() > MAX_METADATA_BYTES {
            return Err(OAuthError::too_large(
                ErrorCode::InvalidClientMetadata,
                format!("the metadata exceeds {MAX_METADATA_BYTES} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&bytes).map_err(|e| bad(format!("the body is not valid JSON: {e}")))
}

pub async fn post_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    match &state.settings.registration {
        RegistrationPolicy::Off => return crate::http::errors::not_found().await,
        RegistrationPolicy::Token(expected) => {
            let ok = bearer(&req)
                .is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected.expose().as_bytes())));
            if !ok {
                return token_error(OAuthError::new(
                    ErrorCode::InvalidToken,
                    "an initial access token is required to register",
                ));
            }
        }
        RegistrationPolicy::Open => {}
    }
    let address = client_key(&req, &state.settings.limits.trusted_proxies);
    if let Err(e) = limits::admit_registration(&state, address).await {
        let (error, description, retry) = match e.downcast_ref::<Refusal>() {
            Some(Refusal::Rate(after)) => (
                ErrorCode::InvalidRequest,
                "too many registrations; try again later",
                *after,
            ),
            Some(Refusal::Full) => (
                ErrorCode::TemporarilyUnavailable,
                "too many registered clients have not been used yet; try again later",
                60,
            ),
            None => return oauth_error(e.into()),
        };
        return HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, retry.to_string()))
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .json(ErrorBody {
                error,
                error_description: Some(description),
            });
    }
    let doc = match read_json(&req, body).await {
        Ok(d) => d,
        Err(e) => return oauth_error(e),
    };
    match registration::register(&state, &doc, &address.to_string()).await {
        Ok(body) => json(StatusCode::CREATED, &body),
        Err(e) => oauth_error(e),
    }
}

pub async fn get_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    match registration::authorize_management(&state, &id, bearer(&req)).await {
        Ok(client) => json(StatusCode::OK, &registration::read(&state, &client)),
        Err(e) => management_error(e),
    }
}

pub async fn put_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
) -> HttpResponse {
    let client = match registration::authorize_management(&state, &id, bearer(&req)).await {
        Ok(c) => c,
        Err(e) => return management_error(e),
    };
    let doc = match read_json(&req, body).await {
        Ok(d) => d,
        Err(e) => return oauth_error(e),
    };
    match registration::update(&state, client, &doc).await {
        Ok(body) => json(StatusCode::OK, &body),
        Err(e) => oauth_error(e),
    }
}

pub async fn delete_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    match registration::authorize_management(&state, &id, bearer(&req)).await {
        Ok(client) => match state
            .store
            .delete_client(
                &client.client_id,
                state.clock.now(),
                &AuditEvent::new(
                    AuditKind::ClientDeleted,
                    Actor::client(&client.client_id),
                    state.clock.now(),
                )
                .client(&client.client_id)
                .detail("via", "RFC 7592 client configuration endpoint"),
            )
            .await
        {
            Ok(_) => HttpResponse::NoContent()
                .insert_header(CacheControl(vec![CacheDirective::NoStore]))
                .finish(),
            Err(e) => oauth_error(e.into()),
        },
        Err(e) => management_error(e),
    }
}

fn management_error(e: OAuthError) -> HttpResponse {
    if e.code == ErrorCode::InvalidToken {
        token_error(e)
    } else {
        oauth_error(e)
    }
}
