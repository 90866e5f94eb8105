//! First run in the browser: the one-time setup link creates the first admin, once.

use reqwest::StatusCode;
use serde_json::Value;
use warden::clock::Clock;

use crate::helpers::TestApp;
use crate::helpers::browser::{Browser, hidden, location};
use crate::helpers::spawn_app;

async fn new_link(app: &TestApp) -> Option<String> {
    warden::admin::setup::issue_link(
        &app.state.store,
        &app.state.settings.issuer,
        app.clock.now(),
    )
    .await
    .unwrap()
}

/// Opens the link and submits the form; returns the response to the POST.
async fn set_up(
    browser: &mut Browser,
    app: &TestApp,
    link: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = browser.get(link).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    browser
        .post(
            &app.url("/admin/setup"),
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("token", &hidden(&html, "token")),
                ("username", username),
                ("password", password),
            ],
        )
        .await
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once_and_signs_them_in() {
    let app = spawn_app().await;
    let link = new_link(&app).await.expect("no admin yet: a link");
    assert!(link.starts_with(&format!("{}/admin/setup?token=", app.issuer)));
    let mut browser = Browser::new();

    // A bad password: 422 with the field marked, the username kept, nothing created.
    let response = set_up(&mut browser, &app, &link, "root", "short").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("must be at least 8 characters"), "{html}");
    assert!(html.contains(r#"value="root""#));
    assert!(html.contains("field-invalid"));
    assert!(!app.state.store.any_admin().await.unwrap());

    let response = set_up(&mut browser, &app, &link, "root", "a-good-password").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).contains("/admin/resources"));
    // Signed in: the console opens.
    let page = browser.get(&app.url("/admin/resources")).await;
    assert_eq!(page.status(), StatusCode::OK);

    // The account is an admin and can sign in with its password (the CLI sees the role).
    let user = app.state.store.user_by_name("root").await.unwrap().unwrap();
    assert_eq!(user.role, warden::domain::Role::Admin);

    // Spent: the link, and any other link, no longer opens the page or creates anyone.
    let again = Browser::new().get(&link).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let mut other = Browser::new();
    let page = other.get(&link).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        new_link(&app).await.is_none(),
        "no new link once an admin exists"
    );

    // The audit log has the setup, by the new admin.
    let events: Vec<Value> = audit_kinds(&app, "admin.setup_completed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"]["id"], user.id);
}

#[tokio::test]
async fn a_spent_expired_or_forged_link_creates_nothing() {
    let app = spawn_app().await;
    let first = new_link(&app).await.unwrap();
    let second = new_link(&app).await.unwrap();

    // Unknown and malformed tokens.
    for bad in [
        "",
        "?token=short",
        "?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let r = Browser::new()
            .get(&format!("{}{bad}", app.url("/admin/setup")))
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }

    // A form posted without the page's double-submit cookie (cross-site): shown again,
    // nothing created, the link still works.
    let page = Browser::new().get(&first).await;
    let html = page.text().await.unwrap();
    let r = Browser::new()
        .post(
            &app.url("/admin/setup"),
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("token", &hidden(&html, "token")),
                ("username", "mallory"),
                ("password", "a-good-password"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!app.state.store.any_admin().await.unwrap());

    // Expired after an hour.
    app.clock.advance(3601);
    let r = Browser::new().get(&first).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let fresh = new_link(&app).await.unwrap();

    // The second link of two, used after the first: refused, one admin only.
    let mut a = Browser::new();
    let r = set_up(&mut a, &app, &fresh, "first", "a-good-password").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = Browser::new().get(&second).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let admins = app
        .state
        .store
        .users_page("", 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.role == warden::domain::Role::Admin)
        .count();
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn the_cli_makes_admins_and_then_no_link_is_issued() {
    let app = spawn_app().await;
    let out = app.cli_with_stdin(
        &["user", "add", "ops", "--admin", "--password-stdin"],
        "a-good-password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["role"], "admin");
    assert!(new_link(&app).await.is_none());

    // The only admin cannot step down until another exists.
    let out = app.cli(&["user", "role", "ops", "none"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("last enabled admin"));
    let out = app.cli_with_stdin(
        &["user", "add", "ops2", "--admin", "--password-stdin"],
        "a-good-password\n",
    );
    assert!(out.status.success());
    let out = app.cli(&["user", "role", "ops", "none"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["role"], "none");
    let out = app.cli(&["user", "role", "ops", "root"]);
    assert!(!out.status.success());
}

async fn audit_kinds(app: &TestApp, kind: &str) -> Vec<Value> {
    let token = app.admin_token().await;
    let (status, body) = app
        .admin_call(
            &token,
            reqwest::Method::GET,
            &format!("/audit?kind={kind}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_admin_api_sets_roles_and_refuses_unknown_ones() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let (status, body) = app
        .admin_call(
            &token,
            reqwest::Method::POST,
            "/users",
            Some(serde_json::json!({"username": "ops", "password": "a-good-password", "role": "admin"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["role"], "admin");
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .admin_call(
            &token,
            reqwest::Method::PATCH,
            &format!("/users/{id}"),
            Some(serde_json::json!({"role": "root"})),
        )
        .await;
    assert!(status == 400 || status == 422, "{status} {body}");
    // The only admin keeps the role (409) until another admin exists.
    let user_path = format!("/users/{id}");
    let demote = || {
        app.admin_call(
            &token,
            reqwest::Method::PATCH,
            &user_path,
            Some(serde_json::json!({"role": "none"})),
        )
    };
    let (status, body) = demote().await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app
        .admin_call(
            &token,
            reqwest::Method::POST,
            "/users",
            Some(serde_json::json!({"username": "ops2", "password": "a-good-password", "role": "admin"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = demote().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "none");
    // The change is audited with the role before and after.
    let events = audit_kinds(&app, "user.updated").await;
    assert_eq!(events[0]["details"]["role"]["before"], "admin");
    assert_eq!(events[0]["details"]["role"]["after"], "none");
}
