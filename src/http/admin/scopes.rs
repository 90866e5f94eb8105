//! /admin/v1/scopes

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, no_content, ok};
use crate::admin::{Page, PageQuery, scopes};
use crate::state::AppState;

pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Reply {
    let limit = query.limit()?;
    let after = query.after.clone().unwrap_or_default();
    // The catalogue is small: it is paged here rather than in SQL.
    let all = scopes::catalogue(&state.store).await?;
    let items: Vec<_> = all
        .into_iter()
        .filter(|s| s.scope.name > after)
        .take(limit as usize)
        .collect();
    ok(Page::of(items, limit, |s| s.scope.name.clone()))
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
    ok(scopes::usage(&state.store, &name).await?)
}

pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<scopes::ScopeChanges>,
) -> Reply {
    let now = state.clock.now();
    let scope =
        scopes::update(&state.store, &name, body.into_inner(), now, &caller.actor()).await?;
    // The hierarchy every token is closed under may have changed.
    crate::oauth::metadata::catalogue_changed(&state).await;
    ok(scope)
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
