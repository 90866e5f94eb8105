//! Remembered consent never hands a code to a redirect the user did not approve
//! (RFC 8252 §8.6): public native clients (loopback or private-use scheme redirects) are
//! asked every time, and a consent is void once the client's name or redirect URIs change
//! (admin edit, RFC 7592 update, metadata-document change).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{
    Browser, REDIRECT, answer_consent, authorize_url, interactive, location, pkce, query,
    run_to_client, through_sign_in,
};
use crate::helpers::clients::{public, register};
use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::{TestApp, TestClient, spawn_app, spawn_app_with};

const WEB: &str = "https://app.example.com/cb";
const OTHER_PORT: &str = "http://127.0.0.1:9999/callback";

/// The /authorize URL for `client` returning to `redirect`, with `extra` parameters.
fn url_to(app: &TestApp, client: &TestClient, redirect: &str, extra: &[(&str, &str)]) -> String {
    let p = pkce();
    let mut all = vec![("redirect_uri", redirect), ("scope", "mcp:read")];
    all.extend_from_slice(extra);
    authorize_url(app, client, &p.challenge, &all)
}

/// Runs an authorization to its end (approving when asked) and checks a code came back.
async fn approve_once(app: &TestApp, browser: &mut Browser, url: &str, redirect: &str) {
    let target = run_to_client(app, browser, url, "alice").await;
    assert!(target.starts_with(redirect), "{target}");
    assert!(query(&target).contains_key("code"), "{target}");
}

/// Starts an authorization in a browser that is already signed in; returns the response.
async fn again(app: &TestApp, browser: &mut Browser, url: &str) -> reqwest::Response {
    through_sign_in(app, browser, url, "alice").await
}

/// Asserts `response` is the consent page; returns its HTML.
async fn assert_consent_page(response: reqwest::Response) -> String {
    assert_eq!(
        response.status(),
        200,
        "expected the consent page, not a redirect"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("name=\"decision\""), "{html}");
    html
}

/// Asserts `response` hands a code to `redirect` without asking.
fn assert_silent_code(response: &reqwest::Response, redirect: &str) {
    assert_eq!(
        response.status(),
        303,
        "expected a silent redirect with a code"
    );
    let target = location(response);
    assert!(target.starts_with(redirect), "{target}");
    assert!(query(&target).contains_key("code"), "{target}");
}

#[tokio::test]
async fn a_public_loopback_client_approved_once_is_asked_again_on_another_port() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let mut browser = Browser::new();
    approve_once(
        &app,
        &mut browser,
        &url_to(&app, &setup.client, REDIRECT, &[]),
        REDIRECT,
    )
    .await;

    // Another local process on another port: the user must see the page again, with what
    // they allowed before already there.
    let url = url_to(&app, &setup.client, OTHER_PORT, &[]);
    let response = again(&app, &mut browser, &url).await;
    let html = assert_consent_page(response).await;
    assert!(html.contains("You already allowed"), "{html}");
    assert!(html.contains("mcp:read"), "{html}");

    // The legitimate user loses nothing: one click and the code arrives.
    let response = again(&app, &mut browser, &url).await;
    let answer = answer_consent(&app, &mut browser, response, true).await;
    assert_silent_code(&answer, OTHER_PORT);
    // Even on the very port approved before, a native client is asked every time.
    let url = url_to(&app, &setup.client, REDIRECT, &[]);
    assert_consent_page(again(&app, &mut browser, &url).await).await;
}

#[tokio::test]
async fn prompt_none_answers_consent_required_for_a_public_loopback_client() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let mut browser = Browser::new();
    approve_once(
        &app,
        &mut browser,
        &url_to(&app, &setup.client, REDIRECT, &[]),
        REDIRECT,
    )
    .await;

    for redirect in [OTHER_PORT, REDIRECT] {
        let url = url_to(&app, &setup.client, redirect, &[("prompt", "none")]);
        let response = browser.get(&url).await;
        let response = browser.follow(&app, response).await;
        assert_eq!(response.status(), 303);
        let target = location(&response);
        assert!(target.starts_with(redirect), "{target}");
        let answer = query(&target);
        assert_eq!(
            answer.get("error").map(String::as_str),
            Some("consent_required"),
            "{target}"
        );
        assert!(!answer.contains_key("code"), "{target}");
    }
}

#[tokio::test]
async fn a_public_client_with_a_private_use_scheme_is_asked_every_time() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let scheme = "com.example.ide:/oauth/callback";
    let (status, body) = app
        .admin_call(
            &setup.admin_token,
            Method::PATCH,
            &format!("/clients/{}", setup.client.client_id),
            Some(json!({"redirect_uris": [REDIRECT, scheme]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut browser = Browser::new();
    approve_once(
        &app,
        &mut browser,
        &url_to(&app, &setup.client, scheme, &[]),
        scheme,
    )
    .await;
    let url = url_to(&app, &setup.client, scheme, &[]);
    assert_consent_page(again(&app, &mut browser, &url).await).await;
}

#[tokio::test]
async fn a_confidential_web_client_keeps_its_remembered_consent() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let url = url_to(&app, &setup.client, WEB, &[]);
    approve_once(&app, &mut browser, &url, WEB).await;

    let response = again(&app, &mut browser, &url).await;
    assert_silent_code(&response, WEB);
    let url = url_to(&app, &setup.client, WEB, &[("prompt", "none")]);
    let response = browser.get(&url).await;
    assert_silent_code(&response, WEB);
}

#[tokio::test]
async fn an_admin_edit_of_redirects_or_name_voids_the_remembered_consent() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let url = url_to(&app, &setup.client, WEB, &[]);
    approve_once(&app, &mut browser, &url, WEB).await;
    let patch = |body: Value| {
        let path = format!("/clients/{}", setup.client.client_id);
        let token = setup.admin_token.clone();
        let app = &app;
        async move {
            let (status, out) = app
                .admin_call(&token, Method::PATCH, &path, Some(body))
                .await;
            assert_eq!(status, 200, "{out}");
        }
    };

    patch(json!({"redirect_uris": [REDIRECT, WEB, "https://new.example.com/cb"]})).await;
    let html = assert_consent_page(again(&app, &mut browser, &url).await).await;
    assert!(html.contains("You already allowed"), "{html}");
    let response = again(&app, &mut browser, &url).await;
    assert_silent_code(
        &answer_consent(&app, &mut browser, response, true).await,
        WEB,
    );
    // Approved again: remembered again.
    assert_silent_code(&again(&app, &mut browser, &url).await, WEB);

    patch(json!({"name": "Renamed IDE"})).await;
    let response = browser
        .get(&url_to(&app, &setup.client, WEB, &[("prompt", "none")]))
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(query(&location(&response))["error"], "consent_required");
    assert_consent_page(again(&app, &mut browser, &url).await).await;
}

/// Registers a confidential web client (RFC 7591); returns the registration response.
async fn register_web(app: &TestApp) -> Value {
    register(
        app,
        &json!({"client_name": "Web App", "redirect_uris": [WEB],
                "grant_types": ["authorization_code"], "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic"}),
    )
    .await
}

#[tokio::test]
async fn an_rfc7592_update_adding_a_redirect_voids_the_remembered_consent() {
    let app = spawn_app().await;
    let _setup = interactive(&app, true).await;
    let registered = register_web(&app).await;
    let client = public(registered["client_id"].as_str().unwrap());
    let mut browser = Browser::new();
    let url = url_to(&app, &client, WEB, &[]);
    approve_once(&app, &mut browser, &url, WEB).await;
    assert_silent_code(&again(&app, &mut browser, &url).await, WEB);

    let mut update = registered.clone();
    let object = update.as_object_mut().unwrap();
    for credential in [
        "registration_access_token",
        "client_secret_expires_at",
        "client_id_issued_at",
    ] {
        object.remove(credential);
    }
    update["redirect_uris"] = json!([WEB, "https://attacker.example.net/cb"]);
    let response = app
        .http
        .put(registered["registration_client_uri"].as_str().unwrap())
        .bearer_auth(registered["registration_access_token"].as_str().unwrap())
        .json(&update)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");

    assert_consent_page(again(&app, &mut browser, &url).await).await;
}

/// A metadata document for a public web client, never cached, so every request reads it.
fn web_document(client_id: &str, redirects: &[&str]) -> Doc {
    Doc::json(
        &json!({"client_id": client_id, "client_name": "Doc Web Client",
                      "redirect_uris": redirects, "token_endpoint_auth_method": "none"}),
    )
    .header("cache-control", "no-store")
}

#[tokio::test]
async fn a_metadata_document_that_changes_its_redirects_voids_the_remembered_consent() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1")]).await;
    let _setup = interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", web_document(&client_id, &[WEB]));
    let client = public(&client_id);
    let mut browser = Browser::new();
    let url = url_to(&app, &client, WEB, &[]);
    approve_once(&app, &mut browser, &url, WEB).await;
    assert_silent_code(&again(&app, &mut browser, &url).await, WEB);

    docs.serve(
        "/client.json",
        web_document(&client_id, &[WEB, "https://attacker.example.net/cb"]),
    );
    assert_consent_page(again(&app, &mut browser, &url).await).await;
}

#[tokio::test]
async fn a_loopback_only_metadata_document_client_is_warned_about_even_from_a_trusted_domain() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1")]).await;
    let setup = interactive(&app, true).await;
    let (status, body) = app
        .admin_call(
            &setup.admin_token,
            Method::PUT,
            "/metadata-domains/127.0.0.1",
            Some(json!({"policy": "trusted"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let loopback_id = docs.url("/loopback.json");
    docs.serve(
        "/loopback.json",
        Doc::json(&crate::helpers::clients::document(&loopback_id)),
    );
    let web_id = docs.url("/web.json");
    docs.serve("/web.json", web_document(&web_id, &[WEB]));

    let mut browser = Browser::new();
    let url = url_to(&app, &public(&loopback_id), REDIRECT, &[]);
    let html = assert_consent_page(through_sign_in(&app, &mut browser, &url, "alice").await).await;
    assert!(
        html.contains("returns only to a program on this computer"),
        "{html}"
    );

    let url = url_to(&app, &public(&web_id), WEB, &[]);
    let html = assert_consent_page(again(&app, &mut browser, &url).await).await;
    assert!(
        !html.contains("returns only to a program on this computer"),
        "{html}"
    );
}

#[tokio::test]
async fn an_approval_that_comes_too_late_records_no_consent() {
    // Issue 15, point 11: consent is recorded in the transaction that issues its code. An
    // approval for a request that expired meanwhile leaves no grant behind.
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let url = url_to(&app, &setup.client, WEB, &[]);
    let page = through_sign_in(&app, &mut browser, &url, "alice").await;
    assert_eq!(page.status(), 200);
    let before = app.grant_count().await;
    app.clock.advance(601);
    let answered = answer_consent(&app, &mut browser, page, true).await;
    assert_ne!(answered.status(), 303, "no code for an expired request");
    assert_eq!(
        app.grant_count().await,
        before,
        "no consent without its code"
    );
    // A fresh request asks again: nothing was remembered.
    let page = through_sign_in(&app, &mut browser, &url, "alice").await;
    assert_consent_page(page).await;
}
