//! The token endpoint's per-client rate limit (login and registration limits are tested
//! with their features).

use crate::helpers::{TestClient, setup, spawn_app_with};

#[tokio::test]
async fn a_client_over_its_rate_gets_429_slow_down_and_cannot_spend_anothers_budget() {
    let app = spawn_app_with(&[("WARDEN_TOKEN_RATE_LIMIT", "3")]).await;
    let s = setup(&app).await;
    let form = [("grant_type", "client_credentials")];

    // Failed authentications under the agent's id spend nothing of its budget.
    let impostor = TestClient {
        client_id: s.agent.client_id.clone(),
        client_secret: "wrong".into(),
    };
    for _ in 0..5 {
        let r = app.post_form("/token", &form, Some(&impostor)).await;
        assert_eq!(r.status(), 401);
    }
    for _ in 0..3 {
        app.client_credentials(&s.agent, None, None).await;
    }
    let limited = app.post_form("/token", &form, Some(&s.agent)).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(limited.headers()["cache-control"], "no-store");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "slow_down");

    // Another client is unaffected; the agent's bucket refills within a second.
    app.client_credentials(&s.server, None, None).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.client_credentials(&s.agent, None, None).await;
}
