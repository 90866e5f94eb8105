//! /admin/v1/metadata-domains

use actix_web::web;
use serde::Deserialize;

use super::AdminCaller;
use super::openapi::{Guarded, JsonBody, Missing};
use super::respond::{Items, Reply, items, no_content, ok};
use crate::admin::domains;
use crate::state::AppState;
use crate::store::registration::{DomainPolicy, policy_schema};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// `trusted`: no consent warning for its clients; `blocked`: they are refused.
    #[schema(schema_with = policy_schema)]
    policy: String,
}

/// Policies for client metadata document domains.
#[utoipa::path(
    get,
    path = "/metadata-domains",
    operation_id = "listMetadataDomains",
    responses(
        (status = 200, description = "The policies.", body = Items<DomainPolicy>),
        Guarded,
    ),
)]
pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(domains::list(&state.store).await?)
}

/// Trust (no consent warning) or block (refuse) clients whose metadata documents live on
/// this domain.
#[utoipa::path(
    put,
    path = "/metadata-domains/{domain}",
    operation_id = "setMetadataDomain",
    params(("domain" = String, Path, description = "A host name, or `*.example.com` for its subdomains.")),
    request_body = PolicyBody,
    responses(
        (status = 200, description = "The policy.", body = DomainPolicy),
        Guarded,
        JsonBody,
    ),
)]
pub async fn put(
    caller: AdminCaller,
    state: web::Data<AppState>,
    domain: web::Path<String>,
    body: web::Json<PolicyBody>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    ok(domains::set(&state.store, &domain, &body.policy, now, &actor).await?)
}

/// Remove the policy.
#[utoipa::path(
    delete,
    path = "/metadata-domains/{domain}",
    operation_id = "forgetMetadataDomain",
    params(("domain" = String, Path, description = "A host name, or `*.example.com` for its subdomains.")),
    responses(
        (status = 204, description = "Deleted."),
        Guarded,
        Missing,
    ),
)]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    domain: web::Path<String>,
) -> Reply {
    domains::forget(&state.store, &domain, state.clock.now(), &caller.actor()).await?;
    no_content()
}
