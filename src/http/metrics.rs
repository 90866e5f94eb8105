//! GET /metrics: Prometheus text format, rendered by `measure`'s recorder. What is counted
//! as it happens lives in `measure`; what lives elsewhere (the database pool and how long
//! requests waited for a connection, the password hashers, the limits, stored-row counts,
//! the signing key's age) is copied in at each scrape. Readable from
//! loopback, or from anywhere with `Authorization: Bearer $WARDEN_METRICS_TOKEN` when that
//! is set: the figures are harmless but nobody else's business.

use actix_web::{HttpRequest, HttpResponse, web};
use subtle::ConstantTimeEq;

use crate::limits::{self, Counted};
use crate::measure;
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
    let rows = pending_rows(&state).await;
    let body = {
        // Set and render under one lock: another app's scrape in this process (tests run
        // many) must not overwrite these gauges before they are rendered.
        let _scrape = measure::SCRAPE.lock().unwrap_or_else(|p| p.into_inner());
        pool_metrics(&state);
        abuse_metrics(&state, &rows);
        if let Some(key) = state.keys.signing_key(state.clock.now()) {
            measure::signing_key_age(state.clock.now() - key.created_at);
        }
        measure::render()
    };
    match body {
        Some(body) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(body),
        None => HttpResponse::ServiceUnavailable().finish(),
    }
}

fn pool_metrics(state: &AppState) {
    let (max, open, idle) = state.store.pool_stats();
    let (acquired, wait_us, max_wait_us, without_idle) = pool_metrics::snapshot();
    measure::scraped_gauge(
        "warden_db_pool_max_connections",
        "The pool's limit (WARDEN_DB_MAX_CONNECTIONS).",
        max as f64,
    );
    measure::scraped_gauge(
        "warden_db_pool_open_connections",
        "Connections open now.",
        open as f64,
    );
    measure::scraped_gauge(
        "warden_db_pool_idle_connections",
        "Open connections not in use now.",
        idle as f64,
    );
    measure::scraped_counter(
        "warden_db_acquire_total",
        "Connections taken from the pool.",
        acquired,
    );
    // A counter of seconds with microsecond steps: a gauge, as the facade's counters hold
    // integers; it only ever grows, so rate() reads it as the counter it is.
    measure::scraped_gauge(
        "warden_db_acquire_wait_seconds_total",
        "Time spent waiting for a connection (divide by warden_db_acquire_total for the mean).",
        wait_us as f64 / 1e6,
    );
    measure::scraped_gauge(
        "warden_db_acquire_wait_seconds_max",
        "The longest wait for a connection since start.",
        max_wait_us as f64 / 1e6,
    );
    measure::scraped_counter(
        "warden_db_acquire_without_idle_total",
        "Acquisitions that found no idle connection (waited or opened one).",
        without_idle,
    );
}

const COUNTED: [(&str, &str, Counted); 4] = [
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
];

/// The stored-row counts, read before the scrape lock is taken (they may wait on the
/// database); one that cannot be read now is left out rather than shown stale.
async fn pending_rows(state: &AppState) -> Vec<(&'static str, &'static str, i64)> {
    let mut rows = Vec::with_capacity(COUNTED.len());
    for (name, help, which) in COUNTED {
        if let Ok(n) = state.pending_rows.get(state, which).await {
            rows.push((name, help, n));
        }
    }
    rows
}

/// The bounds on anonymous work (`limits`, the password hashers, the connection deadlines).
fn abuse_metrics(state: &AppState, rows: &[(&'static str, &'static str, i64)]) {
    use std::sync::atomic::Ordering::Relaxed;
    let hashers = state.passwords.counters();
    measure::scraped_gauge(
        "warden_password_hash_capacity",
        "Password verifications admitted at most (hasher threads plus queue).",
        state.passwords.capacity() as f64,
    );
    measure::scraped_gauge(
        "warden_password_hash_in_flight",
        "Password verifications running or queued now.",
        hashers.in_flight.load(Relaxed) as f64,
    );
    measure::scraped_counter(
        "warden_password_hash_completed_total",
        "Password verifications done.",
        hashers.completed.load(Relaxed),
    );
    measure::scraped_counter(
        "warden_password_hash_refused_total",
        "Sign-ins refused with 503 because every hasher was busy and the queue full.",
        hashers.refused.load(Relaxed),
    );
    measure::scraped_counter(
        "warden_signin_unknown_user_total",
        "Sign-in attempts for usernames no account has (counted here, not audited).",
        limits::UNKNOWN_USER_SIGNINS.load(Relaxed),
    );
    measure::scraped_counter(
        "warden_body_timeouts_total",
        "Requests answered 408 because the body did not arrive within WARDEN_BODY_TIMEOUT.",
        limits::BODY_TIMEOUTS.load(Relaxed),
    );
    measure::scraped_counter(
        "warden_db_fail_fast_total",
        "Database calls refused at once because the database failed within the last second.",
        pool_metrics::fail_fast_count(),
    );
    for &(name, help, n) in rows {
        measure::scraped_gauge(name, help, n as f64);
    }
    for (limit, n) in limits::refusals() {
        measure::limit_refusals(limit.label(), n);
    }
}
