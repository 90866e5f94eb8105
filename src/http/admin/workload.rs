//! /admin/v1/workload-rules: which workload JWTs authenticate which client (SEP-1933).

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Guarded, JsonBody, Missing};
use super::respond::{Items, Reply, created, items, no_content};
use crate::admin::workload::{self, NewWorkloadRule, WorkloadRuleView};
use crate::state::AppState;

/// Workload identity rules (SEP-1933): which platform JWTs authenticate which workload
/// client.
#[utoipa::path(
    get,
    path = "/workload-rules",
    operation_id = "listWorkloadRules",
    responses(
        (status = 200, description = "The rules.", body = Items<WorkloadRuleView>),
        Guarded,
    ),
)]
pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(workload::list(&state.store).await?)
}

/// Let workload JWTs matching the rule authenticate as its client.
#[utoipa::path(
    post,
    path = "/workload-rules",
    operation_id = "addWorkloadRule",
    request_body = NewWorkloadRule,
    responses(
        (status = 201, description = "Created.", body = WorkloadRuleView),
        Guarded,
        JsonBody,
    ),
)]
pub async fn add(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewWorkloadRule>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(workload::add(&state.store, body.into_inner(), now, &actor).await?)
}

/// Delete a workload rule.
#[utoipa::path(
    delete,
    path = "/workload-rules/{id}",
    operation_id = "removeWorkloadRule",
    params(("id" = String, Path, description = "Rule id.")),
    responses(
        (status = 204, description = "Deleted."),
        Guarded,
        Missing,
    ),
)]
pub async fn remove(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    workload::remove(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}
