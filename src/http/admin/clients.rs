//! /admin/v1/clients

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, no_content, ok};
use crate::admin::clients::{self, ClientChanges, ClientView};
use crate::state::AppState;

pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<clients::ClientQuery>,
) -> Reply {
    ok(clients::list(&state.store, &query).await?)
}

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

pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    ok(clients::show(&state.store, &id).await?)
}

pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ClientChanges>,
) -> Reply {
    change(&caller, &state, &id, body.into_inner()).await
}

pub async fn disable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    change(&caller, &state, &id, enabled(false)).await
}

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

pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    clients::delete(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}

/// A new secret for a confidential client, shown once; the old one stops working at once.
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
