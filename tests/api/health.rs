//! `/healthz`, `/readyz` and `/metrics`.

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_ok_while_the_database_is_up() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readyz_turns_503_when_the_database_is_gone_while_discovery_keeps_serving() {
    let app = spawn_app().await;
    match &app.db.postgres {
        Some((admin_url, name)) => {
            crate::helpers::postgres_exec(admin_url, &format!("DROP DATABASE {name} WITH (FORCE)"))
                .await;
        }
        None => app.state.store.close().await,
    }
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(app.get("/healthz").await.status(), 200);
    // Metadata and keys come from memory: MCP clients can still discover us.
    assert_eq!(
        app.get("/.well-known/oauth-authorization-server")
            .await
            .status(),
        200
    );
    assert_eq!(app.get("/jwks.json").await.status(), 200);
}

#[tokio::test]
async fn with_the_database_gone_protocol_endpoints_answer_503_and_pages_say_so() {
    let app = crate::helpers::spawn_app().await;
    let s = crate::helpers::setup(&app).await;
    match &app.db.postgres {
        Some((admin_url, name)) => {
            crate::helpers::postgres_exec(admin_url, &format!("DROP DATABASE {name} WITH (FORCE)"))
                .await;
        }
        None => app.state.store.close().await,
    }
    let started = std::time::Instant::now();
    let token = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some(&s.agent),
        )
        .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "bounded, not a hang"
    );
    assert_eq!(token.headers()["retry-after"], "5");
    crate::helpers::assert_oauth_error(token, 503, "temporarily_unavailable").await;
    let introspection = app
        .post_form("/introspect", &[("token", "x")], Some(&s.server))
        .await;
    crate::helpers::assert_oauth_error(introspection, 503, "temporarily_unavailable").await;
    let (status, body) = app
        .admin_call(&s.admin_token, reqwest::Method::GET, "/clients", None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
    // A signed-in page needs the database: an error page, not a crash.
    let account = app
        .http
        .get(app.url("/account"))
        .header(
            "cookie",
            "warden-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), 503);
    assert!(
        account.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_show_the_pool_and_its_wait_to_loopback_or_a_bearer() {
    let app = crate::helpers::spawn_app().await;
    let first = app.get("/metrics").await;
    assert_eq!(first.status(), 200);
    let before = first.text().await.unwrap();
    assert!(metric(&before, "warden_db_pool_max_connections") >= 1.0);
    app.admin_token().await;
    let after = app.get("/metrics").await.text().await.unwrap();
    assert!(metric(&after, "warden_db_acquire_total") > metric(&before, "warden_db_acquire_total"));
    assert!(metric(&after, "warden_db_acquire_wait_seconds_total") >= 0.0);

    let guarded =
        crate::helpers::spawn_app_with(&[("WARDEN_METRICS_TOKEN", "metrics-secret-123")]).await;
    assert_eq!(
        guarded.get("/metrics").await.status(),
        403,
        "loopback is not enough then"
    );
    let wrong = guarded
        .http
        .get(guarded.url("/metrics"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let right = guarded
        .http
        .get(guarded.url("/metrics"))
        .bearer_auth("metrics-secret-123")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}
