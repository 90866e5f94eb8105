//! Console: the signing keys page and its Rotate form. The new key is in this node's JWKS
//! at once and signs after the delay typed (or the configured one).

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::helpers::browser::location;
use crate::helpers::console::{ADMIN_PASSWORD, Console, console_admin, create_user, signed_in};
use crate::helpers::{setup, spawn_app};

async fn published_kids(app: &TestApp) -> Vec<String> {
    let jwks = app.get_json("/jwks.json").await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn stored_kids(app: &TestApp) -> Vec<String> {
    let mut kids: Vec<String> = app
        .state
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    kids.sort();
    kids
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&bytes).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_rotated_key_is_published_at_once_and_signs_after_the_delay() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut console = console_admin(&app).await;
    let before = published_kids(&app).await;
    assert_eq!(before.len(), 1);
    let (status, page) = console.page("/keys").await;
    assert_eq!(status, 200);
    assert!(page.contains(&before[0]) && page.contains("<strong>signing</strong>"));
    assert!(page.contains(&format!("{}/jwks.json", app.issuer)));

    // The configured delay: published now, not yet signing.
    let response = console.submit_confirmed("/keys/rotate", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).ends_with("/admin/keys?done=rotated"));
    let after = published_kids(&app).await;
    assert_eq!(after.len(), 2, "{after:?}");
    let new = after.iter().find(|k| !before.contains(k)).unwrap().clone();
    let token = app
        .client_credentials(&s.agent, Some(&s.resource_uri), None)
        .await;
    assert_eq!(kid_of(token["access_token"].as_str().unwrap()), before[0]);
    let (_, page) = console.page("/keys?done=rotated").await;
    assert!(page.contains("Rotated.") && page.contains(&new));
    assert!(page.contains(">published<"), "{page}");

    // The admin API agrees, and the audit log names the admin.
    let (status, keys) = app
        .admin_call(&s.admin_token, reqwest::Method::GET, "/keys", None)
        .await;
    assert_eq!(status, 200, "{keys}");
    let listed = keys["items"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|k| k["kid"] == new.as_str() && k["status"] == "published")
    );
    let (_, events) = app
        .admin_call(
            &s.admin_token,
            reqwest::Method::GET,
            "/audit?kind=key.rotated",
            None,
        )
        .await;
    let events = events["items"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"]["id"], console.user_id);
    assert_eq!(events[0]["details"]["kid"], new.as_str());

    // No delay: the newest key signs the next token at once.
    console
        .submit_confirmed("/keys/rotate", &[("activate_in", "0")])
        .await;
    let kids = published_kids(&app).await;
    assert_eq!(kids.len(), 3);
    let newest = kids.iter().find(|k| !after.contains(k)).unwrap().clone();
    let token = app
        .client_credentials(&s.agent, Some(&s.resource_uri), None)
        .await;
    assert_eq!(kid_of(token["access_token"].as_str().unwrap()), newest);
}

#[tokio::test]
async fn a_bad_delay_is_refused_on_its_field_and_no_key_is_made() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let before = stored_kids(&app).await;
    for (typed, says) in [
        ("soon", "must be a whole number of seconds"),
        ("-5", "must not be negative"),
    ] {
        let response = console
            .submit_confirmed("/keys/rotate", &[("activate_in", typed)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(says), "{html}");
        assert!(html.contains(r#"<div class="field field-invalid">"#));
        assert!(html.contains(&format!(r#"value="{typed}" placeholder="#)));
        assert!(html.contains(r#"aria-invalid="true""#));
    }
    assert_eq!(stored_kids(&app).await, before);
    assert_eq!(published_kids(&app).await.len(), 1);
}

#[tokio::test]
async fn rotating_needs_a_recent_password_a_current_form_and_an_admin() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let before = stored_kids(&app).await;

    // A sign-in older than five minutes: the password first, nothing rotated yet.
    app.clock.advance(6 * 60);
    let response = console
        .submit("/keys/rotate", &[("activate_in", "60")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(html.contains("Confirm it is you"), "{html}");
    assert!(html.contains(r#"value="60""#), "the form is kept");
    assert_eq!(stored_kids(&app).await, before);

    // A stale form.
    let csrf = std::mem::replace(&mut console.csrf, "stale-token".into());
    let response = console.submit_confirmed("/keys/rotate", &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored_kids(&app).await, before);
    console.csrf = csrf;

    // Not an admin.
    create_user(&app, "bob", ADMIN_PASSWORD, false).await;
    let mut bob = Console {
        browser: signed_in(&app, "bob", ADMIN_PASSWORD).await,
        issuer: app.issuer.clone(),
        username: "bob".into(),
        user_id: String::new(),
        csrf: String::new(),
    };
    let (status, _) = bob.page("/keys").await;
    assert_eq!(status, 403);
    let response = bob.submit_confirmed("/keys/rotate", &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored_kids(&app).await, before);
}
