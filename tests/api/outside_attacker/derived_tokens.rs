//! Deleting a client, a user or a resource ends every token derived from it, including
//! RFC 8693 exchanged tokens whose grant is a child of the deleted one's grant.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{Browser, REDIRECT, authorize, authorize_url, pkce};
use crate::helpers::exchange::{Fixture, arrange, exchange, issued, registry};
use crate::helpers::tokens::access;
use crate::helpers::{TestApp, TestClient, spawn_app};

const B: &str = "https://api.example.com";

/// S exchanges `subject` for a token to B; asserts it introspects active.
async fn exchanged(app: &TestApp, fx: &Fixture, subject: &Value) -> String {
    let body = issued(exchange(app, &fx.s, access(subject), &[("resource", B)]).await).await;
    let token = access(&body).to_owned();
    assert_eq!(app.introspect(&fx.b_server, &token).await["active"], true);
    token
}

#[tokio::test]
async fn deleting_the_source_client_through_the_admin_api_ends_tokens_exchanged_from_its_grant() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let token = exchanged(&app, &fx, &subject).await;
    let (status, body) = app
        .admin_call(
            &fx.admin_token,
            Method::DELETE,
            &format!("/clients/{}", fx.ide.client_id),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        app.introspect(&fx.b_server, &token).await["active"],
        false,
        "the exchanged token outlived the client its user grant belonged to"
    );
    // The exchanging client itself is untouched.
    assert!(
        app.state
            .store
            .client(&fx.s.client_id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_client_deleting_itself_under_rfc_7592_ends_tokens_exchanged_from_its_grant() {
    let app = spawn_app().await;
    let fx = registry(&app).await;
    let registered = crate::helpers::clients::register(
        &app,
        &json!({"client_name": "Native App", "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"],
                "application_type": "native", "token_endpoint_auth_method": "none"}),
    )
    .await;
    let native = TestClient::from_view(&registered);
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &native, &p.challenge, &[("scope", "mcp:read")]);
    let code = authorize(&app, &mut browser, &url, "alice").await["code"].clone();
    let response = crate::helpers::browser::redeem(&app, &native, &code, &p.verifier).await;
    assert_eq!(response.status(), 200);
    let subject: Value = response.json().await.unwrap();
    let token = exchanged(&app, &fx, &subject).await;

    let response = app
        .http
        .delete(registered["registration_client_uri"].as_str().unwrap())
        .bearer_auth(registered["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        app.introspect(&fx.b_server, &token).await["active"],
        false,
        "the exchanged token outlived the self-deleted client"
    );
}

#[tokio::test]
async fn deleting_the_user_or_the_source_resource_ends_tokens_exchanged_for_them() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let by_user = exchanged(&app, &fx, &subject).await;
    let (status, body) = app
        .admin_call(
            &fx.admin_token,
            Method::DELETE,
            &format!("/users/{}", fx.user_id),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        app.introspect(&fx.b_server, &by_user).await["active"],
        false
    );

    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let by_resource = exchanged(&app, &fx, &subject).await;
    // Deleting a resource is refused while clients name it: unlist it from its servers.
    for server in [&fx.s, &fx.a_server] {
        let path = format!("/clients/{}", server.client_id);
        let body = json!({"served_resources": []});
        let (status, view) = app
            .admin_call(&fx.admin_token, Method::PATCH, &path, Some(body))
            .await;
        assert_eq!(status, 200, "{view}");
    }
    let a_id = app.resource_id("https://mcp.example.com").await;
    let (status, body) = app
        .admin_call(
            &fx.admin_token,
            Method::DELETE,
            &format!("/resources/{a_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        app.introspect(&fx.b_server, &by_resource).await["active"],
        false
    );
}

#[tokio::test]
async fn deleting_an_unrelated_client_leaves_the_users_tokens_and_exchanged_tokens_active() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let token = exchanged(&app, &fx, &subject).await;
    let bystander = app
        .create_client(
            &fx.admin_token,
            json!({"name": "bystander", "grant_types": ["client_credentials"]}),
        )
        .await;
    let (status, _) = app
        .admin_call(
            &fx.admin_token,
            Method::DELETE,
            &format!("/clients/{}", bystander.client_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.introspect(&fx.b_server, &token).await["active"], true);
    assert_eq!(
        app.introspect(&fx.a_server, access(&subject)).await["active"],
        true
    );
}
