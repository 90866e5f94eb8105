//! /admin/v1/metadata-domains

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{ApiError, admin};
use crate::admin::domains;
use crate::state::AppState;

type Result = std::result::Result<HttpResponse, ApiError>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    policy: String,
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result {
    admin(&state, &req).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": domains::list(&state.store).await? })))
}

pub async fn put(
    state: web::Data<AppState>,
    req: HttpRequest,
    domain: web::Path<String>,
    body: web::Json<PolicyBody>,
) -> Result {
    admin(&state, &req).await?;
    Ok(HttpResponse::Ok()
        .json(domains::set(&state.store, &domain, &body.policy, state.clock.now()).await?))
}

pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    domain: web::Path<String>,
) -> Result {
    admin(&state, &req).await?;
    domains::forget(&state.store, &domain).await?;
    Ok(HttpResponse::NoContent().finish())
}
