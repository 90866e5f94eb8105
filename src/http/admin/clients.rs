//! /admin/v1/clients

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, admin};
use crate::admin::Page;
use crate::admin::clients::{self, ClientChanges, ClientView};
use crate::state::AppState;

type Result = std::result::Result<HttpResponse, ApiError>;

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<clients::ClientQuery>,
) -> Result {
    admin(&state, &req).await?;
    let page = clients::list(&state.store, &query).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: page.items.into_iter().map(ClientView::from).collect(),
        next: page.next,
    }))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<clients::NewClient>,
) -> Result {
    admin(&state, &req).await?;
    let view = clients::create(
        &state.store,
        &state.master_key,
        body.into_inner(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

pub async fn get(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    Ok(HttpResponse::Ok().json(ClientView::from(clients::get(&state.store, &id).await?)))
}

pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ClientChanges>,
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
        ClientChanges {
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
        ClientChanges {
            enabled: Some(true),
            ..Default::default()
        },
    )
    .await
}

async fn change(state: &AppState, id: &str, changes: ClientChanges) -> Result {
    let row = clients::update(&state.store, id, changes, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(ClientView::from(row)))
}

pub async fn delete(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    clients::delete(&state.store, &id, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
