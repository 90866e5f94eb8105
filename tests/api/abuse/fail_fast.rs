//! Postgres goes away: after the first failed acquire, database-backed requests answer 503
//! at once for about a second instead of each waiting the pool's 5 s, so a flood during an
//! outage does not pile up waiting requests. Postgres only, like `outage.rs` (whose proxy
//! this is, cut down: that one is private to its module).

use std::time::{Duration, Instant};

use super::{Warden, metric_value};
use crate::helpers::{TestDb, with_database};

/// One client_credentials request: status, error code, and how long it took.
async fn token(
    http: &reqwest::Client,
    warden: &Warden,
    agent: &(String, String),
) -> (u16, String, Duration) {
    let started = Instant::now();
    let response = http
        .post(warden.url("/token"))
        .basic_auth(&agent.0, Some(&agent.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let error = body["error"].as_str().unwrap_or_default().to_owned();
    (status, error, started.elapsed())
}

#[tokio::test]
async fn during_a_database_outage_requests_fail_fast_and_recover_without_a_restart() {
    let db = TestDb::new().await;
    let Some((admin_url, name)) = db.postgres.clone() else {
        // An embedded SQLite file cannot go away underneath its only server.
        return;
    };
    let direct = url::Url::parse(&with_database(&admin_url, &name)).unwrap();
    let proxy = crate::helpers::proxy::Proxy::start(format!(
        "{}:{}",
        direct.host_str().unwrap(),
        direct.port().unwrap_or(5432)
    ))
    .await;
    let mut via_proxy = direct.clone();
    via_proxy.set_port(Some(proxy.port)).unwrap();
    // No hot cache: every token request needs the database.
    let mut warden = Warden::on(
        db,
        &[("WARDEN_CACHE_TTL", "0"), ("WARDEN_TOKEN_RATE_LIMIT", "0")],
    );
    let agent = super::agent_client(&warden);
    warden
        .env
        .insert("DATABASE_URL".into(), via_proxy.to_string());
    warden.serve().await;
    let http = reqwest::Client::new();
    let (status, error, _) = token(&http, &warden, &agent).await;
    assert_eq!(status, 200, "{error}");

    proxy.down();
    // The first request may wait for the pool; the ones right after it answer at once.
    let (first, first_error, first_took) = token(&http, &warden, &agent).await;
    let mut next = Vec::new();
    for _ in 0..5 {
        next.push(token(&http, &warden, &agent).await);
    }
    let slowest = next.iter().map(|(_, _, t)| *t).max().unwrap();

    proxy.up();
    let back = Instant::now();
    let mut recovered = None;
    while back.elapsed() < Duration::from_secs(15) {
        if token(&http, &warden, &agent).await.0 == 200 {
            recovered = Some(back.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let fail_fast = metric_value(&warden.metrics().await, "warden_db_fail_fast_total");
    println!(
        "outage: first request {first} {first_error} after {first_took:?}; the next five {:?}; \
         recovered {recovered:?} after the database came back; warden_db_fail_fast_total \
         {fail_fast:?}",
        next.iter()
            .map(|(s, e, t)| format!("{s} {e} {t:?}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(first, 503, "{first_error}");
    assert_eq!(first_error, "temporarily_unavailable");
    assert!(first_took < Duration::from_secs(7), "{first_took:?}");
    for (status, error, _) in &next {
        assert_eq!(*status, 503);
        assert_eq!(error, "temporarily_unavailable");
    }
    assert!(
        slowest < Duration::from_millis(500),
        "requests right after a failed acquire waited {slowest:?}: no fail-fast"
    );
    assert!(recovered.is_some(), "no recovery within 15 s");
    assert!(warden.is_running(), "recovered without a restart");
    assert!(fail_fast.is_some_and(|n| n > 0.0), "{fail_fast:?}");
}
