//! Cross-cutting middleware: request ids and access logs, and strict security headers.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use tracing::Instrument;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives every request an id (a sane incoming `X-Request-Id`, or a fresh UUIDv7), runs it
/// inside a span carrying that id, echoes the id, and logs one line per request. The query
/// string is never logged: it can carry codes and state.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!("request", request_id = %request_id);
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    span.in_scope(|| {
        tracing::info!(
            %method,
            %path,
            status = res.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "handled"
        )
    });
    Ok(res)
}

/// Headers every response carries unless a handler set its own.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
        .add(("Cross-Origin-Opener-Policy", "same-origin"));
    if https {
        headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// Browser-based MCP clients (the MCP Inspector among them) call discovery, registration,
/// token and revocation endpoints from another origin. These endpoints never read cookies,
/// so `Access-Control-Allow-Origin: *` exposes nothing; preflights get a 204 here.
/// Everything else (the admin API, the browser pages) stays same-origin.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::HttpResponse;
    use actix_web::http::{Method, header};

    let base = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|s| s.settings.issuer.path().to_owned())
        .unwrap_or_default();
    if !is_cors_path(req.path(), &base) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    if req.method() == Method::OPTIONS {
        let response = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "GET, POST, PUT, DELETE, OPTIONS",
            ))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type, MCP-Protocol-Version, DPoP",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
            .finish();
        return Ok(req.into_response(response));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res.headers_mut().insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        // A browser client must read the nonce to retry (RFC 9449 §8).
        HeaderValue::from_static("WWW-Authenticate, DPoP-Nonce"),
    );
    Ok(res)
}

/// The endpoints browser-based clients call cross-origin, matched exactly under the issuer
/// path `base`: a suffix match would open any path that happens to end like one (the
/// account page's `/account/grants/{id}/revoke`).
fn is_cors_path(path: &str, base: &str) -> bool {
    use crate::oauth::metadata::paths;
    if path.starts_with("/.well-known/")
        || path == format!("{base}/.well-known/openid-configuration")
    {
        return true;
    }
    let Some(rest) = path.strip_prefix(base) else {
        return false;
    };
    let one_segment_under = |prefix: &str| {
        rest.strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    [paths::TOKEN, paths::REVOKE, paths::REGISTER, paths::JWKS].contains(&rest)
        || one_segment_under(paths::REGISTER)
        || one_segment_under(paths::RESOURCE_METADATA)
}

/// Methods outside HTTP's registered core get 501 (RFC 9110 §9.1), before any routing; a
/// known method a path does not serve gets 405 from its resource.
pub async fn known_methods(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::Method;
    let known = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::PATCH,
    ];
    if known.contains(req.method()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let response = actix_web::HttpResponse::NotImplemented().json(serde_json::json!({
        "error": "invalid_request",
        "error_description": "this method is not supported",
    }));
    Ok(req.into_response(response))
}

#[cfg(test)]
mod tests {
    use super::is_cors_path;

    #[test]
    fn only_the_public_endpoints_are_cors_paths() {
        for base in ["", "/tenant"] {
            for path in [
                "/token",
                "/revoke",
                "/register",
                "/register/abc",
                "/jwks.json",
                "/resource-metadata/x",
            ] {
                assert!(is_cors_path(&format!("{base}{path}"), base), "{base}{path}");
            }
            for path in [
                "/account/grants/g1/revoke",
                "/introspect",
                "/authorize",
                "/x/token",
                "/register/a/b",
                "/admin/v1/register",
            ] {
                assert!(
                    !is_cors_path(&format!("{base}{path}"), base),
                    "{base}{path}"
                );
            }
        }
        assert!(is_cors_path(
            "/.well-known/oauth-authorization-server/tenant",
            "/tenant"
        ));
        assert!(is_cors_path(
            "/tenant/.well-known/openid-configuration",
            "/tenant"
        ));
    }
}
