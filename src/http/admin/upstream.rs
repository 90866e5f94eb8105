//! /admin/v1/upstream-providers and /admin/v1/users/{id}/identities

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, admin};
use crate::admin::upstream::{self, ProviderInput, ProviderView};
use crate::state::AppState;

type Result = std::result::Result<HttpResponse, ApiError>;

fn view(state: &AppState, row: crate::domain::Provider) -> ProviderView {
    ProviderView::new(row, &state.settings.issuer)
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result {
    admin(&state, &req).await?;
    let items: Vec<ProviderView> = upstream::list(&state.store)
        .await?
        .into_iter()
        .map(|r| view(&state, r))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ProviderInput>,
) -> Result {
    admin(&state, &req).await?;
    let row = upstream::create(
        &state.store,
        &state.master_key,
        body.into_inner(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(view(&state, row)))
}

pub async fn get(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    let row = upstream::get(&state.store, &id).await?;
    Ok(HttpResponse::Ok().json(view(&state, row)))
}

pub async fn replace(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ProviderInput>,
) -> Result {
    admin(&state, &req).await?;
    let row = upstream::replace(
        &state.store,
        &state.master_key,
        &id,
        body.into_inner(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(view(&state, row)))
}

pub async fn delete(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    upstream::delete(&state.store, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn enable(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    let row = upstream::set_enabled(&state.store, &id, true, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(view(&state, row)))
}

pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result {
    admin(&state, &req).await?;
    let row = upstream::set_enabled(&state.store, &id, false, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(view(&state, row)))
}

pub async fn identities(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result {
    admin(&state, &req).await?;
    let items = upstream::identities(&state.store, &id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn unlink(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result {
    admin(&state, &req).await?;
    let (user, provider, subject) = path.into_inner();
    upstream::unlink(&state.store, &user, &provider, &subject).await?;
    Ok(HttpResponse::NoContent().finish())
}
