//! /admin/v1/scopes

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, no_content, ok};
use crate::admin::{AdminError, Page, PageQuery, scopes};
use crate::state::AppState;

pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Reply {
    let limit = query.limit()?;
    let after = query.after.clone().unwrap_or_default();
    // The catalogue is small: it is paged here rather than in SQL.
    let all = state.store.scopes().await.map_err(AdminError::from)?;
    let items: Vec<_> = all
        .into_iter()
        .filter(|s| s.name > after)
        .take(limit as usize)
        .collect();
    ok(Page::of(items, limit, |s| s.name.clone()))
}

pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<scopes::NewScope>,
) -> Reply {
    let now = state.clock.now();
    let row = scopes::create(&state.store, body.into_inner(), now, &caller.actor()).await?;
    crate::oauth::metadata::catalogue_changed(&state).await;
    created(row)
}

pub async fn get(_: AdminCaller, state: web::Data<AppState>, name: web::Path<String>) -> Reply {
    ok(scopes::get(&state.store, &name).await?)
}

pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<scopes::ScopeChanges>,
) -> Reply {
    let now = state.clock.now();
    ok(scopes::update(&state.store, &name, body.into_inner(), now, &caller.actor()).await?)
}

pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Reply {
    scopes::delete(&state.store, &name, state.clock.now(), &caller.actor()).await?;
    crate::oauth::metadata::catalogue_changed(&state).await;
    no_content()
}
