//! GET /metrics: Prometheus text format. The database pool (limit, open, idle) and how long
//! requests waited for a connection, plus the hot-path cache's size. Readable from
//! loopback, or from anywhere with `Authorization: Bearer $WARDEN_METRICS_TOKEN` when that
//! is set: the figures are harmless but nobody else's business.

use std::fmt::Write;

use actix_web::{HttpRequest, HttpResponse, web};
use subtle::ConstantTimeEq;

use crate::state::AppState;
use crate::store::pool_metrics;

pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let allowed = match state.settings.metrics_token.as_ref() {
        Some(token) => req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.expose().as_bytes()))),
        None => req.peer_addr().is_some_and(|a| a.ip().is_loopback()),
    };
    if !allowed {
        return HttpResponse::Forbidden().finish();
    }
    let (max, open, idle) = state.store.pool_stats();
    let (acquired, wait_us, max_wait_us, without_idle) = pool_metrics::snapshot();
    let mut out = String::with_capacity(1024);
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    };
    metric(
        "warden_db_pool_max_connections",
        "gauge",
        "The pool's limit (WARDEN_DB_MAX_CONNECTIONS).",
        max.to_string(),
    );
    metric(
        "warden_db_pool_open_connections",
        "gauge",
        "Connections open now.",
        open.to_string(),
    );
    metric(
        "warden_db_pool_idle_connections",
        "gauge",
        "Open connections not in use now.",
        idle.to_string(),
    );
    metric(
        "warden_db_acquire_total",
        "counter",
        "Connections taken from the pool.",
        acquired.to_string(),
    );
    metric(
        "warden_db_acquire_wait_seconds_total",
        "counter",
        "Time spent waiting for a connection (divide by warden_db_acquire_total for the mean).",
        format!("{:.6}", wait_us as f64 / 1e6),
    );
    metric(
        "warden_db_acquire_wait_seconds_max",
        "gauge",
        "The longest wait for a connection since start.",
        format!("{:.6}", max_wait_us as f64 / 1e6),
    );
    metric(
        "warden_db_acquire_without_idle_total",
        "counter",
        "Acquisitions that found no idle connection (waited or opened one).",
        without_idle.to_string(),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
