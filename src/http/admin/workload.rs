//! /admin/v1/workload-rules: which workload JWTs authenticate which client (SEP-1933).

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, items, no_content};
use crate::admin::workload::{self, NewWorkloadRule};
use crate::state::AppState;

pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(workload::list(&state.store).await?)
}

pub async fn add(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewWorkloadRule>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(workload::add(&state.store, body.into_inner(), now, &actor).await?)
}

pub async fn remove(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    workload::remove(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}
