//! /admin/v1/resources

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, admin};
use crate::admin::resources::{self, ResourceChanges, ResourceView};
use crate::admin::{Page, PageQuery};
use crate::state::AppState;

type Result = std::result::Result<HttpResponse, ApiError>;

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result {
    admin(&state, &req).await?;
    let page = resources::list(&state.store, &query).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: page
            .items
            .into_iter()
            .map(|r| ResourceView::new(r, &state.settings))
            .collect(),
        next: page.next,
    }))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<resources::NewResource>,
) -> Result {
    admin(&state, &req).await?;
    let row = resources::create(
        &state.store,
        &state.settings,
        body.into_inner(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(ResourceView::new(row, &state.settings)))
}

pub async fn get(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    let row = resources::get(&state.store, &id).await?;
    Ok(HttpResponse::Ok().json(ResourceView::new(row, &state.settings)))
}

pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ResourceChanges>,
) -> Result {
    admin(&state, &req).await?;
    change(&state, &id, body.into_inner()).await
}

pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result {
    admin(&state, &req).await?;
    change(
        &state,
        &id,
        ResourceChanges {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
}

pub async fn enable(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    change(
        &state,
        &id,
        ResourceChanges {
            enabled: Some(true),
            ..Default::default()
        },
    )
    .await
}

async fn change(state: &AppState, id: &str, changes: ResourceChanges) -> Result {
    let row = resources::update(
        &state.store,
        &state.settings,
        id,
        changes,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(ResourceView::new(row, &state.settings)))
}

pub async fn delete(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    resources::delete(&state.store, &id, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
