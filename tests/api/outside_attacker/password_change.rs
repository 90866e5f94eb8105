//! A password change (`warden user passwd`, or the admin API) ends the user's sessions and
//! grants, so whoever learned the old password keeps nothing it bought; the admin may
//! keep the grants on purpose (`--keep-grants`, `keep_grants: true`).

use std::process::Stdio;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{
    Browser, Interactive, authorize, authorize_url, interactive, pkce, redeem,
};
use crate::helpers::{TestApp, spawn_app, spawn_app_with, stdout_json, warden_command};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Alice, signed in (the browser keeps her session), and the IDE's token response.
async fn signed_in(app: &TestApp) -> (Interactive, Browser, Value) {
    let setup = interactive(app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(app, &setup.client, &p.challenge, &[("scope", "mcp:read")]);
    let code = authorize(app, &mut browser, &url, "alice").await["code"].clone();
    let response = redeem(app, &setup.client, &code, &p.verifier).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    assert!(has_session(app, &mut browser).await);
    (setup, browser, tokens)
}

async fn has_session(app: &TestApp, browser: &mut Browser) -> bool {
    browser.get(&app.url("/account")).await.status() == 200
}

/// Whether the refresh token still works (a 200 response to the refresh grant).
async fn refreshes(app: &TestApp, setup: &Interactive, tokens: &Value) -> bool {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    let response = app.post_form("/token", &form, Some(&setup.client)).await;
    response.status() == 200
}

async fn active(app: &TestApp, setup: &Interactive, tokens: &Value) -> bool {
    let token = tokens["access_token"].as_str().unwrap();
    app.introspect(&setup.server, token).await["active"] == true
}

async fn change_by_api(app: &TestApp, setup: &Interactive, body: Value) {
    let id = app.user_id("alice").await;
    let (status, view) = app
        .admin_call(
            &setup.admin_token,
            Method::PATCH,
            &format!("/users/{id}"),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{view}");
}

/// `warden user passwd alice --password-stdin [extra]`, the new password on stdin.
fn passwd(app: &TestApp, extra: &[&str]) {
    use std::io::Write;
    let mut child = warden_command(&app.env)
        .args(["user", "passwd", "alice", "--password-stdin"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(NEW_PASSWORD.as_bytes()).unwrap();
    drop(input);
    let view = stdout_json(&child.wait_with_output().unwrap());
    assert_eq!(view["username"], "alice");
}

#[tokio::test]
async fn an_admin_api_password_change_ends_the_users_sessions_refresh_tokens_and_access_tokens() {
    let app = spawn_app().await;
    let (setup, mut browser, tokens) = signed_in(&app).await;
    change_by_api(&app, &setup, json!({"password": NEW_PASSWORD})).await;
    assert!(!has_session(&app, &mut browser).await);
    assert!(!active(&app, &setup, &tokens).await);
    assert!(!refreshes(&app, &setup, &tokens).await);
    // No grant is left for the account page to show (nor for consent to remember).
    assert!(
        app.state
            .store
            .user_grants(&app.user_id("alice").await)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_admin_api_password_change_with_keep_grants_keeps_tokens_but_not_sessions() {
    let app = spawn_app().await;
    let (setup, mut browser, tokens) = signed_in(&app).await;
    change_by_api(
        &app,
        &setup,
        json!({"password": NEW_PASSWORD, "keep_grants": true}),
    )
    .await;
    assert!(!has_session(&app, &mut browser).await);
    assert!(active(&app, &setup, &tokens).await);
    assert!(refreshes(&app, &setup, &tokens).await);
}

#[tokio::test]
async fn an_admin_api_change_without_a_new_password_revokes_nothing() {
    let app = spawn_app().await;
    let (setup, _browser, tokens) = signed_in(&app).await;
    change_by_api(&app, &setup, json!({"disabled": false})).await;
    assert!(active(&app, &setup, &tokens).await);
    assert!(refreshes(&app, &setup, &tokens).await);
}

#[tokio::test]
async fn warden_user_passwd_ends_the_users_sessions_refresh_tokens_and_access_tokens() {
    // The CLI writes behind the server's back: on SQLite nothing tells this node, so its
    // cache is off here; on Postgres the CLI's NOTIFY reaches it (nodes.rs, hot_cache.rs).
    let app = spawn_app_with(&[("WARDEN_CACHE_TTL", "0")]).await;
    let (setup, mut browser, tokens) = signed_in(&app).await;
    passwd(&app, &[]);
    assert!(!has_session(&app, &mut browser).await);
    assert!(!active(&app, &setup, &tokens).await);
    assert!(!refreshes(&app, &setup, &tokens).await);
}

#[tokio::test]
async fn warden_user_passwd_keep_grants_keeps_tokens_but_not_sessions() {
    let app = spawn_app_with(&[("WARDEN_CACHE_TTL", "0")]).await;
    let (setup, mut browser, tokens) = signed_in(&app).await;
    passwd(&app, &["--keep-grants"]);
    assert!(!has_session(&app, &mut browser).await);
    assert!(active(&app, &setup, &tokens).await);
    assert!(refreshes(&app, &setup, &tokens).await);
}
