//! /admin/v1/users

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, admin};
use crate::admin::users::{self, UserChanges, UserView};
use crate::admin::{Page, PageQuery};
use crate::state::AppState;

type Result = std::result::Result<HttpResponse, ApiError>;

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result {
    admin(&state, &req).await?;
    let page = users::list(&state.store, &query).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: page.items.into_iter().map(UserView::from).collect(),
        next: page.next,
    }))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<users::NewUser>,
) -> Result {
    admin(&state, &req).await?;
    let row = users::create(&state.store, body.into_inner(), state.clock.now()).await?;
    Ok(HttpResponse::Created().json(UserView::from(row)))
}

pub async fn get(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    Ok(HttpResponse::Ok().json(UserView::from(users::get(&state.store, &id).await?)))
}

pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<UserChanges>,
) -> Result {
    admin(&state, &req).await?;
    let row = users::update(&state.store, &id, body.into_inner(), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(UserView::from(row)))
}

pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result {
    admin(&state, &req).await?;
    let changes = UserChanges {
        disabled: Some(true),
        ..Default::default()
    };
    Ok(HttpResponse::Ok().json(UserView::from(
        users::update(&state.store, &id, changes, state.clock.now()).await?,
    )))
}

pub async fn enable(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    let changes = UserChanges {
        disabled: Some(false),
        ..Default::default()
    };
    Ok(HttpResponse::Ok().json(UserView::from(
        users::update(&state.store, &id, changes, state.clock.now()).await?,
    )))
}

pub async fn delete(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    users::delete(&state.store, &id, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
