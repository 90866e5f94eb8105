//! /admin/v1/metadata-domains

use actix_web::web;
use serde::Deserialize;

use super::AdminCaller;
use super::respond::{Reply, items, no_content, ok};
use crate::admin::domains;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    policy: String,
}

pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(domains::list(&state.store).await?)
}

pub async fn put(
    caller: AdminCaller,
    state: web::Data<AppState>,
    domain: web::Path<String>,
    body: web::Json<PolicyBody>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    ok(domains::set(&state.store, &domain, &body.policy, now, &actor).await?)
}

pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    domain: web::Path<String>,
) -> Reply {
    domains::forget(&state.store, &domain, state.clock.now(), &caller.actor()).await?;
    no_content()
}
