//! /admin/v1/audit

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, ok};
use crate::admin::audit::{self, AuditQuery};
use crate::state::AppState;

pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Reply {
    ok(audit::list(&state.store, &query).await?)
}
