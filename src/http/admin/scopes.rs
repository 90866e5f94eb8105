//! /admin/v1/scopes

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::respond::{Reply, created, no_content, ok};
use crate::admin::{Page, PageQuery, scopes};
use crate::state::AppState;
use crate::store::scopes::ScopeRow;

/// List scopes in the catalogue.
#[utoipa::path(
    get,
    path = "/scopes",
    operation_id = "listScopes",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of results.", body = Page<scopes::ScopeUse>),
        Guarded,
        Invalid,
    ),
)]
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

/// Create a scope.
///
/// 409 if a scope with this name already exists.
#[utoipa::path(
    post,
    path = "/scopes",
    operation_id = "createScope",
    request_body = scopes::NewScope,
    responses(
        (status = 201, description = "Created.", body = ScopeRow),
        Guarded,
        JsonBody,
        Conflicting,
    ),
)]
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

/// Get a scope.
#[utoipa::path(
    get,
    path = "/scopes/{name}",
    operation_id = "getScope",
    params(("name" = String, Path, description = "The scope name.")),
    responses((status = 200, description = "The scope.", body = scopes::ScopeUse), Guarded, Missing),
)]
pub async fn get(_: AdminCaller, state: web::Data<AppState>, name: web::Path<String>) -> Reply {
    ok(scopes::usage(&state.store, &name).await?)
}

/// Update a scope.
#[utoipa::path(
    patch,
    path = "/scopes/{name}",
    operation_id = "updateScope",
    params(("name" = String, Path, description = "The scope name.")),
    request_body = scopes::ScopeChanges,
    responses(
        (status = 200, description = "The scope.", body = scopes::ScopeUse),
        Guarded,
        JsonBody,
        Missing,
    ),
)]
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

/// Delete a scope.
///
/// 409 for a built-in scope, one another scope implies, or one a resource still accepts.
#[utoipa::path(
    delete,
    path = "/scopes/{name}",
    operation_id = "deleteScope",
    params(("name" = String, Path, description = "The scope name.")),
    responses((status = 204, description = "Deleted."), Guarded, Missing, Conflicting),
)]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Reply {
    scopes::delete(&state.store, &name, state.clock.now(), &caller.actor()).await?;
    crate::oauth::metadata::catalogue_changed(&state).await;
    no_content()
}
