//! Metrics: the one place every metric name and label value lives, recorded through the
//! `metrics` facade and rendered by its Prometheus exporter at `GET /metrics`.
//!
//! Labels are closed sets (`&'static str` from enums) so no request can mint a series:
//! the route is actix's route template, never the path; the resource is a registered
//! resource's URI, taken from a token Warden just signed for it. The process has one
//! recorder (`install`), shared by every app a test binary starts: counters aggregate.
//!
//! Token issuance, introspection and the hot cache pay one atomic add (plus, for a token,
//! a read-locked map lookup by resource): their handles are registered once and kept, so
//! no label is built or hashed per call. The HTTP middleware and the rarer events look
//! their series up in the recorder's registry per call: a hash of static labels, no copy.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock, RwLock};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use metrics::{Counter, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::GrantType;
use crate::fetch::{FetchKind, FetchOutcome};
use crate::oauth::error::ErrorCode;

const HTTP_REQUESTS: &str = "warden_http_requests_total";
const HTTP_DURATION: &str = "warden_http_request_duration_seconds";
const TOKENS_ISSUED: &str = "warden_tokens_issued_total";
const TOKEN_ERRORS: &str = "warden_token_errors_total";
const SIGNINS: &str = "warden_signins_total";
const CONSENTS: &str = "warden_consents_total";
const REFRESH_REUSE: &str = "warden_refresh_token_reuse_total";
const GRANTS_REVOKED: &str = "warden_grants_revoked_total";
const INTROSPECTIONS: &str = "warden_introspections_total";
const HOT_CACHE: &str = "warden_hot_cache_lookups_total";
const SIGNING_KEY_AGE: &str = "warden_signing_key_age_seconds";
const EXTERNAL_FETCHES: &str = "warden_external_fetches_total";

/// Seconds; from a warm introspection (well under a millisecond) to a slow upstream.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Resources with a series of their own; past it, tokens count under `other` (only an
/// operator registers resources, so this is a guard, not a limit anyone should meet).
const MAX_RESOURCES: usize = 1_000;
/// Route templates with a series of their own (the route table has far fewer).
const MAX_ROUTES: usize = 500;

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder once; later calls return the same handle. `None` when
/// another recorder was installed first (metrics are then that recorder's business).
pub fn install() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &LATENCY_BUCKETS)
                .and_then(|b| b.install_recorder());
            match installed {
                Ok(handle) => {
                    describe();
                    spawn_upkeep(handle.clone());
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics shows only the database pool and limits");
                    None
                }
            }
        })
        .as_ref()
}

/// The Prometheus text of everything recorded so far.
pub fn render() -> Option<String> {
    install().map(PrometheusHandle::render)
}

/// Histogram samples wait in per-thread buckets until upkeep folds them in; without it they
/// would grow between scrapes.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                handle.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no metrics upkeep thread; histograms are folded at scrape only");
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status class."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by route template and method."
    );
    describe_counter!(
        TOKENS_ISSUED,
        "Tokens issued at /token, by grant type and resource (MCP server)."
    );
    describe_counter!(TOKEN_ERRORS, "/token refusals, by RFC error code.");
    describe_counter!(
        SIGNINS,
        "Sign-ins by outcome (password or upstream provider)."
    );
    describe_counter!(CONSENTS, "Consent answers, given or refused.");
    describe_counter!(
        REFRESH_REUSE,
        "Rotated refresh tokens presented again (the grant is revoked)."
    );
    describe_counter!(GRANTS_REVOKED, "Grants revoked, by why.");
    describe_counter!(INTROSPECTIONS, "Introspection requests, by result.");
    describe_counter!(
        HOT_CACHE,
        "Hot-path cache lookups, by cache and hit or miss."
    );
    describe_gauge!(
        SIGNING_KEY_AGE,
        Unit::Seconds,
        "Seconds since the signing key in use was created."
    );
    describe_counter!(
        EXTERNAL_FETCHES,
        "Outbound fetches (JWKS, client metadata, upstream providers, resource checks), by kind and outcome."
    );
    // Series without labels exist from the start, so rate() has a zero to start from.
    metrics::counter!(REFRESH_REUSE).absolute(0);
}

/// Handles registered with the installed recorder, made once: before `install` there is
/// nothing to register with, so nothing is kept (and recording is a no-op).
fn registered<T>(cell: &'static OnceLock<T>, make: fn() -> T) -> Option<&'static T> {
    if let Some(handles) = cell.get() {
        return Some(handles);
    }
    RECORDER.get()?.as_ref()?;
    Some(cell.get_or_init(make))
}

// ---- HTTP ----

/// The `method` label: the methods Warden routes, anything else `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Route templates seen so far, shared so a label costs a reference count, not a copy.
static ROUTES: LazyLock<RwLock<HashMap<String, Arc<str>>>> = LazyLock::new(Default::default);

/// The `route` label: the template that matched (`/admin/v1/clients/{id}`), or `unmatched`
/// for a path no route knows (its raw path would be a series per probe).
fn route_label(pattern: Option<String>) -> SharedString {
    let Some(pattern) = pattern else {
        return SharedString::const_str("unmatched");
    };
    if let Some(known) = ROUTES
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&pattern)
    {
        return SharedString::from(known.clone());
    }
    let mut routes = ROUTES.write().unwrap_or_else(|p| p.into_inner());
    if routes.len() >= MAX_ROUTES {
        return SharedString::const_str("other");
    }
    let shared: Arc<str> = Arc::from(pattern.as_str());
    routes.insert(pattern, shared.clone());
    SharedString::from(shared)
}

/// The route template this request matched, found once by `http_metrics` and read by the
/// request span (`http::middleware::request_context`).
#[derive(Clone)]
pub struct MatchedPattern(pub Option<String>);

/// Counts every request and times it from the first byte of routing to the response head.
pub async fn http_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if RECORDER.get().is_none_or(Option::is_none) {
        return next.call(req).await;
    }
    let started = Instant::now();
    let method = method_label(req.method());
    // Matching walks the whole route table; the request span needs the template too.
    let pattern = req.match_pattern();
    req.extensions_mut().insert(MatchedPattern(pattern.clone()));
    let route = route_label(pattern);
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    http_request(route, method, status, started.elapsed());
    result
}

fn http_request(route: SharedString, method: &'static str, status: StatusCode, took: Duration) {
    metrics::histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method)
        .record(took.as_secs_f64());
    metrics::counter!(
        HTTP_REQUESTS,
        "route" => route,
        "method" => method,
        "status_class" => status_class(status)
    )
    .increment(1);
}

// ---- The token endpoint ----

/// The `grant_type` label: short names, not the URNs of the protocol.
pub fn grant_label(grant: GrantType) -> &'static str {
    match grant {
        GrantType::AuthorizationCode => "authorization_code",
        GrantType::RefreshToken => "refresh_token",
        GrantType::ClientCredentials => "client_credentials",
        GrantType::DeviceCode => "device_code",
        GrantType::TokenExchange => "token_exchange",
        GrantType::JwtBearer => "jwt_bearer",
    }
}

type GrantCounters = [Counter; GrantType::ALL.len()];

/// Per resource, a counter per grant type (indexed as `GrantType::ALL`).
static ISSUED: LazyLock<RwLock<HashMap<String, Arc<GrantCounters>>>> =
    LazyLock::new(Default::default);

fn grant_index(grant: GrantType) -> usize {
    GrantType::ALL
        .iter()
        .position(|g| *g == grant)
        .unwrap_or_default()
}

/// A token issued for `resource`: the audience of a token Warden just signed, which only a
/// registered resource's URI can be.
pub fn token_issued(grant: GrantType, resource: &str) {
    if RECORDER.get().is_none_or(Option::is_none) {
        return;
    }
    let found = ISSUED
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(resource)
        .cloned();
    let counters = match found {
        Some(counters) => counters,
        None => issued_counters(resource),
    };
    counters[grant_index(grant)].increment(1);
}

fn issued_counters(resource: &str) -> Arc<GrantCounters> {
    let mut issued = ISSUED.write().unwrap_or_else(|p| p.into_inner());
    if let Some(counters) = issued.get(resource) {
        return counters.clone();
    }
    let label: SharedString = if issued.len() >= MAX_RESOURCES {
        SharedString::const_str("other")
    } else {
        SharedString::from(Arc::<str>::from(resource))
    };
    let counters = Arc::new(GrantType::ALL.map(|g| {
        metrics::counter!(TOKENS_ISSUED, "grant_type" => grant_label(g), "resource" => label.clone())
    }));
    if issued.len() < MAX_RESOURCES {
        issued.insert(resource.to_owned(), counters.clone());
    }
    counters
}

pub fn token_error(code: ErrorCode) {
    metrics::counter!(TOKEN_ERRORS, "error" => code.as_str()).increment(1);
}

// ---- People ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInOutcome {
    Success,
    /// An existing account, and the password did not open it (or it is disabled).
    WrongPassword,
    UnknownUser,
    Throttled,
    /// Every password hasher busy and the queue full.
    Busy,
    UpstreamSuccess,
    UpstreamFailure,
}

impl SignInOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInOutcome::Success => "success",
            SignInOutcome::WrongPassword => "wrong_password",
            SignInOutcome::UnknownUser => "unknown_user",
            SignInOutcome::Throttled => "throttled",
            SignInOutcome::Busy => "busy",
            SignInOutcome::UpstreamSuccess => "upstream_success",
            SignInOutcome::UpstreamFailure => "upstream_failure",
        }
    }
}

pub fn sign_in(outcome: SignInOutcome) {
    metrics::counter!(SIGNINS, "outcome" => outcome.as_str()).increment(1);
}

pub fn consent(given: bool) {
    let answer = if given { "given" } else { "refused" };
    metrics::counter!(CONSENTS, "answer" => answer).increment(1);
}

pub fn refresh_reuse() {
    metrics::counter!(REFRESH_REUSE).increment(1);
}

/// Why a grant was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The user, on their account page.
    User,
    /// An administrator (API, console or CLI), one grant or all of a holder's.
    Admin,
    /// Its client, at the revocation endpoint (RFC 7009).
    Client,
    /// A spent code or rotated refresh token came back.
    Replay,
    /// Every scope it held was taken from the client.
    ScopeWithdrawn,
}

impl Revocation {
    pub fn as_str(self) -> &'static str {
        match self {
            Revocation::User => "user",
            Revocation::Admin => "admin",
            Revocation::Client => "client",
            Revocation::Replay => "replay",
            Revocation::ScopeWithdrawn => "scope_withdrawn",
        }
    }
}

pub fn grants_revoked(reason: Revocation, count: u64) {
    metrics::counter!(GRANTS_REVOKED, "reason" => reason.as_str()).increment(count);
}

// ---- Resource servers ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Introspected {
    Active,
    Inactive,
    /// The request itself was refused (no or a public client, a malformed form).
    Refused,
}

struct IntrospectionCounters {
    active: Counter,
    inactive: Counter,
    refused: Counter,
}

static INTROSPECTION: OnceLock<IntrospectionCounters> = OnceLock::new();

pub fn introspection(result: Introspected) {
    let Some(c) = registered(&INTROSPECTION, || IntrospectionCounters {
        active: metrics::counter!(INTROSPECTIONS, "result" => "active"),
        inactive: metrics::counter!(INTROSPECTIONS, "result" => "inactive"),
        refused: metrics::counter!(INTROSPECTIONS, "result" => "refused"),
    }) else {
        return;
    };
    match result {
        Introspected::Active => c.active.increment(1),
        Introspected::Inactive => c.inactive.increment(1),
        Introspected::Refused => c.refused.increment(1),
    }
}

/// The maps of the hot-path cache (`oauth::hot`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheKind {
    Client,
    Resource,
    ResourceByUri,
    Grant,
    VerifiedToken,
}

impl CacheKind {
    const ALL: [CacheKind; 5] = [
        CacheKind::Client,
        CacheKind::Resource,
        CacheKind::ResourceByUri,
        CacheKind::Grant,
        CacheKind::VerifiedToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CacheKind::Client => "client",
            CacheKind::Resource => "resource",
            CacheKind::ResourceByUri => "resource_by_uri",
            CacheKind::Grant => "grant",
            CacheKind::VerifiedToken => "verified_token",
        }
    }
}

/// Per kind (as `CacheKind::ALL`): hits, misses.
static CACHE: OnceLock<[(Counter, Counter); CacheKind::ALL.len()]> = OnceLock::new();

pub fn cache(kind: CacheKind, hit: bool) {
    let Some(counters) = registered(&CACHE, || {
        CacheKind::ALL.map(|k| {
            (
                metrics::counter!(HOT_CACHE, "cache" => k.as_str(), "result" => "hit"),
                metrics::counter!(HOT_CACHE, "cache" => k.as_str(), "result" => "miss"),
            )
        })
    }) else {
        return;
    };
    let (hits, misses) = &counters[kind as usize];
    if hit {
        hits.increment(1);
    } else {
        misses.increment(1);
    }
}

pub fn external_fetch(kind: FetchKind, outcome: FetchOutcome) {
    metrics::counter!(EXTERNAL_FETCHES, "kind" => kind.as_str(), "outcome" => outcome.as_str())
        .increment(1);
}

// ---- Set at scrape time ----

pub fn signing_key_age(seconds: i64) {
    metrics::gauge!(SIGNING_KEY_AGE).set(seconds.max(0) as f64);
}

/// A gauge whose value lives elsewhere (the pool, the hashers, a row count).
pub fn scraped_gauge(name: &'static str, help: &'static str, value: f64) {
    metrics::describe_gauge!(name, help);
    metrics::gauge!(name).set(value);
}

/// A counter kept in an atomic elsewhere, copied at scrape time.
pub fn scraped_counter(name: &'static str, help: &'static str, value: u64) {
    metrics::describe_counter!(name, help);
    metrics::counter!(name).absolute(value);
}

pub fn limit_refusals(limit: &'static str, value: u64) {
    metrics::describe_counter!(
        "warden_limit_refusals_total",
        "Requests refused by a limit on anonymous work."
    );
    metrics::counter!("warden_limit_refusals_total", "limit" => limit).absolute(value);
}

/// Keeps one scrape's gauges from being overwritten by another app's before they are
/// rendered (tests run many apps in one process; a server runs one).
pub static SCRAPE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn status_classes_cover_every_status() {
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::SWITCHING_PROTOCOLS), "1xx");
        assert_eq!(status_class(StatusCode::SEE_OTHER), "3xx");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let custom = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&custom), "other");
        assert_eq!(method_label(&Method::TRACE), "other");
    }

    #[test]
    fn a_request_without_a_route_is_unmatched_not_its_path() {
        assert_eq!(&*route_label(None), "unmatched");
        let route = route_label(Some("/admin/v1/clients/{id}".into()));
        assert_eq!(&*route, "/admin/v1/clients/{id}");
    }

    #[test]
    fn every_grant_type_has_its_own_short_label_and_index() {
        let labels: std::collections::HashSet<_> =
            GrantType::ALL.iter().map(|g| grant_label(*g)).collect();
        assert_eq!(labels.len(), GrantType::ALL.len());
        assert!(labels.iter().all(|l| !l.contains(':')), "{labels:?}");
        for (i, g) in GrantType::ALL.iter().enumerate() {
            assert_eq!(grant_index(*g), i);
        }
    }

    #[test]
    fn cache_kinds_index_their_own_counters() {
        for (i, k) in CacheKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
    }
}
