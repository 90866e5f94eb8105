//! /admin/v1/resources/{id}/downstreams, /admin/v1/trusted-issuers, /admin/v1/exchanges

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{ApiError, admin};
use crate::admin::exchange::{self, Downstream, NewIssuer};
use crate::admin::{AdminError, MAX_PAGE};
use crate::state::AppState;

type Result = std::result::Result<HttpResponse, ApiError>;

pub async fn get_downstreams(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result {
    admin(&state, &req).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "items": exchange::downstreams(&state.store, &id).await? })))
}

pub async fn put_downstreams(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Vec<Downstream>>,
) -> Result {
    admin(&state, &req).await?;
    let items =
        exchange::set_downstreams(&state.store, &id, body.into_inner(), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn list_issuers(state: web::Data<AppState>, req: HttpRequest) -> Result {
    admin(&state, &req).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "items": exchange::issuers(&state.store).await? })))
}

pub async fn add_issuer(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<NewIssuer>,
) -> Result {
    admin(&state, &req).await?;
    Ok(HttpResponse::Created()
        .json(exchange::add_issuer(&state.store, body.into_inner(), state.clock.now()).await?))
}

pub async fn remove_issuer(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result {
    admin(&state, &req).await?;
    exchange::remove_issuer(&state.store, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<i64>,
    before: Option<String>,
}

pub async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<AuditQuery>,
) -> Result {
    admin(&state, &req).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(
            AdminError::invalid("limit", format!("must be between 1 and {MAX_PAGE}")).into(),
        );
    }
    let items = exchange::audit(&state.store, query.before.as_deref(), limit).await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|a| a.id.clone()))
        .flatten();
    Ok(HttpResponse::Ok().json(crate::admin::Page { items, next }))
}
