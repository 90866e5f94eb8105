//! Who gets in, and what a stale form or an old sign-in costs: never the typed values.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::browser::{Browser, hidden, location};
use crate::helpers::console::{ADMIN_PASSWORD, console_admin, create_user};
use crate::helpers::{TestApp, spawn_app};

const URI: &str = "https://notes.example.com/mcp";

async fn audit(app: &TestApp, kind: &str) -> Vec<Value> {
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

/// The hidden fields of the first form on a page, as (name, value) pairs.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let value = rest.split_once("value=\"")?.1.split_once('"')?.0;
            Some((name.to_owned(), unescape(value)))
        })
        .collect()
}

#[tokio::test]
async fn only_signed_in_admins_get_in_and_refusals_are_audited_once_a_minute() {
    let app = spawn_app().await;
    // No session: to sign-in, which comes back to the console.
    let r = Browser::new().get(&app.url("/admin/resources")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).ends_with("/login?next=admin"));

    // A user without the admin role: 403 on pages and forms, one audit event per minute.
    create_user(&app, "bob", "bob-password-1", false).await;
    let mut bob = signed_in_plain(&app, "bob", "bob-password-1").await;
    for _ in 0..3 {
        let r = bob.get(&app.url("/admin/resources")).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let html = r.text().await.unwrap();
        assert!(html.contains("Not an administrator"));
    }
    let account = bob.get(&app.url("/account")).await.text().await.unwrap();
    let csrf = hidden(&account, "csrf");
    let r = bob
        .post(
            &app.url("/admin/resources"),
            &[("csrf", &csrf), ("uri", URI), ("name", "notes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .is_none()
    );
    let denied = audit(&app, "admin.access_denied").await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["outcome"], "failure");
    app.clock.advance(61);
    bob.get(&app.url("/admin/resources")).await;
    assert_eq!(audit(&app, "admin.access_denied").await.len(), 2);

    // Console pages carry the strict headers of every page.
    let mut console = console_admin(&app).await;
    let r = console.browser.get(&console.url("/resources")).await;
    let h = r.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["cache-control"], "no-store");
    assert!(r.text().await.unwrap().contains(&console.username));

    // Demoted: out at the next request, no sign-out needed (another admin remains: the
    // last one cannot be demoted).
    create_user(&app, "ops", ADMIN_PASSWORD, true).await;
    let out = app.cli(&["user", "role", "root", "none"]);
    assert!(out.status.success());
    let (status, _) = console.page("/resources").await;
    assert_eq!(status, 403);
}

/// Signs in on the plain login page (a user who is not an admin).
async fn signed_in_plain(app: &TestApp, username: &str, password: &str) -> Browser {
    let mut b = Browser::new();
    let page = b.get(&app.url("/login")).await.text().await.unwrap();
    let r = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", hidden(&page, "csrf").as_str()),
                ("username", username),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    b
}

#[tokio::test]
async fn a_stale_form_is_confirmed_with_the_password_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let r = console
        .browser
        .post(
            &console.url("/resources"),
            &[
                ("csrf", "an-old-token-from-another-session-xxxxxxxxxx"),
                ("uri", URI),
                ("name", "Notes & more"),
                ("scopes", "mcp:read"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(html.contains("Confirm it is you"), "{html}");
    assert!(
        app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .is_none()
    );
    let mut fields = hidden_fields(&html);
    assert!(
        fields.contains(&("name".into(), "Notes & more".into())),
        "{fields:?}"
    );
    assert_eq!(fields[0], ("csrf".into(), console.csrf.clone()));

    // A wrong password: asked again, nothing done.
    let mut form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    form.push(("reauth_password", "wrong-password"));
    let r = console
        .browser
        .post(&console.url("/resources"), &form)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .is_none()
    );

    form.pop();
    form.push(("reauth_password", ADMIN_PASSWORD));
    let r = console
        .browser
        .post(&console.url("/resources"), &form)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let stored = app.state.store.resource_by_uri(URI).await.unwrap().unwrap();
    assert_eq!(stored.name, "Notes & more");
    fields.clear();
}

#[tokio::test]
async fn destructive_forms_want_a_password_from_the_last_five_minutes() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let to = console
        .submit_ok(
            "/resources",
            &[("uri", URI), ("name", "notes"), ("scopes", "mcp:read")],
        )
        .await;
    let id = to
        .split("/resources/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // Fresh sign-in: a disable goes straight through.
    console
        .submit_ok(&format!("/resources/{id}/disable"), &[])
        .await;
    console
        .submit_ok(&format!("/resources/{id}/enable"), &[])
        .await;

    app.clock.advance(5 * 60 + 1);
    // An edit is not destructive: no password.
    console
        .submit_ok(
            &format!("/resources/{id}"),
            &[("uri", URI), ("name", "renamed"), ("scopes", "mcp:read")],
        )
        .await;
    // A disable is: the re-check page, 401, nothing done.
    let r = console
        .submit(&format!("/resources/{id}/disable"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("reauth_password"));
    assert!(
        app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let r = console
        .submit_confirmed(&format!("/resources/{id}/disable"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        !app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    // Proven again: the next destructive form within five minutes needs nothing.
    app.clock.advance(60);
    console
        .submit_ok(&format!("/resources/{id}/enable"), &[])
        .await;
    console
        .submit_ok(&format!("/resources/{id}/disable"), &[])
        .await;
}

#[tokio::test]
async fn an_expired_session_signs_in_again_without_losing_the_form() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    // The session ends (signed out elsewhere); the form is posted anyway.
    console
        .browser
        .post(&app.url("/logout"), &[("csrf", console.csrf.as_str())])
        .await;
    let r = console
        .submit(
            "/resources",
            &[("uri", URI), ("name", "kept"), ("scopes", "mcp:read")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    assert!(html.contains("Sign in again"));
    let fields = hidden_fields(&html);
    assert!(fields.contains(&("name".into(), "kept".into())));
    let mut form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    form.push(("reauth_username", "root"));
    form.push(("reauth_password", ADMIN_PASSWORD));
    let r = console
        .browser
        .post(&console.url("/resources"), &form)
        .await;
    // Signed in; the form once more with the new session's token, to confirm.
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .is_none()
    );
    let fields = hidden_fields(&html);
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let r = console
        .browser
        .post(&console.url("/resources"), &form)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .unwrap()
            .name,
        "kept"
    );

    // A non-admin signing in on that page gets no session and no change.
    create_user(&app, "eve", "eve-password-1", false).await;
    let mut anon = Browser::new();
    let r = anon
        .post(
            &console.url("/resources"),
            &[("uri", "https://x.example.com/mcp"), ("name", "x")],
        )
        .await;
    let html = r.text().await.unwrap();
    let mut fields = hidden_fields(&html);
    fields.push(("reauth_username".into(), "eve".into()));
    fields.push(("reauth_password".into(), "eve-password-1".into()));
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let r = anon.post(&console.url("/resources"), &form).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        app.state
            .store
            .resource_by_uri("https://x.example.com/mcp")
            .await
            .unwrap()
            .is_none()
    );
}

/// Undoes askama's HTML escaping of an attribute value.
fn unescape(value: &str) -> String {
    value
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

#[tokio::test]
async fn an_admin_without_a_password_confirms_only_while_their_sign_in_is_recent() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    // Ada signs in only through an upstream provider: her account has no password. Her
    // session is made as a provider sign-in makes it.
    let now = warden::clock::Clock::now(&*app.clock);
    let ada = warden::store::users::UserRow {
        id: "ada-id".into(),
        username: "ada".into(),
        password_hash: String::new(),
        disabled: false,
        role: warden::domain::Role::Admin,
        created_at: now,
        updated_at: now,
    };
    let event = warden::domain::AuditEvent::new(
        warden::domain::AuditKind::UserCreated,
        warden::domain::Actor::cli(),
        now,
    );
    app.state.store.insert_user(&ada, &event).await.unwrap();
    let signed_in = warden::domain::AuditEvent::new(
        warden::domain::AuditKind::SigninUpstream,
        warden::domain::Actor::user("ada-id"),
        now,
    );
    let cookie = warden::accounts::start_session(&app.state, "ada-id", signed_in)
        .await
        .unwrap();
    console.browser.cookies.clear();
    console
        .browser
        .cookies
        .insert("warden-session".into(), cookie);
    let (status, html) = console.page("/resources").await;
    assert_eq!(status, 200);
    console.csrf = hidden(&html, "csrf");
    let to = console
        .submit_ok(
            "/resources",
            &[("uri", URI), ("name", "notes"), ("scopes", "mcp:read")],
        )
        .await;
    let id = to
        .split("/resources/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // A stale form while her sign-in is recent: a button confirms it, no password asked.
    let r = console
        .browser
        .post(
            &console.url(&format!("/resources/{id}/disable")),
            &[("csrf", "stale-token-from-an-older-page-xxxxxxxxxxxx")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(html.contains(">Continue</button>"), "{html}");
    assert!(!html.contains("reauth_password"));
    let fields = hidden_fields(&html);
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let r = console
        .browser
        .post(&console.url(&format!("/resources/{id}/disable")), &form)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        !app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );

    // Later, a destructive form can only be confirmed by signing in again: no button that
    // would post it straight back, and a password does not help.
    app.clock.advance(5 * 60 + 1);
    let r = console
        .submit(&format!("/resources/{id}/enable"), &[])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "enable is not destructive"
    );
    let r = console
        .submit(&format!("/resources/{id}/disable"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    assert!(!html.contains(">Continue</button>"), "{html}");
    assert!(html.contains("/login?next=admin"));
    let r = console
        .submit(
            &format!("/resources/{id}/disable"),
            &[("reauth_password", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
}
