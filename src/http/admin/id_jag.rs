//! /admin/v1/id-jag-policies: which clients may obtain ID-JAGs from Warden for which other
//! authorization servers and MCP servers.

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, items, no_content};
use crate::admin::id_jag::{self, NewPolicy};
use crate::state::AppState;

pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(id_jag::list(&state.store).await?)
}

pub async fn allow(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewPolicy>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(id_jag::allow(&state.store, body.into_inner(), now, &actor).await?)
}

pub async fn deny(caller: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    id_jag::deny(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}
