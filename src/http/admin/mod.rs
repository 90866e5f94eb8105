//! The admin API (`/admin/v1/…`): JSON CRUD for scopes, resources and clients. It is an
//! OAuth protected resource of Warden itself (RFC 6750): a bearer access token with audience
//! `{issuer}/admin` and scope `warden:admin`, obtained by client credentials.

mod auth;
mod clients;
mod domains;
mod exchange;
mod grants;
mod resources;
mod scopes;
mod upstream;
mod users;

use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::admin::AdminError;

const OPENAPI: &str = include_str!("openapi.json");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(64 * 1024)
            .error_handler(|e, _| json_rejection(e).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _| query_rejection(e).into()))
    .route("/openapi.json", web::get().to(openapi))
    .service(
        web::resource("/scopes")
            .get(scopes::list)
            .post(scopes::create),
    )
    .service(
        web::resource("/scopes/{name}")
            .get(scopes::get)
            .patch(scopes::update)
            .delete(scopes::delete),
    )
    .service(
        web::resource("/resources")
            .get(resources::list)
            .post(resources::create),
    )
    .service(
        web::resource("/resources/{id}")
            .get(resources::get)
            .patch(resources::update)
            .delete(resources::delete),
    )
    .route(
        "/resources/{id}/disable",
        web::post().to(resources::disable),
    )
    .route("/resources/{id}/enable", web::post().to(resources::enable))
    .service(
        web::resource("/clients")
            .get(clients::list)
            .post(clients::create),
    )
    .service(
        web::resource("/clients/{client_id}")
            .get(clients::get)
            .patch(clients::update)
            .delete(clients::delete),
    )
    .route(
        "/clients/{client_id}/disable",
        web::post().to(clients::disable),
    )
    .route(
        "/clients/{client_id}/enable",
        web::post().to(clients::enable),
    )
    .route(
        "/clients/{client_id}/grants",
        web::get().to(grants::of_client),
    )
    .route("/grants/{id}/revoke", web::post().to(grants::revoke))
    .service(web::resource("/users").get(users::list).post(users::create))
    .service(
        web::resource("/users/{id}")
            .get(users::get)
            .patch(users::update)
            .delete(users::delete),
    )
    .route("/users/{id}/disable", web::post().to(users::disable))
    .route("/users/{id}/enable", web::post().to(users::enable))
    .route(
        "/users/{id}/identities",
        web::get().to(upstream::identities),
    )
    .route(
        "/users/{id}/identities/{provider}/{subject}",
        web::delete().to(upstream::unlink),
    )
    .service(
        web::resource("/upstream-providers")
            .get(upstream::list)
            .post(upstream::create),
    )
    .service(
        web::resource("/upstream-providers/{id}")
            .get(upstream::get)
            .put(upstream::replace)
            .delete(upstream::delete),
    )
    .route(
        "/upstream-providers/{id}/enable",
        web::post().to(upstream::enable),
    )
    .route(
        "/upstream-providers/{id}/disable",
        web::post().to(upstream::disable),
    )
    .service(
        web::resource("/resources/{id}/downstreams")
            .get(exchange::get_downstreams)
            .put(exchange::put_downstreams),
    )
    .service(
        web::resource("/trusted-issuers")
            .get(exchange::list_issuers)
            .post(exchange::add_issuer),
    )
    .route(
        "/trusted-issuers/{id}",
        web::delete().to(exchange::remove_issuer),
    )
    .route("/exchanges", web::get().to(exchange::audit))
    .route("/metadata-domains", web::get().to(domains::list))
    .service(
        web::resource("/metadata-domains/{domain}")
            .put(domains::put)
            .delete(domains::delete),
    );
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

/// `{error, detail, field}` with its status; internal causes are logged, never sent.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    detail: String,
    field: Option<&'static str>,
    www_authenticate: Option<String>,
}

#[derive(Serialize)]
struct ApiErrorBody<'a> {
    error: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            detail: detail.into(),
            field: None,
            www_authenticate: None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.detail)
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header(CacheControl(vec![CacheDirective::NoStore]));
        if let Some(challenge) = &self.www_authenticate {
            response.insert_header((
                actix_web::http::header::WWW_AUTHENTICATE,
                challenge.as_str(),
            ));
        }
        response.json(ApiErrorBody {
            error: self.error,
            detail: &self.detail,
            field: self.field,
        })
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> ApiError {
        match e {
            AdminError::Validation { field, message } => ApiError {
                field: Some(field),
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message)
            },
            AdminError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            AdminError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            AdminError::Internal(cause) => internal(cause),
        }
    }
}

fn internal(cause: anyhow::Error) -> ApiError {
    tracing::error!(error = format!("{cause:#}"), "admin request failed");
    let unavailable = cause
        .downcast_ref::<sqlx::Error>()
        .is_some_and(crate::store::is_unavailable);
    if unavailable {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the database is not reachable",
        )
    } else {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the request could not be completed",
        )
    }
}

/// Malformed JSON is 400; well-formed JSON of the wrong shape is 422 naming the field.
fn json_rejection(e: JsonPayloadError) -> ApiError {
    match e {
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body exceeds {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            let message = e.to_string();
            ApiError {
                field: field_of(&message),
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message)
            }
        }
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("malformed JSON: {other}"),
        ),
    }
}

fn query_rejection(e: QueryPayloadError) -> ApiError {
    let message = e.to_string();
    ApiError {
        field: field_of(&message),
        ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message)
    }
}

/// serde names the field in backticks: "missing field `name`", "unknown field `x`".
fn field_of(message: &str) -> Option<&'static str> {
    const FIELDS: &[&str] = &[
        "domain",
        "policy",
        "target",
        "scope_map",
        "impersonation_clients",
        "issuer",
        "jwks_uri",
        "audience",
        "algorithms",
        "subject",
        "before",
        "username",
        "password",
        "disabled",
        "name",
        "description",
        "is_default",
        "uri",
        "scopes",
        "default_scopes",
        "access_token_ttl",
        "allowed_clients",
        "enabled",
        "redirect_uris",
        "grant_types",
        "resources",
        "served_resources",
        "token_endpoint_auth_method",
        "limit",
        "after",
        "body",
        "client_id",
        "id",
        "scope",
    ];
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    let name = &message[start..end];
    Some(
        FIELDS
            .iter()
            .find(|f| **f == name)
            .copied()
            .unwrap_or("body"),
    )
}

/// The admin token check, run first by every handler.
pub(crate) async fn admin(
    state: &crate::state::AppState,
    req: &HttpRequest,
) -> Result<(), ApiError> {
    auth::require_admin(state, req).await
}
