//! /admin/v1/scopes

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, admin};
use crate::admin::{AdminError, Page, PageQuery, scopes};
use crate::state::AppState;

type Result = std::result::Result<HttpResponse, ApiError>;

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result {
    admin(&state, &req).await?;
    let limit = query.limit()? as usize;
    let after = query.after.clone().unwrap_or_default();
    let all = state.store.scopes().await.map_err(AdminError::from)?;
    let items: Vec<_> = all
        .into_iter()
        .filter(|s| s.name > after)
        .take(limit)
        .collect();
    let next = (items.len() == limit)
        .then(|| items.last().map(|s| s.name.clone()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next }))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<scopes::NewScope>,
) -> Result {
    admin(&state, &req).await?;
    let row = scopes::create(&state.store, body.into_inner(), state.clock.now()).await?;
    refresh(&state).await;
    Ok(HttpResponse::Created().json(row))
}

pub async fn get(state: web::Data<AppState>, req: HttpRequest, name: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    Ok(HttpResponse::Ok().json(scopes::get(&state.store, &name).await?))
}

pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<scopes::ScopeChanges>,
) -> Result {
    admin(&state, &req).await?;
    Ok(HttpResponse::Ok().json(scopes::update(&state.store, &name, body.into_inner()).await?))
}

pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result {
    admin(&state, &req).await?;
    scopes::delete(&state.store, &name).await?;
    refresh(&state).await;
    Ok(HttpResponse::NoContent().finish())
}

/// `scopes_supported` follows the catalogue at once on this node (others within a refresh).
async fn refresh(state: &AppState) {
    if let Err(e) = crate::oauth::metadata::refresh(state).await {
        tracing::warn!(error = format!("{e:#}"), "could not refresh the metadata");
    }
}
