//! `/healthz` and `/readyz`.

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
