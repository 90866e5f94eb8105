//! Cross-cutting middleware: request ids, access logs and the request's trace span, strict
//! security headers, CORS for the public endpoints, and 501 for unknown methods.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use tracing::Instrument;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives every request an id (a sane incoming `X-Request-Id`, or a fresh UUIDv7), runs it
/// inside a span carrying that id, echoes the id, and logs one line per request under the
/// OpenTelemetry semantic-convention names. The query string is never logged nor traced: it
/// can carry codes and state.
///
/// With traces on (`telemetry`) the span is the request's server span: named
/// `{method} {route template}`, a child of the caller's `traceparent`, with the same
/// attributes as the log line. Off, it holds only the request id and the caller's trace id.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use tracing::field::Empty;

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
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        trace_id = Empty,
        otel.name = Empty,
        otel.kind = Empty,
        otel.status_code = Empty,
        http.request.method = Empty,
        http.route = Empty,
        url.path = Empty,
        client.address = Empty,
        user_agent.original = Empty,
        http.response.status_code = Empty,
    );
    let method = req.method().clone();
    let path = req.path().to_owned();
    // App-level middleware runs before routing, but the pattern comes from the app's
    // resource map and the path, so it is known here already.
    let route = match req.extensions().get::<crate::measure::MatchedPattern>() {
        Some(matched) => matched.0.clone(),
        None => req.match_pattern(),
    };
    let client = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|state| {
            super::peer::service_client_address(&req, &state.settings.limits.trusted_proxies)
        })
        .or_else(|| req.peer_addr().map(|a| a.ip()));
    let user_agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(256).collect::<String>());
    let incoming = crate::telemetry::incoming(req.headers());
    let traced = crate::telemetry::traces_on();
    if traced {
        let name = match &route {
            Some(route) => format!("{method} {route}"),
            None => method.to_string(),
        };
        span.record("otel.name", name);
        span.record("otel.kind", "server");
        span.record("http.request.method", method.as_str());
        span.record("http.route", route.as_deref());
        span.record("url.path", path.as_str());
        span.record("client.address", client.map(|c| c.to_string()));
        span.record("user_agent.original", user_agent.as_deref());
        if let Some(parent) = incoming.clone() {
            crate::telemetry::set_parent(&span, parent);
        }
    }
    let ids = crate::telemetry::ids(&span);
    let trace_id = match (&ids, &incoming) {
        (Some((trace_id, _)), _) => Some(trace_id.clone()),
        (None, Some(incoming)) => Some(crate::telemetry::trace_id(incoming)),
        (None, None) => None,
    };
    span.record("trace_id", trace_id.as_deref());
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let status = res.status().as_u16();
    if traced {
        span.record("http.response.status_code", status);
        if status >= 500 {
            span.record("otel.status_code", "error");
        }
    }
    span.in_scope(|| {
        tracing::info!(
            http.request.method = %method,
            url.path = %path,
            http.route = route.as_deref(),
            http.response.status_code = status,
            client.address = client.map(tracing::field::display),
            user_agent.original = user_agent.as_deref(),
            trace_id = trace_id.as_deref(),
            span_id = ids.as_ref().map(|(_, span_id)| span_id.as_str()),
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
/// so `Access-Control-Allow-Origin: *` exposes nothing. `http::routes` wraps exactly those
/// resources in this, so everything else (the admin API, the browser pages, and lookalike
/// paths such as the account page's `/account/grants/{id}/revoke`) stays same-origin.
/// A preflight asking for another method or header is refused (400), which a browser
/// treats as it would the missing allowance.
pub fn public_cors() -> actix_cors::Cors {
    use actix_web::http::{Method, header};
    actix_cors::Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("dpop"),
        ])
        // A browser client must read the nonce to retry (RFC 9449 §8).
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("dpop-nonce"),
        ])
        .max_age(600)
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
