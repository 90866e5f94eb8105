//! Liveness and readiness probes.

use std::time::Duration;

use actix_web::{HttpResponse, web};

use crate::http::errors::json_error;
use crate::oauth::error::ErrorCode;
use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// 200 when the database answers within two seconds, 503 otherwise.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return json_error(
            ErrorCode::TemporarilyUnavailable,
            Some("this node is shutting down"),
        );
    }
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            json_error(
                ErrorCode::TemporarilyUnavailable,
                Some("the database is not reachable"),
            )
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            json_error(
                ErrorCode::TemporarilyUnavailable,
                Some("the database did not answer in time"),
            )
        }
    }
}
