//! GET /resource-metadata/{id}: RFC 9728 §3 protected resource metadata, hosted for each
//! registered MCP server so it can point `WWW-Authenticate: Bearer resource_metadata=…`
//! here instead of writing its own. A resource that requires DPoP says so (RFC 9728 §2
//! `dpop_bound_access_tokens_required`), so clients send a proof from the first request.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::http::errors::{json_error, not_found};
use crate::oauth::error::ErrorCode;
use crate::oauth::scope::OFFLINE_ACCESS;
use crate::state::AppState;

#[derive(Serialize)]
struct ProtectedResourceMetadata<'a> {
    resource: &'a str,
    authorization_servers: [&'a str; 1],
    scopes_supported: Vec<&'a str>,
    bearer_methods_supported: [&'static str; 1],
    resource_name: &'a str,
    /// Absent means false (RFC 9728 §2), so it is sent only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens_required: bool,
}

pub async fn get_resource_metadata(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let resource = match state.store.resource_by_id(&id).await {
        Ok(Some(r)) if r.enabled && !r.builtin => r,
        Ok(_) => return not_found().await,
        Err(e) => {
            tracing::error!(error = %e, "resource metadata lookup failed");
            return json_error(ErrorCode::TemporarilyUnavailable, Some("try again later"));
        }
    };
    let scopes = &resource.scopes;
    let document = ProtectedResourceMetadata {
        resource: &resource.uri,
        authorization_servers: [state.settings.issuer.as_str()],
        // SEP-2207: `offline_access` is the authorization server's business, never a
        // resource's (the registry refuses it; a row from before that rule is filtered).
        scopes_supported: scopes.iter().filter(|s| *s != OFFLINE_ACCESS).collect(),
        bearer_methods_supported: ["header"],
        resource_name: &resource.name,
        dpop_bound_access_tokens_required: resource.require_dpop,
    };
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(60),
        ]))
        .json(document)
}
