//! When an admin narrows what a client may have (its allowed scopes) or what a resource
//! accepts (its scopes), every grant that reuses stored consent narrows with it: refresh,
//! code redemption, remembered consent, token exchange. A grant left with nothing ends.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{
    Browser, Interactive, answer_consent, authorize, authorize_url, interactive, pkce, redeem,
    through_sign_in,
};
use crate::helpers::exchange::{arrange, exchange, issued};
use crate::helpers::tokens::access;
use crate::helpers::{TestApp, assert_oauth_error, spawn_app, spawn_app_with};

const A: &str = "https://mcp.example.com";
const B: &str = "https://api.example.com";

/// Alice consents to `scope` for the IDE; the token response.
async fn tokens(app: &TestApp, setup: &Interactive, scope: &str) -> Value {
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(app, &setup.client, &p.challenge, &[("scope", scope)]);
    let code = authorize(app, &mut browser, &url, "alice").await["code"].clone();
    let response = redeem(app, &setup.client, &code, &p.verifier).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], scope);
    body
}

async fn refresh(app: &TestApp, setup: &Interactive, token: &Value) -> reqwest::Response {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token["refresh_token"].as_str().unwrap()),
    ];
    app.post_form("/token", &form, Some(&setup.client)).await
}

async fn refreshed(app: &TestApp, setup: &Interactive, token: &Value) -> Value {
    let response = refresh(app, setup, token).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

async fn patch(app: &TestApp, admin_token: &str, path: &str, body: Value) {
    let (status, view) = app
        .admin_call(admin_token, Method::PATCH, path, Some(body))
        .await;
    assert_eq!(status, 200, "{view}");
}

/// The admin sets the IDE's allowed scopes (`null`: no restriction).
async fn client_scopes(app: &TestApp, setup: &Interactive, scopes: Value) {
    let path = format!("/clients/{}", setup.client.client_id);
    patch(app, &setup.admin_token, &path, json!({ "scopes": scopes })).await;
}

/// The admin sets the scopes resource A accepts.
async fn resource_scopes(app: &TestApp, admin_token: &str, scopes: Value) {
    let path = format!("/resources/{}", app.resource_id(A).await);
    patch(app, admin_token, &path, json!({ "scopes": scopes })).await;
}

fn scope_claim(token: &Value) -> Value {
    use base64::Engine;
    let payload = access(token).split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["scope"].clone()
}

#[tokio::test]
async fn a_refresh_after_the_admin_narrows_the_clients_scopes_gets_only_what_is_left() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let first = tokens(&app, &setup, "mcp:read mcp:write").await;
    client_scopes(&app, &setup, json!(["mcp:read"])).await;
    let second = refreshed(&app, &setup, &first).await;
    assert_eq!(second["scope"], "mcp:read");
    assert_eq!(scope_claim(&second), "mcp:read");
    // And it stays narrowed: the rotated refresh token carries no more than that.
    let third = refreshed(&app, &setup, &second).await;
    assert_eq!(third["scope"], "mcp:read");
}

#[tokio::test]
async fn a_refresh_after_the_admin_narrows_the_resources_scopes_gets_only_what_is_left() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let first = tokens(&app, &setup, "mcp:read mcp:write").await;
    resource_scopes(&app, &setup.admin_token, json!(["mcp:read"])).await;
    let second = refreshed(&app, &setup, &first).await;
    assert_eq!(second["scope"], "mcp:read");
    assert_eq!(scope_claim(&second), "mcp:read");
}

#[tokio::test]
async fn a_grant_the_admin_leaves_with_no_scope_ends_at_once() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let first = tokens(&app, &setup, "mcp:write").await;
    client_scopes(&app, &setup, json!(["mcp:read"])).await;
    // The grant is revoked with the change: its access token is dead, its refresh token
    // too, even once the admin gives the scope back.
    let seen = app.introspect(&setup.server, access(&first)).await;
    assert_eq!(seen["active"], false, "{seen}");
    assert_oauth_error(refresh(&app, &setup, &first).await, 400, "invalid_grant").await;
    client_scopes(&app, &setup, Value::Null).await;
    assert_oauth_error(refresh(&app, &setup, &first).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_refresh_finding_no_scope_left_is_refused_with_invalid_scope_and_ends_the_grant() {
    // A narrowing written behind this node's back (another version of Warden, or SQL by
    // hand) is still caught at the refresh itself.
    let app = spawn_app_with(&[("WARDEN_CACHE_TTL", "0")]).await;
    let setup = interactive(&app, false).await;
    let first = tokens(&app, &setup, "mcp:write").await;
    app.db
        .exec(&format!(
            "UPDATE clients SET scopes = 'mcp:read' WHERE client_id = '{}'",
            setup.client.client_id
        ))
        .await;
    assert_oauth_error(refresh(&app, &setup, &first).await, 400, "invalid_scope").await;
    let seen = app.introspect(&setup.server, access(&first)).await;
    assert_eq!(seen["active"], false, "{seen}");
    client_scopes(&app, &setup, Value::Null).await;
    assert_oauth_error(refresh(&app, &setup, &first).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_scope_the_admin_removed_and_gave_back_needs_the_users_consent_again() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    tokens(&app, &setup, "mcp:read mcp:write").await;
    client_scopes(&app, &setup, json!(["mcp:read"])).await;
    client_scopes(&app, &setup, Value::Null).await;

    let mut browser = Browser::new();
    let p = pkce();
    // What is still granted needs no new consent.
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "mcp:read")]);
    let response = through_sign_in(&app, &mut browser, &url, "alice").await;
    assert_eq!(
        response.status(),
        303,
        "no consent page for what is still granted"
    );
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read mcp:write")],
    );
    let page = through_sign_in(&app, &mut browser, &url, "alice").await;
    assert_eq!(
        page.status(),
        200,
        "the consent page, not a remembered consent"
    );
    let response = answer_consent(&app, &mut browser, page, true).await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn a_resource_scope_the_admin_removed_and_gave_back_needs_the_users_consent_again() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    tokens(&app, &setup, "mcp:read mcp:write").await;
    resource_scopes(&app, &setup.admin_token, json!(["mcp:read"])).await;
    resource_scopes(&app, &setup.admin_token, json!(["mcp:read", "mcp:write"])).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read mcp:write")],
    );
    let page = through_sign_in(&app, &mut browser, &url, "alice").await;
    assert_eq!(
        page.status(),
        200,
        "the consent page, not a remembered consent"
    );
}

#[tokio::test]
async fn a_code_redeemed_after_the_admin_narrowed_the_client_carries_only_what_is_left() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read mcp:write")],
    );
    let code = authorize(&app, &mut browser, &url, "alice").await["code"].clone();
    client_scopes(&app, &setup, json!(["mcp:read"])).await;
    let response = redeem(&app, &setup.client, &code, &p.verifier).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "mcp:read", "{body}");
    assert_eq!(refreshed(&app, &setup, &body).await["scope"], "mcp:read");
}

#[tokio::test]
async fn an_exchange_after_the_admin_narrowed_the_users_client_carries_only_what_is_left() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let path = format!("/clients/{}", fx.ide.client_id);
    patch(
        &app,
        &fx.admin_token,
        &path,
        json!({"scopes": ["mcp:read"]}),
    )
    .await;
    let body = issued(exchange(&app, &fx.s, access(&subject), &[("resource", B)]).await).await;
    assert_eq!(body["scope"], "mcp:read");
    assert_oauth_error(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("resource", B), ("scope", "mcp:write")],
        )
        .await,
        400,
        "invalid_scope",
    )
    .await;
}

#[tokio::test]
async fn changes_that_take_nothing_away_leave_the_users_tokens_and_consent_alone() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let first = tokens(&app, &setup, "mcp:read mcp:write").await;
    // Widening, or restating what is already allowed, narrows nothing.
    client_scopes(&app, &setup, json!(["mcp:read", "mcp:write"])).await;
    resource_scopes(&app, &setup.admin_token, json!(["mcp:read", "mcp:write"])).await;
    let seen = app.introspect(&setup.server, access(&first)).await;
    assert_eq!(seen["active"], true, "{seen}");
    let second = refreshed(&app, &setup, &first).await;
    assert_eq!(second["scope"], "mcp:read mcp:write");
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read mcp:write")],
    );
    let response = through_sign_in(&app, &mut browser, &url, "alice").await;
    assert_eq!(response.status(), 303, "remembered consent still holds");
}
