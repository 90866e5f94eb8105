//! The admin API (`/admin/v1/…`): JSON CRUD for scopes, resources and clients, their
//! grants, signing keys, and the audit log. It is an OAuth protected resource of Warden
//! itself (RFC 6750): a bearer access token with audience `{issuer}/admin` and scope
//! `warden:admin`, obtained by client credentials.

mod audit;
mod auth;
mod clients;
mod domains;
mod exchange;
mod grants;
mod id_jag;
mod idps;
mod keys;
pub mod openapi;
mod resources;
mod respond;
mod route;
mod scopes;
mod upstream;
mod users;
mod workload;

use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::admin::AdminError;

pub use auth::AdminCaller;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Every route but the document goes through `route`, whose methods only take handlers
    // that start with `AdminCaller`.
    use route::{delete, get, patch, post, put};
    cfg.app_data(
        web::JsonConfig::default()
            .limit(64 * 1024)
            .error_handler(|e, _| json_rejection(e).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _| query_rejection(e).into()))
    .route("/openapi.json", web::get().to(openapi::document))
    .service(
        web::resource("/scopes")
            .route(get(scopes::list))
            .route(post(scopes::create)),
    )
    .service(
        web::resource("/scopes/{name}")
            .route(get(scopes::get))
            .route(patch(scopes::update))
            .route(delete(scopes::delete)),
    )
    .service(
        web::resource("/resources")
            .route(get(resources::list))
            .route(post(resources::create)),
    )
    .service(
        web::resource("/resources/{id}")
            .route(get(resources::get))
            .route(patch(resources::update))
            .route(delete(resources::delete)),
    )
    .route("/resources/{id}/disable", post(resources::disable))
    .route("/resources/{id}/enable", post(resources::enable))
    .route("/resources/{id}/check", post(resources::check))
    .service(
        web::resource("/clients")
            .route(get(clients::list))
            .route(post(clients::create)),
    )
    .service(
        web::resource("/clients/{client_id}")
            .route(get(clients::get))
            .route(patch(clients::update))
            .route(delete(clients::delete)),
    )
    .route("/clients/{client_id}/disable", post(clients::disable))
    .route("/clients/{client_id}/enable", post(clients::enable))
    .route("/clients/{client_id}/secret", post(clients::rotate_secret))
    .route("/clients/{client_id}/grants", get(grants::of_client))
    .route("/grants", get(grants::list))
    .route("/grants/revoke", post(grants::revoke_all))
    .route("/grants/{id}/revoke", post(grants::revoke))
    .service(
        web::resource("/users")
            .route(get(users::list))
            .route(post(users::create)),
    )
    .service(
        web::resource("/users/{id}")
            .route(get(users::get))
            .route(patch(users::update))
            .route(delete(users::delete)),
    )
    .route("/users/{id}/disable", post(users::disable))
    .route("/users/{id}/enable", post(users::enable))
    .route("/users/{id}/identities", get(upstream::identities))
    .route(
        "/users/{id}/identities/{provider}/{subject}",
        delete(upstream::unlink),
    )
    .service(
        web::resource("/upstream-providers")
            .route(get(upstream::list))
            .route(post(upstream::create)),
    )
    .service(
        web::resource("/upstream-providers/{id}")
            .route(get(upstream::get))
            .route(put(upstream::replace))
            .route(delete(upstream::delete)),
    )
    .route("/upstream-providers/{id}/enable", post(upstream::enable))
    .route("/upstream-providers/{id}/disable", post(upstream::disable))
    .service(
        web::resource("/resources/{id}/downstreams")
            .route(get(exchange::get_downstreams))
            .route(put(exchange::put_downstreams)),
    )
    .service(
        web::resource("/trusted-issuers")
            .route(get(exchange::list_issuers))
            .route(post(exchange::add_issuer)),
    )
    .route("/trusted-issuers/{id}", delete(exchange::remove_issuer))
    .service(
        web::resource("/id-jag-policies")
            .route(get(id_jag::list))
            .route(post(id_jag::allow)),
    )
    .route("/id-jag-policies/{id}", delete(id_jag::deny))
    .service(
        web::resource("/id-jag-issuers")
            .route(get(idps::list))
            .route(post(idps::add)),
    )
    .route("/id-jag-issuers/{id}", delete(idps::remove))
    .route("/id-jag-issuers/{id}/links", post(idps::link))
    .service(
        web::resource("/workload-rules")
            .route(get(workload::list))
            .route(post(workload::add)),
    )
    .route("/workload-rules/{id}", delete(workload::remove))
    .route("/exchanges", get(exchange::audit))
    .route("/audit", get(audit::list))
    .route("/keys", get(keys::list))
    .route("/keys/rotate", post(keys::rotate))
    .route("/metadata-domains", get(domains::list))
    .service(
        web::resource("/metadata-domains/{domain}")
            .route(put(domains::put))
            .route(delete(domains::delete)),
    );
}

/// Declares [`ErrorCode`] with its list, so that the OpenAPI document (which names every
/// code) and its test cannot miss a new one.
macro_rules! error_codes {
    ($($variant:ident => ($name:literal, $status:ident, $response:literal, $description:literal)),+ $(,)?) => {
        /// The `error` member of an admin API error body. Each has one status, and one
        /// response in the OpenAPI document's components.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode {
            $($variant),+
        }

        impl ErrorCode {
            pub const VARIANTS: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name),+ }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status),+ }
            }

            /// The name of its response under `components.responses`.
            pub const fn response_name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $response),+ }
            }

            pub const fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $description),+ }
            }
        }
    };
}

error_codes! {
    InvalidRequest => ("invalid_request", BAD_REQUEST, "InvalidRequest",
        "`invalid_request`: malformed JSON body."),
    InvalidToken => ("invalid_token", UNAUTHORIZED, "Unauthorized",
        "`invalid_token`: missing, invalid, expired, revoked or DPoP-bound bearer token."),
    InsufficientScope => ("insufficient_scope", FORBIDDEN, "Forbidden",
        "`insufficient_scope`: the token lacks the `warden:admin` scope."),
    NotFound => ("not_found", NOT_FOUND, "NotFound", "`not_found`: no such object."),
    Conflict => ("conflict", CONFLICT, "Conflict",
        "`conflict`: the change conflicts with existing state."),
    PayloadTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "PayloadTooLarge",
        "`payload_too_large`: the body exceeds 64 KiB."),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType", "`unsupported_media_type`: the body is not `application/json`."),
    Validation => ("validation", UNPROCESSABLE_ENTITY, "Validation",
        "`validation`: a field (of the body or the query) is invalid; `field` names it."),
    ServerError => ("server_error", INTERNAL_SERVER_ERROR, "ServerError",
        "`server_error`: the request could not be completed (the cause is logged, not sent)."),
    TemporarilyUnavailable => ("temporarily_unavailable", SERVICE_UNAVAILABLE, "Unavailable",
        "`temporarily_unavailable`: the database is not reachable; try again later."),
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(ErrorCode::VARIANTS.iter().map(|c| c.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

/// `{error, detail, field}` with its status; internal causes are logged, never sent.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    field: Option<&'static str>,
    www_authenticate: Option<String>,
}

/// The body of every admin API error.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AdminError)]
struct ApiErrorBody<'a> {
    error: ErrorCode,
    /// Human-readable explanation.
    #[schema(value_type = String)]
    detail: &'a str,
    /// The offending field; present for `validation` when a field is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    field: Option<&'a str>,
}

impl ApiError {
    fn new(code: ErrorCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            code,
            detail: detail.into(),
            field: None,
            www_authenticate: None,
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.code.status());
        response.insert_header(CacheControl(vec![CacheDirective::NoStore]));
        if let Some(challenge) = &self.www_authenticate {
            response.insert_header((
                actix_web::http::header::WWW_AUTHENTICATE,
                challenge.as_str(),
            ));
        }
        response.json(ApiErrorBody {
            error: self.code,
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
                ..ApiError::new(ErrorCode::Validation, message)
            },
            AdminError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            AdminError::NotFound(m) => ApiError::new(ErrorCode::NotFound, m),
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
            ErrorCode::TemporarilyUnavailable,
            "the database is not reachable",
        )
    } else {
        ApiError::new(ErrorCode::ServerError, "the request could not be completed")
    }
}

/// Malformed JSON is 400; well-formed JSON of the wrong shape is 422 naming the field.
fn json_rejection(e: JsonPayloadError) -> ApiError {
    match e {
        JsonPayloadError::ContentType => {
            ApiError::new(ErrorCode::UnsupportedMediaType, "send application/json")
        }
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body exceeds {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            let message = e.to_string();
            ApiError {
                field: field_of(&message),
                ..ApiError::new(ErrorCode::Validation, message)
            }
        }
        other => ApiError::new(
            ErrorCode::InvalidRequest,
            format!("malformed JSON: {other}"),
        ),
    }
}

fn query_rejection(e: QueryPayloadError) -> ApiError {
    let message = e.to_string();
    ApiError {
        field: field_of(&message),
        ..ApiError::new(ErrorCode::Validation, message)
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
        "user",
        "status",
        "before",
        "actor",
        "client",
        "resource",
        "kind",
        "since",
        "until",
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
        "activate_in",
        "last_used_before",
        "used_since",
        "never_authorized",
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
