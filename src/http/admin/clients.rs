//! /admin/v1/clients

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, no_content, ok, page};
use crate::admin::clients::{self, ClientChanges, ClientView};
use crate::state::AppState;

pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<clients::ClientQuery>,
) -> Reply {
    page(clients::list(&state.store, &query).await?, ClientView::from)
}

pub async fn create(
    _: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<clients::NewClient>,
) -> Reply {
    let view = clients::create(
        &state.store,
        &state.master_key,
        body.into_inner(),
        state.clock.now(),
    )
    .await?;
    created(view)
}

pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    ok(ClientView::from(clients::get(&state.store, &id).await?))
}

pub async fn update(
    _: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ClientChanges>,
) -> Reply {
    change(&state, &id, body.into_inner()).await
}

pub async fn disable(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    change(&state, &id, enabled(false)).await
}

pub async fn enable(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    change(&state, &id, enabled(true)).await
}

fn enabled(enabled: bool) -> ClientChanges {
    ClientChanges {
        enabled: Some(enabled),
        ..Default::default()
    }
}

async fn change(state: &AppState, id: &str, changes: ClientChanges) -> Reply {
    let row = clients::update(&state.store, id, changes, state.clock.now()).await?;
    ok(ClientView::from(row))
}

pub async fn delete(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    clients::delete(&state.store, &id, state.clock.now()).await?;
    no_content()
}
