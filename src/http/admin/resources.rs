//! /admin/v1/resources

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::respond::{Reply, created, no_content, ok, page};
use crate::admin::resource_check;
use crate::admin::resources::{self, ResourceChanges, ResourceView};
use crate::admin::{Page, PageQuery};
use crate::oauth::resource_check::{CheckReport, Prober};
use crate::state::AppState;

/// List protected resources.
#[utoipa::path(
    get,
    path = "/resources",
    operation_id = "listResources",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of results.", body = Page<ResourceView>),
        Guarded,
        Invalid,
    ),
)]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Reply {
    let rows = resources::list(&state.store, &query).await?;
    page(rows, |r| ResourceView::new(r, &state.settings))
}

/// Register a protected resource.
#[utoipa::path(
    post,
    path = "/resources",
    operation_id = "createResource",
    request_body = resources::NewResource,
    responses(
        (status = 201, description = "Created.", body = ResourceView),
        Guarded,
        JsonBody,
        Conflicting,
    ),
)]
pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<resources::NewResource>,
) -> Reply {
    let row = resources::create(
        &state.store,
        &state.settings,
        body.into_inner(),
        state.clock.now(),
        &caller.actor(),
    )
    .await?;
    created(ResourceView::new(row, &state.settings))
}

/// Get a resource.
#[utoipa::path(
    get,
    path = "/resources/{id}",
    operation_id = "getResource",
    params(("id" = String, Path, description = "Resource id (a UUID).")),
    responses(
        (status = 200, description = "The resource.", body = ResourceView),
        Guarded,
        Missing,
    ),
)]
pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let row = resources::get(&state.store, &id).await?;
    ok(ResourceView::new(row, &state.settings))
}

/// Update a resource.
#[utoipa::path(
    patch,
    path = "/resources/{id}",
    operation_id = "updateResource",
    params(("id" = String, Path, description = "Resource id (a UUID).")),
    request_body = ResourceChanges,
    responses(
        (status = 200, description = "The resource.", body = ResourceView),
        Guarded,
        JsonBody,
        Missing,
        Conflicting,
    ),
)]
pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ResourceChanges>,
) -> Reply {
    change(&caller, &state, &id, body.into_inner()).await
}

/// Disable a resource.
#[utoipa::path(
    post,
    path = "/resources/{id}/disable",
    operation_id = "disableResource",
    params(("id" = String, Path, description = "Resource id (a UUID).")),
    responses(
        (status = 200, description = "The resource.", body = ResourceView),
        Guarded,
        Missing,
    ),
)]
pub async fn disable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    change(&caller, &state, &id, enabled(false)).await
}

/// Enable a resource.
#[utoipa::path(
    post,
    path = "/resources/{id}/enable",
    operation_id = "enableResource",
    params(("id" = String, Path, description = "Resource id (a UUID).")),
    responses(
        (status = 200, description = "The resource.", body = ResourceView),
        Guarded,
        Missing,
    ),
)]
pub async fn enable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    change(&caller, &state, &id, enabled(true)).await
}

fn enabled(enabled: bool) -> ResourceChanges {
    ResourceChanges {
        enabled: Some(enabled),
        ..Default::default()
    }
}

async fn change(
    caller: &AdminCaller,
    state: &AppState,
    id: &str,
    changes: ResourceChanges,
) -> Reply {
    let row = resources::update(
        &state.store,
        &state.settings,
        id,
        changes,
        state.clock.now(),
        &caller.actor(),
    )
    .await?;
    ok(ResourceView::new(row, &state.settings))
}

/// Delete a resource.
///
/// 409 for the built-in admin resource, or while clients still name it.
#[utoipa::path(
    delete,
    path = "/resources/{id}",
    operation_id = "deleteResource",
    params(("id" = String, Path, description = "Resource id (a UUID).")),
    responses(
        (status = 204, description = "Deleted."),
        Guarded,
        Missing,
        Conflicting,
    ),
)]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    let now = state.clock.now();
    resources::delete(&state.store, &state.settings, &id, now, &caller.actor()).await?;
    no_content()
}

/// Probe the MCP server: challenge, metadata, and which tokens it accepts.
///
/// Warden sends the registered MCP server an unauthenticated MCP `initialize` POST, reads
/// its protected resource metadata (RFC 9728), and sends tokens it mints for the check
/// (another audience, expired, an unknown key, `typ` JWT, a valid one, one without scope;
/// each lives at most 5 s and names no grant). Every request goes through the SSRF-safe
/// fetcher (loopback only with `WARDEN_DEV_ALLOW_LOOPBACK_FETCH=1`) and no redirect is
/// followed. The outcome is stored as the resource's `last_check`. Answers 200 with the
/// report whether or not the server passed.
#[utoipa::path(
    post,
    path = "/resources/{id}/check",
    operation_id = "checkResource",
    params(("id" = String, Path, description = "Resource id (a UUID).")),
    responses(
        (status = 200, description = "The report.", body = CheckReport),
        Guarded,
        Missing,
        Conflicting,
    ),
)]
pub async fn check(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let prober = Prober {
        settings: &state.settings,
        keys: &state.keys,
        fetcher: &state.fetcher,
        clock: state.clock.as_ref(),
    };
    ok(resource_check::check(&state.store, &prober, &id).await?)
}
