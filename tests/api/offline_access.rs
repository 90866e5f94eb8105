//! `offline_access` (SEP-2207; OIDC Core §11): in the authorization server's metadata,
//! never in a resource's; and the one refresh-token rule (`token::issues_refresh_token`): a
//! refresh token exactly when the client is registered with the `refresh_token` grant,
//! whether or not it asked for `offline_access`, and the consent page says so in words.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{
    Browser, REDIRECT, authorize, authorize_url, interactive, pkce, redeem, through_sign_in,
};
use crate::helpers::tokens::{access, decode_claims};
use crate::helpers::{TestApp, TestClient, assert_oauth_error, spawn_app};

const STAY: &str = "will stay signed in";

/// Runs the browser leg for `client` with `scope` and redeems the code.
async fn tokens(app: &TestApp, client: &TestClient, username: &str, scope: &str) -> Value {
    let p = pkce();
    let url = authorize_url(app, client, &p.challenge, &[("scope", scope)]);
    let mut browser = Browser::new();
    let answer = authorize(app, &mut browser, &url, username).await;
    let response = redeem(app, client, &answer["code"], &p.verifier).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The consent page's HTML for `client` asking for `scope`.
async fn consent_html(app: &TestApp, client: &TestClient, username: &str, scope: &str) -> String {
    let p = pkce();
    let url = authorize_url(app, client, &p.challenge, &[("scope", scope)]);
    let mut browser = Browser::new();
    let page = through_sign_in(app, &mut browser, &url, username).await;
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// An interactive client registered without the `refresh_token` grant.
async fn client_without_refresh(app: &TestApp, admin_token: &str) -> TestClient {
    app.create_client(
        admin_token,
        json!({"name": "One-off tool", "grant_types": ["authorization_code"],
               "redirect_uris": [REDIRECT]}),
    )
    .await
}

#[tokio::test]
async fn offline_access_is_in_the_server_metadata_and_in_no_resource_metadata() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let doc = app.get_json(path).await;
        let supported = doc["scopes_supported"].as_array().unwrap();
        assert!(
            supported.contains(&json!("offline_access")),
            "{path}: {doc}"
        );
        assert!(!supported.contains(&json!("warden:admin")), "{path}");
    }
    let (_, resource) = app
        .admin_call(
            &setup.admin_token,
            Method::GET,
            &format!("/resources/{}", app.resource_id(&setup.resource_uri).await),
            None,
        )
        .await;
    let prm = app
        .http
        .get(resource["resource_metadata"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let prm: Value = prm.json().await.unwrap();
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:write"]));
}

#[tokio::test]
async fn a_resource_may_not_accept_offline_access_and_nothing_is_stored() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let (status, body) = app
        .admin_call(
            &setup.admin_token,
            Method::POST,
            "/resources",
            Some(json!({"uri": "https://other.example.com", "name": "Other",
                        "scopes": ["mcp:read", "offline_access"]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("offline_access"),
        "{body}"
    );
    assert!(
        app.state
            .store
            .resource_by_uri("https://other.example.com")
            .await
            .unwrap()
            .is_none()
    );

    let id = app.resource_id(&setup.resource_uri).await;
    let (status, _) = app
        .admin_call(
            &setup.admin_token,
            Method::PATCH,
            &format!("/resources/{id}"),
            Some(json!({"scopes": ["offline_access"]})),
        )
        .await;
    assert_eq!(status, 422);
    let stored = app
        .state
        .store
        .resource_by_uri(&setup.resource_uri)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.scopes.to_scope_string(), "mcp:read mcp:write");
}

#[tokio::test]
async fn a_refresh_client_gets_a_refresh_token_with_or_without_offline_access() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;

    let asked = tokens(&app, &setup.client, "alice", "mcp:read offline_access").await;
    assert!(asked["refresh_token"].is_string(), "{asked}");
    // offline_access asks for the refresh token; it is no scope of the access token.
    assert_eq!(asked["scope"], "mcp:read");
    assert_eq!(decode_claims(access(&asked))["scope"], "mcp:read");
    let grant = &app
        .state
        .store
        .grants_of_client(&setup.client.client_id)
        .await
        .unwrap()[0];
    assert_eq!(
        grant.scope, "mcp:read",
        "offline_access is not stored as consent to a resource scope"
    );

    let without = tokens(&app, &setup.client, "alice", "mcp:read").await;
    assert!(without["refresh_token"].is_string(), "{without}");

    // A refresh that repeats offline_access in its scope is an ordinary refresh.
    let refreshed = app
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", asked["refresh_token"].as_str().unwrap()),
                ("scope", "mcp:read offline_access"),
            ],
            Some(&setup.client),
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    assert_eq!(refreshed["scope"], "mcp:read");
    assert!(refreshed["refresh_token"].is_string());
}

#[tokio::test]
async fn a_client_without_the_refresh_grant_gets_no_refresh_token_even_when_it_asks() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let client = client_without_refresh(&app, &setup.admin_token).await;

    let html = consent_html(&app, &client, "alice", "mcp:read offline_access").await;
    assert!(
        !html.contains(STAY),
        "no refresh token, so no promise to stay signed in"
    );

    let response = tokens(&app, &client, "alice", "mcp:read offline_access").await;
    assert!(response.get("refresh_token").is_none(), "{response}");
    assert_eq!(response["scope"], "mcp:read");
}

#[tokio::test]
async fn the_consent_page_says_stay_signed_in_exactly_when_a_refresh_token_follows() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    for scope in ["mcp:read offline_access", "mcp:read"] {
        let html = consent_html(&app, &setup.client, "alice", scope).await;
        assert!(
            html.contains(&format!("Example IDE</strong> {STAY}")),
            "{scope}: {html}"
        );
        // offline_access is not listed as an access to the MCP server.
        assert!(!html.contains("<code class=\"mono small\">offline_access</code>"));
    }
}

#[tokio::test]
async fn offline_access_alone_asks_for_the_resource_defaults() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let response = tokens(&app, &setup.client, "alice", "offline_access").await;
    assert_eq!(
        response["scope"], "mcp:read",
        "the resource's default scope"
    );
    assert!(response["refresh_token"].is_string());
}

#[tokio::test]
async fn offline_access_in_a_client_credentials_request_changes_nothing() {
    let app = spawn_app().await;
    let setup = crate::helpers::setup(&app).await;
    let body = app
        .client_credentials(
            &setup.agent,
            Some(&setup.resource_uri),
            Some("mcp:write offline_access"),
        )
        .await;
    assert_eq!(body["scope"], "mcp:write");
    assert!(body.get("refresh_token").is_none());
    // A malformed list is still refused whole.
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("resource", &setup.resource_uri),
                ("scope", "offline_access\tmcp:read"),
            ],
            Some(&setup.agent),
        )
        .await;
    assert_oauth_error(response, 400, "invalid_scope").await;
}

#[tokio::test]
async fn the_built_in_offline_access_scope_cannot_be_deleted_or_turned_into_a_default() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let (status, body) = app
        .admin_call(&token, Method::DELETE, "/scopes/offline_access", None)
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = app
        .admin_call(
            &token,
            Method::PATCH,
            "/scopes/offline_access",
            Some(json!({"is_default": true})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .admin_call(
            &token,
            Method::PATCH,
            "/scopes/offline_access",
            Some(json!({"implies": ["mcp:read"]})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, body) = app
        .admin_call(
            &token,
            Method::POST,
            "/scopes",
            Some(json!({"name": "offline_access", "description": "again"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, scope) = app
        .admin_call(&token, Method::GET, "/scopes/offline_access", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(scope["builtin"], true);
    assert_eq!(scope["is_default"], false);
    assert_eq!(scope["implies"], json!([]));
}

#[tokio::test]
async fn offline_access_beside_a_bad_scope_is_still_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let grants = app.grant_count().await;
    for scope in [
        "offline_access mcp:nope",
        "offline_access\"",
        &format!("offline_access {}", "x".repeat(129)),
    ] {
        let p = pkce();
        let url = authorize_url(&app, &setup.client, &p.challenge, &[("scope", scope)]);
        let mut browser = Browser::new();
        let response = browser.get(&url).await;
        crate::helpers::pages::assert_error_redirect(&app, &response, "invalid_scope");
    }
    assert_eq!(app.grant_count().await, grants);
    // Repeated, it is one request to stay signed in.
    let response = tokens(
        &app,
        &setup.client,
        "alice",
        "offline_access mcp:read offline_access",
    )
    .await;
    assert_eq!(response["scope"], "mcp:read");
    assert!(response["refresh_token"].is_string());
}
