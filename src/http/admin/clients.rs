//! /admin/v1/clients

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::respond::{Reply, created, no_content, ok};
use crate::admin::Page;
use crate::admin::clients::{self, ClientChanges, ClientView};
use crate::state::AppState;

/// List clients.
#[utoipa::path(
    get,
    path = "/clients",
    operation_id = "listClients",
    params(clients::ClientQuery),
    responses(
        (status = 200, description = "One page of results.", body = Page<ClientView>),
        Guarded,
        Invalid,
    ),
)]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<clients::ClientQuery>,
) -> Reply {
    ok(clients::list(&state.store, &query).await?)
}

/// Register a client.
#[utoipa::path(
    post,
    path = "/clients",
    operation_id = "createClient",
    request_body = clients::NewClient,
    responses(
        (status = 201, description = "Created; includes `client_secret`, which is shown only once.", body = ClientView),
        Guarded,
        JsonBody,
        Conflicting,
    ),
)]
pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<clients::NewClient>,
) -> Reply {
    let view = clients::create(
        &state.store,
        &state.master_key,
        body.into_inner(),
        state.clock.now(),
        &caller.actor(),
    )
    .await?;
    created(view)
}

/// Get a client.
#[utoipa::path(
    get,
    path = "/clients/{client_id}",
    operation_id = "getClient",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The client.", body = ClientView),
        Guarded,
        Missing,
    ),
)]
pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    ok(clients::show(&state.store, &id).await?)
}

/// Update a client.
#[utoipa::path(
    patch,
    path = "/clients/{client_id}",
    operation_id = "updateClient",
    params(("client_id" = String, Path)),
    request_body = ClientChanges,
    responses(
        (status = 200, description = "The client.", body = ClientView),
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
    body: web::Json<ClientChanges>,
) -> Reply {
    change(&caller, &state, &id, body.into_inner()).await
}

/// Disable a client.
#[utoipa::path(
    post,
    path = "/clients/{client_id}/disable",
    operation_id = "disableClient",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The client.", body = ClientView),
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

/// Enable a client.
#[utoipa::path(
    post,
    path = "/clients/{client_id}/enable",
    operation_id = "enableClient",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The client.", body = ClientView),
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

fn enabled(enabled: bool) -> ClientChanges {
    ClientChanges {
        enabled: Some(enabled),
        ..Default::default()
    }
}

async fn change(caller: &AdminCaller, state: &AppState, id: &str, changes: ClientChanges) -> Reply {
    let now = state.clock.now();
    let row = clients::update(&state.store, id, changes, now, &caller.actor()).await?;
    ok(ClientView::from(row))
}

/// Delete a client.
///
/// Also deletes the client's grants, so its tokens stop introspecting as active.
#[utoipa::path(
    delete,
    path = "/clients/{client_id}",
    operation_id = "deleteClient",
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted."),
        Guarded,
        Missing,
    ),
)]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    clients::delete(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}

/// Replace a confidential client's secret. The old secret stops working at once (on other
/// nodes as soon as they hear the change on Postgres, else within `WARDEN_CACHE_TTL`);
/// tokens already issued stay valid. Audited as `client.secret_rotated`, without the
/// secret.
#[utoipa::path(
    post,
    path = "/clients/{client_id}/secret",
    operation_id = "rotateClientSecret",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The client, with its new `client_secret`, shown only this once.", body = ClientView),
        Guarded,
        Missing,
        Conflicting,
    ),
)]
pub async fn rotate_secret(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    ok(clients::rotate_secret(
        &state.store,
        &state.master_key,
        &id,
        state.clock.now(),
        &caller.actor(),
    )
    .await?)
}
