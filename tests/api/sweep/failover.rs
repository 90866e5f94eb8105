//! Hostile-input sweep, security.md §5 N case 127 (read-only-failover): Postgres turns
//! read-only for a while, as a replica does while it is being promoted. Writes get 503
//! `temporarily_unavailable` (the client may retry), reads that need no write keep
//! working, and Warden recovers by itself when writes are possible again. Postgres only.

use std::time::{Duration, Instant};

use crate::helpers::{TestDb, assert_oauth_error, postgres_exec, setup, spawn_app_on};

/// Sets the database's default read-only mode and ends its sessions, so every connection
/// Warden opens next has it.
async fn read_only(db: &TestDb, on: bool) {
    let (admin_url, name) = db.postgres.as_ref().unwrap();
    let mode = if on { "on" } else { "off" };
    postgres_exec(
        admin_url,
        &format!(
            "ALTER DATABASE {name} SET default_transaction_read_only = {mode}; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid();"
        ),
    )
    .await;
}

/// Retries `request` until it answers `status` (connections ended under Warden's pool
/// are noticed on their next use), for at most 10 s.
async fn eventually(
    status: u16,
    mut request: impl AsyncFnMut() -> reqwest::Response,
) -> reqwest::Response {
    let start = Instant::now();
    loop {
        let response = request().await;
        if response.status() == status || start.elapsed() > Duration::from_secs(10) {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_read_only_database_refuses_writes_with_503_and_serves_reads() {
    let db = TestDb::new().await;
    if !db.is_postgres() {
        return;
    }
    let app = spawn_app_on(db.clone(), &[]).await;
    let s = setup(&app).await;
    let token = app.client_credentials(&s.agent, None, None).await;
    let access = token["access_token"].as_str().unwrap().to_owned();
    let registration = serde_json::json!({"client_name": "During failover",
        "redirect_uris": ["http://127.0.0.1:7777/callback"], "token_endpoint_auth_method": "none"});

    read_only(&db, true).await;
    // Once a read has gone through, the pool holds read-only sessions.
    let clients = async || {
        let (status, _) = app
            .admin_call(&s.admin_token, reqwest::Method::GET, "/clients", None)
            .await;
        status
    };
    let start = Instant::now();
    while clients().await != 200 && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Case 127: a write is refused as a passing outage, never a 500.
    for _ in 0..3 {
        let refused = app
            .http
            .post(app.url("/register"))
            .json(&registration)
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap()),
            Some("5")
        );
        assert_oauth_error(refused, 503, "temporarily_unavailable").await;
    }
    // Reads that need no write keep working: keys, metadata, introspection, and a token
    // from a grant that exists (its last use was written less than a minute ago).
    assert_eq!(app.get("/jwks.json").await.status(), 200);
    assert_eq!(
        app.get("/.well-known/oauth-authorization-server")
            .await
            .status(),
        200
    );
    assert_eq!(app.introspect(&s.server, &access).await["active"], true);
    let again = app.client_credentials(&s.agent, None, None).await;
    assert!(again["access_token"].is_string());

    read_only(&db, false).await;
    let register = async || {
        app.http
            .post(app.url("/register"))
            .json(&registration)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(
        eventually(201, register).await.status(),
        201,
        "recovered without a restart"
    );
}
