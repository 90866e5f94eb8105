//! /admin/v1/id-jag-policies: which clients may obtain ID-JAGs from Warden for which other
//! authorization servers and MCP servers.

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Guarded, JsonBody, Missing};
use super::respond::{Items, Reply, created, items, no_content};
use crate::admin::id_jag::{self, NewPolicy};
use crate::state::AppState;
use crate::store::id_jag::IdJagPolicyRow;

/// Which clients may obtain ID-JAGs for which other authorization servers and MCP servers.
#[utoipa::path(
    get,
    path = "/id-jag-policies",
    operation_id = "listIdJagPolicies",
    responses(
        (status = 200, description = "The policies.", body = Items<IdJagPolicyRow>),
        Guarded,
    ),
)]
pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(id_jag::list(&state.store).await?)
}

/// Let a client obtain ID-JAGs for a resource at another authorization server (replaces the
/// policy for the same client, audience and resource).
#[utoipa::path(
    post,
    path = "/id-jag-policies",
    operation_id = "allowIdJag",
    request_body = NewPolicy,
    responses(
        (status = 201, description = "Created.", body = IdJagPolicyRow),
        Guarded,
        JsonBody,
    ),
)]
pub async fn allow(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewPolicy>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(id_jag::allow(&state.store, body.into_inner(), now, &actor).await?)
}

/// Remove an ID-JAG policy (ID-JAGs already issued live out their five minutes).
#[utoipa::path(
    delete,
    path = "/id-jag-policies/{id}",
    operation_id = "denyIdJag",
    params(("id" = String, Path, description = "Policy id.")),
    responses(
        (status = 204, description = "Deleted."),
        Guarded,
        Missing,
    ),
)]
pub async fn deny(caller: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    id_jag::deny(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}
