//! /admin/v1/audit

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Guarded, Invalid};
use super::respond::{Reply, ok};
use crate::admin::Page;
use crate::admin::audit::{self, AuditQuery};
use crate::domain::AuditEvent;
use crate::state::AppState;

/// The audit log, newest first: sign-ins, consents, revocations, refresh-token reuse, admin
/// changes (before/after of the changed fields, never secrets), client registrations and
/// deletions, token exchanges, key rotations.
#[utoipa::path(
    get,
    path = "/audit",
    operation_id = "listAuditEvents",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of events.", body = Page<AuditEvent>),
        Guarded,
        Invalid,
    ),
)]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Reply {
    ok(audit::list(&state.store, &query).await?)
}
