//! /admin/v1/resources/{id}/downstreams, /admin/v1/trusted-issuers, /admin/v1/exchanges

use actix_web::web;
use serde::Deserialize;

use super::AdminCaller;
use super::respond::{Reply, created, items, no_content, ok};
use crate::admin::PageQuery;
use crate::admin::exchange::{self, Downstream, NewIssuer};
use crate::state::AppState;

pub async fn get_downstreams(
    _: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    items(exchange::downstreams(&state.store, &id).await?)
}

pub async fn put_downstreams(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Vec<Downstream>>,
) -> Reply {
    let now = state.clock.now();
    let actor = caller.actor();
    items(exchange::set_downstreams(&state.store, &id, body.into_inner(), now, &actor).await?)
}

pub async fn list_issuers(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(exchange::issuers(&state.store).await?)
}

pub async fn add_issuer(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewIssuer>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(exchange::add_issuer(&state.store, body.into_inner(), now, &actor).await?)
}

pub async fn remove_issuer(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    exchange::remove_issuer(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<i64>,
    before: Option<String>,
}

pub async fn audit(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Reply {
    // The audit log pages backwards from `before`, with the same bounds on `limit`.
    let limit = PageQuery {
        limit: query.limit,
        after: None,
    }
    .limit()?;
    ok(exchange::audit(&state.store, query.before.as_deref(), limit).await?)
}
