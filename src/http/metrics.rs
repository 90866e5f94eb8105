//! GET /metrics: Prometheus text format. The database pool (limit, open, idle) and how long
//! requests waited for a connection, plus the hot-path cache's size. Readable from
//! loopback, or from anywhere with `Authorization: Bearer $WARDEN_METRICS_TOKEN` when that
//! is set: the figures are harmless but nobody else's business.

use std::fmt::Write;

use actix_web::{HttpRequest, HttpResponse, web};
use subtle::ConstantTimeEq;

use crate::limits::{self, Counted};
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
    abuse_metrics(&state, &mut out).await;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}

/// The bounds on anonymous work (`limits`, the password hashers, the connection deadlines).
async fn abuse_metrics(state: &AppState, out: &mut String) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    };
    let hashers = state.passwords.counters();
    metric(
        "warden_password_hash_capacity",
        "gauge",
        "Password verifications admitted at most (hasher threads plus queue).",
        state.passwords.capacity().to_string(),
    );
    metric(
        "warden_password_hash_in_flight",
        "gauge",
        "Password verifications running or queued now.",
        hashers.in_flight.load(Relaxed).to_string(),
    );
    metric(
        "warden_password_hash_completed_total",
        "counter",
        "Password verifications done.",
        hashers.completed.load(Relaxed).to_string(),
    );
    metric(
        "warden_password_hash_refused_total",
        "counter",
        "Sign-ins refused with 503 because every hasher was busy and the queue full.",
        hashers.refused.load(Relaxed).to_string(),
    );
    metric(
        "warden_signin_unknown_user_total",
        "counter",
        "Sign-in attempts for usernames no account has (counted here, not audited).",
        limits::UNKNOWN_USER_SIGNINS.load(Relaxed).to_string(),
    );
    metric(
        "warden_body_timeouts_total",
        "counter",
        "Requests answered 408 because the body did not arrive within WARDEN_BODY_TIMEOUT.",
        limits::BODY_TIMEOUTS.load(Relaxed).to_string(),
    );
    metric(
        "warden_db_fail_fast_total",
        "counter",
        "Database calls refused at once because the database failed within the last second.",
        crate::store::pool_metrics::fail_fast_count().to_string(),
    );
    for (name, help, which) in [
        (
            "warden_login_throttle_rows",
            "Rows in the sign-in and registration throttle table.",
            Counted::ThrottleRows,
        ),
        (
            "warden_pending_authorizations",
            "Authorization requests waiting for sign-in or consent.",
            Counted::PendingAuthorizations,
        ),
        (
            "warden_unused_registrations",
            "Dynamically registered clients never used yet.",
            Counted::UnusedRegistrations,
        ),
        (
            "warden_pending_device_codes",
            "Device authorizations (RFC 8628) not expired yet.",
            Counted::PendingDeviceCodes,
        ),
    ] {
        if let Ok(n) = state.pending_rows.get(state, which).await {
            metric(name, "gauge", help, n.to_string());
        }
    }
    let _ = write!(
        out,
        "# HELP warden_limit_refusals_total Requests refused by a limit on anonymous work.\n\
         # TYPE warden_limit_refusals_total counter\n"
    );
    for (limit, n) in limits::refusals() {
        let _ = writeln!(
            out,
            "warden_limit_refusals_total{{limit=\"{}\"}} {n}",
            limit.label()
        );
    }
}
