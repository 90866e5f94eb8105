//! /admin/v1/grants, /admin/v1/grants/revoke, /admin/v1/grants/{id}/revoke and
//! /admin/v1/clients/{client_id}/grants

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, items, ok};
use crate::admin::grants::{self, GrantQuery, RevokeAll};
use crate::state::AppState;

pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<GrantQuery>,
) -> Reply {
    ok(grants::list(&state.store, &query).await?)
}

pub async fn of_client(
    _: AdminCaller,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
) -> Reply {
    items(grants::of_client(&state.store, &client_id).await?)
}

pub async fn revoke(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    ok(grants::revoke(&state.store, &id, state.clock.now(), &caller.actor()).await?)
}

pub async fn revoke_all(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<RevokeAll>,
) -> Reply {
    let now = state.clock.now();
    let revoked = grants::revoke_all(&state.store, &body, now, &caller.actor()).await?;
    ok(serde_json::json!({ "revoked": revoked }))
}
