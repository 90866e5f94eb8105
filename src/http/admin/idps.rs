//! /admin/v1/id-jag-issuers: enterprise IdPs trusted for ID-JAGs.

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, items, no_content};
use crate::admin::idps::{self, NewIdp, NewLink};
use crate::state::AppState;

pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(idps::list(&state.store).await?)
}

pub async fn add(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewIdp>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(idps::add(&state.store, body.into_inner(), now, &actor).await?)
}

pub async fn remove(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    idps::remove(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}

pub async fn link(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<NewLink>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(idps::link(&state.store, &id, body.into_inner(), now, &actor).await?)
}
