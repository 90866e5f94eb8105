//! The admin API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the `ToSchema` types they take and return, built once and served at
//! `GET /admin/v1/openapi.json`. Error responses come from [`ErrorCode`], one component
//! each; an operation names the sets it can answer with ([`Guarded`], [`JsonBody`], …).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use actix_web::HttpResponse;
use bytes::Bytes;
use utoipa::openapi::path::Paths;
use utoipa::openapi::security::{
    ClientCredentials, Flow, OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Type,
};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::{
    ApiError, ApiErrorBody, ErrorCode, audit, clients, domains, exchange, grants, id_jag, idps,
    keys, resources, scopes, upstream, users, workload,
};
use crate::oauth::metadata::paths;
use crate::oauth::scope::ADMIN_SCOPE;

const SECURITY_SCHEME: &str = "wardenAdmin";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Warden admin API",
        version = "1",
        description = "Administration API of Warden, an OAuth 2.1 authorization server for \
            MCP. Every operation except fetching this document requires a Warden-issued access \
            token obtained with the client_credentials grant at `/token`, with \
            `resource={issuer}/admin` and scope `warden:admin`."
    ),
    servers((url = "/")),
    paths(
        document,
        scopes::list, scopes::create, scopes::get, scopes::update, scopes::delete,
        resources::list, resources::create, resources::get, resources::update,
        resources::delete, resources::disable, resources::enable, resources::check,
        exchange::get_downstreams, exchange::put_downstreams,
        clients::list, clients::create, clients::get, clients::update, clients::delete,
        clients::disable, clients::enable, clients::rotate_secret,
        grants::of_client, grants::list, grants::revoke_all, grants::revoke,
        users::list, users::create, users::get, users::update, users::delete,
        users::disable, users::enable,
        upstream::identities, upstream::unlink,
        upstream::list, upstream::create, upstream::get, upstream::replace, upstream::delete,
        upstream::enable, upstream::disable,
        exchange::list_issuers, exchange::add_issuer, exchange::remove_issuer,
        id_jag::list, id_jag::allow, id_jag::deny,
        idps::list, idps::add, idps::remove, idps::link,
        workload::list, workload::add, workload::remove,
        exchange::audit, audit::list,
        keys::list, keys::rotate,
        domains::list, domains::put, domains::delete,
    ),
    components(schemas(ApiErrorBody)),
    modifiers(&Shared),
)]
struct AdminApi;

/// This OpenAPI document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApi",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object)),
)]
pub async fn document() -> Result<HttpResponse, ApiError> {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    let body = match DOCUMENT.get() {
        Some(body) => body.clone(),
        None => {
            let json =
                serde_json::to_vec(&AdminApi::openapi()).map_err(|e| super::internal(e.into()))?;
            DOCUMENT.get_or_init(|| Bytes::from(json)).clone()
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// What the attributes cannot say: the `/admin/v1` prefix the routes are mounted under,
/// the security scheme (its scope and token path are constants elsewhere), and one
/// response per [`ErrorCode`].
struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut prefixed = Paths::new();
        for (path, item) in std::mem::take(&mut openapi.paths.paths) {
            prefixed
                .paths
                .insert(format!("{}{path}", paths::ADMIN_API), item);
        }
        openapi.paths = prefixed;
        openapi.security = Some(vec![SecurityRequirement::new(
            SECURITY_SCHEME,
            [ADMIN_SCOPE],
        )]);

        let components = openapi.components.get_or_insert_with(Default::default);
        let client_credentials = ClientCredentials::new(
            paths::TOKEN,
            Scopes::from_iter([(ADMIN_SCOPE, "Administer Warden")]),
        );
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(client_credentials)],
                "Warden-issued access token from the client_credentials grant with \
                 `resource={issuer}/admin` and scope `warden:admin`.",
            )),
        );
        for code in ErrorCode::VARIANTS {
            components.responses.insert(
                code.response_name().to_owned(),
                error_response(*code).into(),
            );
        }
    }
}

fn error_response(code: ErrorCode) -> Response {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(ApiErrorBody::name())))
        .build();
    let response = ResponseBuilder::new()
        .description(code.description())
        .content("application/json", body);
    // RFC 6750 §3: the refusals of a bearer token carry the challenge.
    if matches!(code, ErrorCode::InvalidToken | ErrorCode::InsufficientScope) {
        let challenge = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "Bearer challenge, e.g. `Bearer realm=\"warden-admin\", error=\"invalid_token\"`.",
            ))
            .build();
        response.header("WWW-Authenticate", challenge).build()
    } else {
        response.build()
    }
}

/// References to the error responses of `codes`, by status.
fn refs(codes: &[ErrorCode]) -> BTreeMap<String, RefOr<Response>> {
    codes
        .iter()
        .map(|code| {
            let target = Ref::from_response_name(code.response_name());
            (code.status().as_u16().to_string(), RefOr::Ref(target))
        })
        .collect()
}

/// Sets of error responses an operation lists in its `responses(...)`.
macro_rules! error_sets {
    ($($(#[doc = $doc:literal])* $name:ident => [$($code:ident),+];)+) => {$(
        $(#[doc = $doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                refs(&[$(ErrorCode::$code),+])
            }
        }
    )+};
}

error_sets! {
    /// Any admin operation: the token check (`AdminCaller`, which also reads the store)
    /// and a failing database.
    Guarded => [InvalidToken, InsufficientScope, ServerError, TemporarilyUnavailable];
    /// A `web::Json` body, refused by `json_rejection`, or a field the service refuses.
    JsonBody => [InvalidRequest, PayloadTooLarge, UnsupportedMediaType, Validation];
    /// A body read by hand and parsed with `json_rejection` (`keys::rotate`).
    OptionalBody => [InvalidRequest, Validation];
    /// The object named in the path does not exist.
    Missing => [NotFound];
    /// The change conflicts with what is stored.
    Conflicting => [Conflict];
    /// A query parameter (or the state of the object) the service refuses.
    Invalid => [Validation];
}
