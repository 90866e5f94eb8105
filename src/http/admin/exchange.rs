//! /admin/v1/resources/{id}/downstreams, /admin/v1/trusted-issuers, /admin/v1/exchanges

use actix_web::web;
use serde::Deserialize;

use super::AdminCaller;
use super::openapi::{Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::respond::{Items, Reply, created, items, no_content, ok};
use crate::admin::exchange::{self, Downstream, ExchangeView, IssuerView, NewIssuer};
use crate::admin::{Page, PageQuery};
use crate::state::AppState;

/// Downstream targets of a resource (token exchange policy).
#[utoipa::path(
    get,
    path = "/resources/{id}/downstreams",
    operation_id = "getDownstreams",
    params(("id" = String, Path, description = "Resource id (a UUID).")),
    responses(
        (status = 200, description = "The downstream targets.", body = Items<Downstream>),
        Guarded,
        Missing,
    ),
)]
pub async fn get_downstreams(
    _: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    items(exchange::downstreams(&state.store, &id).await?)
}

/// Replace the downstream targets of a resource.
#[utoipa::path(
    put,
    path = "/resources/{id}/downstreams",
    operation_id = "setDownstreams",
    params(("id" = String, Path, description = "Resource id (a UUID).")),
    request_body = Vec<Downstream>,
    responses(
        (status = 200, description = "The downstream targets.", body = Items<Downstream>),
        Guarded,
        JsonBody,
        Missing,
    ),
)]
pub async fn put_downstreams(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Vec<Downstream>>,
) -> Reply {
    let now = state.clock.now();
    let actor = caller.actor();
    items(exchange::set_downstreams(&state.store, &id, body.into_inner(), now, &actor).await?)
}

/// External issuers whose tokens may be exchanged.
#[utoipa::path(
    get,
    path = "/trusted-issuers",
    operation_id = "listTrustedIssuers",
    responses(
        (status = 200, description = "The issuers.", body = Items<IssuerView>),
        Guarded,
    ),
)]
pub async fn list_issuers(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(exchange::issuers(&state.store).await?)
}

/// Trust an external issuer.
#[utoipa::path(
    post,
    path = "/trusted-issuers",
    operation_id = "addTrustedIssuer",
    request_body = NewIssuer,
    responses(
        (status = 201, description = "Created.", body = IssuerView),
        Guarded,
        JsonBody,
        Conflicting,
    ),
)]
pub async fn add_issuer(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewIssuer>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(exchange::add_issuer(&state.store, body.into_inner(), now, &actor).await?)
}

/// Stop trusting an issuer.
#[utoipa::path(
    delete,
    path = "/trusted-issuers/{id}",
    operation_id = "removeTrustedIssuer",
    params(("id" = String, Path, description = "Trusted issuer id.")),
    responses(
        (status = 204, description = "Deleted."),
        Guarded,
        Missing,
    ),
)]
pub async fn remove_issuer(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    exchange::remove_issuer(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Page size.
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<i64>,
    /// The `next` of the previous page.
    before: Option<String>,
}

/// The token exchanges of the audit log (`kind=token_exchange`), newest first.
#[utoipa::path(
    get,
    path = "/exchanges",
    operation_id = "listExchanges",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of exchanges.", body = Page<ExchangeView>),
        Guarded,
        Invalid,
    ),
)]
pub async fn audit(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Reply {
    // The audit log pages backwards from `before`, with the same bounds on `limit`.
    let limit = PageQuery {
        limit: query.limit,
        after: None,
    }
    .limit()?;
    ok(exchange::audit(&state.store, query.before.as_deref(), limit).await?)
}
