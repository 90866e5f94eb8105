//! Token exchange (RFC 8693): a registry of clients and resources, and the requests.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{Browser, authorize, authorize_url, interactive, pkce, redeem};
use crate::helpers::{TestApp, TestClient};

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Resource A (from the browser setup) linked to resource B, with the clients around them.
pub struct Fixture {
    pub admin_token: String,
    /// The interactive client the user signs in to (Example IDE).
    pub ide: TestClient,
    /// A's server that may only introspect (client_credentials, no token exchange).
    pub a_server: TestClient,
    /// The MCP server S: serves A and may exchange.
    pub s: TestClient,
    /// B's server: introspects B's tokens.
    pub b_server: TestClient,
    pub user_id: String,
}

/// Registers everything but gets no user token (no browser).
pub async fn registry(app: &TestApp) -> Fixture {
    let setup = interactive(app, false).await;
    let admin_token = setup.admin_token;
    let (status, scope) = admin(
        app,
        &admin_token,
        Method::POST,
        "/scopes",
        Some(json!({"name": "api:read", "description": "Read the example API"})),
    )
    .await;
    assert_eq!(status, 201, "{scope}");
    app.create_resource(
        &admin_token,
        json!({"uri": B, "name": "Example API", "scopes": ["mcp:read", "mcp:write", "api:read"]}),
    )
    .await;
    let s = app
        .create_client(
            &admin_token,
            json!({"name": "mcp server S", "grant_types": [TOKEN_EXCHANGE], "served_resources": [A]}),
        )
        .await;
    let b_server = app
        .create_client(
            &admin_token,
            json!({"name": "api server", "grant_types": ["client_credentials"], "served_resources": [B]}),
        )
        .await;
    link(app, &admin_token, A, json!([{"target": B}])).await;
    let user_id = app.user_id("alice").await;
    Fixture {
        admin_token,
        ide: setup.client,
        a_server: setup.server,
        s,
        b_server,
        user_id,
    }
}

/// The registry plus the user's token for A with `mcp:read mcp:write`.
pub async fn arrange(app: &TestApp) -> (Fixture, Value) {
    let fx = registry(app).await;
    let subject = user_token(app, &fx.ide, "mcp:read mcp:write").await;
    (fx, subject)
}

/// Replaces the downstream links of `source` (asserting 200); returns the stored links.
pub async fn link(app: &TestApp, admin_token: &str, source: &str, links: Value) -> Value {
    let id = app.resource_id(source).await;
    let (status, body) = admin(
        app,
        admin_token,
        Method::PUT,
        &format!("/resources/{id}/downstreams"),
        Some(links),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A token exchange request by `caller` for `subject`; `extra` adds parameters, or replaces
/// the defaults of the same name (an empty value drops one).
pub async fn exchange(
    app: &TestApp,
    caller: &TestClient,
    subject: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let defaults = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    let mut form: Vec<(&str, &str)> = Vec::new();
    for (name, value) in defaults {
        let value = extra
            .iter()
            .find(|(k, _)| *k == name)
            .map_or(value, |(_, v)| *v);
        if !value.is_empty() {
            form.push((name, value));
        }
    }
    for (name, value) in extra {
        if !defaults.iter().any(|(k, _)| k == name) {
            form.push((name, value));
        }
    }
    app.post_form("/token", &form, Some(caller)).await
}

/// A successful exchange: 200, no-store, the RFC 8693 §2.2.1 members, no refresh token.
pub async fn issued(response: reqwest::Response) -> Value {
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE, "{body}");
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    assert!(body["expires_in"].as_i64().unwrap() > 0, "{body}");
    assert!(body["scope"].is_string(), "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "an exchange issues no refresh token: {body}"
    );
    body
}

/// The MCP server the user's token is for (registered by `interactive`).
pub const A: &str = "https://mcp.example.com";

/// The API the MCP server calls on the user's behalf.
pub const B: &str = "https://api.example.com";

/// An admin API call: its status and body.
pub async fn admin(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.admin_call(token, method, path, body).await
}

/// Alice signs in through the browser and the IDE redeems the code: a token response.
pub async fn user_token(app: &TestApp, ide: &TestClient, scope: &str) -> Value {
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(app, ide, &p.challenge, &[("scope", scope)]);
    let q = authorize(app, &mut browser, &url, "alice").await;
    let response = redeem(app, ide, &q["code"], &p.verifier).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], scope);
    body
}
