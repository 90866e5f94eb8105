//! Postgres goes away under load and comes back: requests that need it get 503
//! `temporarily_unavailable` (never a 500, never a hang beyond the pool's 5 s acquire
//! timeout), `/readyz` says so, and Warden recovers by itself, losing nothing it had
//! acknowledged. The outage is a TCP proxy between Warden and the real server that drops
//! every connection and refuses new ones: to Warden that is Postgres stopping.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::helpers::proxy::Proxy;
use crate::helpers::{TestDb, setup, spawn_app_on, with_database};

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    unavailable: AtomicU64,
    other: AtomicU64,
    slowest_ms: AtomicU64,
}

#[tokio::test]
async fn postgres_stopping_under_load_gives_503s_and_warden_recovers_by_itself() {
    let db = TestDb::new().await;
    let Some((admin_url, name)) = db.postgres.clone() else {
        // An embedded SQLite file cannot go away underneath its only server.
        return;
    };
    let direct = url::Url::parse(&with_database(&admin_url, &name)).unwrap();
    let target = format!(
        "{}:{}",
        direct.host_str().unwrap(),
        direct.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(target).await;
    let mut via_proxy = direct.clone();
    via_proxy.set_port(Some(proxy.port)).unwrap();
    // No hot cache: every request below needs the database.
    let app = spawn_app_on(
        db.clone(),
        &[
            ("DATABASE_URL", via_proxy.as_str()),
            ("WARDEN_CACHE_TTL", "0"),
            ("WARDEN_TOKEN_RATE_LIMIT", "0"),
        ],
    )
    .await;
    let s = setup(&app).await;
    let app = Arc::new(app);

    // Acknowledged before the outage: these tokens must survive it.
    let mut before = Vec::new();
    for _ in 0..5 {
        let t = app.client_credentials(&s.agent, None, None).await;
        before.push(t["access_token"].as_str().unwrap().to_owned());
    }

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut load = Vec::new();
    for (i, token) in before.iter().take(4).cloned().enumerate() {
        let (app, stop, tally) = (app.clone(), stop.clone(), tally.clone());
        let (agent, server) = (s.agent.clone(), s.server.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let response = if i % 2 == 0 {
                    app.post_form(
                        "/token",
                        &[("grant_type", "client_credentials")],
                        Some(&agent),
                    )
                    .await
                } else {
                    app.post_form("/introspect", &[("token", &token)], Some(&server))
                        .await
                };
                let ms = started.elapsed().as_millis() as u64;
                tally.slowest_ms.fetch_max(ms, Ordering::SeqCst);
                match response.status().as_u16() {
                    200 => tally.ok.fetch_add(1, Ordering::SeqCst),
                    503 => {
                        assert_eq!(response.headers()["retry-after"], "5");
                        let body: serde_json::Value = response.json().await.unwrap();
                        assert_eq!(body["error"], "temporarily_unavailable");
                        tally.unavailable.fetch_add(1, Ordering::SeqCst)
                    }
                    other => {
                        eprintln!(
                            "unexpected status {other}: {}",
                            response.text().await.unwrap()
                        );
                        tally.other.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let ok_before_outage = tally.ok.load(Ordering::SeqCst);
    assert!(ok_before_outage > 0);
    proxy.down();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        app.get("/readyz").await.status(),
        503,
        "readiness reports the outage"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        tally.unavailable.load(Ordering::SeqCst) > 0,
        "the outage was felt"
    );

    proxy.up();
    let back = Instant::now();
    let mut recovered = false;
    while back.elapsed() < Duration::from_secs(15) {
        if app.get("/readyz").await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "Warden did not recover within 15 s");
    eprintln!("recovered {:?} after Postgres came back", back.elapsed());
    // Once ready, the load succeeds again: count fresh successes over a second.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ok_after = tally.ok.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        tally.ok.load(Ordering::SeqCst) > ok_after,
        "the load succeeds again"
    );
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }

    assert_eq!(
        tally.other.load(Ordering::SeqCst),
        0,
        "only 200 and 503, never a 500"
    );
    let slowest = tally.slowest_ms.load(Ordering::SeqCst);
    assert!(
        slowest < 8_000,
        "a request took {slowest} ms: more than the bounded wait"
    );
    for token in &before {
        assert_eq!(app.introspect(&s.server, token).await["active"], true);
    }
}
