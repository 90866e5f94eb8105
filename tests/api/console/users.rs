//! Users in the console: add, make or remove admin, disable, reset the password (sessions
//! end, grants are revoked unless kept), unlink an identity, revoke a grant, delete; and the
//! rule that the last enabled admin stays, for the console, the API and the CLI alike.

use reqwest::{Method, StatusCode};
use serde_json::json;
use warden::clock::Clock;
use warden::domain::Role;
use warden::store::upstream::IdentityRow;

use super::scopes::{events_of, user_actor};
use crate::helpers::browser::{
    Browser, PASSWORD, authorize, authorize_url, hidden, interactive, pkce, redeem,
};
use crate::helpers::console::{ADMIN_PASSWORD, console_admin, create_user, signed_in};
use crate::helpers::{TestApp, spawn_app};

async fn role_of(app: &TestApp, id: &str) -> Option<(Role, bool)> {
    app.state
        .store
        .user_by_id(id)
        .await
        .unwrap()
        .map(|u| (u.role, u.disabled))
}

#[tokio::test]
async fn an_admin_adds_a_user_changes_the_role_disables_and_deletes_them() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let (status, html) = console.page("/users").await;
    assert_eq!(status, 200);
    assert!(html.contains(">root</a>"), "{html}");

    // Bad values: 422 beside the field, the typed name and checkbox kept, nothing stored.
    let response = console
        .submit(
            "/users",
            &[
                ("username", "carol smith"),
                ("password", "long-enough-pw"),
                ("admin", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("field-invalid") && html.contains(r#"aria-invalid="true""#));
    assert!(html.contains(r#"value="carol smith""#));
    assert!(html.contains("checked"), "the admin checkbox is kept");
    assert!(
        !html.contains("long-enough-pw"),
        "a password is never sent back"
    );
    let response = console
        .submit("/users", &[("username", "carol"), ("password", "short")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("at least 8 characters")
    );
    assert!(
        app.state
            .store
            .user_by_name("carol")
            .await
            .unwrap()
            .is_none()
    );

    let to = console
        .submit_ok(
            "/users",
            &[("username", "carol"), ("password", "carols-password")],
        )
        .await;
    let carol = app
        .state
        .store
        .user_by_name("carol")
        .await
        .unwrap()
        .unwrap();
    assert!(
        to.ends_with(&format!("/admin/users/{}?done=created", carol.id)),
        "{to}"
    );
    assert_eq!(carol.role, Role::None);
    let created = events_of(&app, "user.created").await;
    assert_eq!(created[0]["actor"], user_actor(&console.user_id));
    let path = format!("/users/{}", carol.id);
    let (status, html) = console.page(&path).await;
    assert_eq!(status, 200);
    assert!(html.contains("Make admin"));

    // Make admin, visible through the API; a role outside the set is a 422.
    console
        .submit_ok(&format!("{path}/role"), &[("role", "admin")])
        .await;
    assert_eq!(role_of(&app, &carol.id).await, Some((Role::Admin, false)));
    let token = app.admin_token().await;
    let (_, view) = app.admin_call(&token, Method::GET, &path, None).await;
    assert_eq!(view["role"], "admin");
    let updated = events_of(&app, "user.updated").await;
    assert_eq!(updated[0]["actor"], user_actor(&console.user_id));
    assert_eq!(
        updated[0]["details"]["role"],
        json!({"before": "none", "after": "admin"})
    );
    let response = console
        .submit(&format!("{path}/role"), &[("role", "owner")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("must be admin or none")
    );
    assert_eq!(role_of(&app, &carol.id).await, Some((Role::Admin, false)));
    console
        .submit_ok(&format!("{path}/role"), &[("role", "none")])
        .await;
    assert_eq!(role_of(&app, &carol.id).await, Some((Role::None, false)));

    // Disable and enable.
    let to = console.submit_ok(&format!("{path}/disable"), &[]).await;
    assert!(to.ends_with("?done=disabled"));
    assert_eq!(role_of(&app, &carol.id).await, Some((Role::None, true)));
    let (_, view) = app.admin_call(&token, Method::GET, &path, None).await;
    assert_eq!(view["disabled"], true);
    console.submit_ok(&format!("{path}/enable"), &[]).await;
    assert_eq!(role_of(&app, &carol.id).await, Some((Role::None, false)));

    // A short new password: 422 on its field, the checkbox kept, nothing changed.
    let response = console
        .submit(
            &format!("{path}/password"),
            &[("password", "short"), ("keep_grants", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("field-invalid") && html.contains("at least 8 characters"));
    assert!(html.contains(r#"name="keep_grants" type="checkbox" value="1" checked"#));
    let again = app
        .state
        .store
        .user_by_id(&carol.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.password_hash, carol.password_hash);

    // Delete: the confirm page says what it ends, then the account is gone.
    let (status, html) = console.page(&format!("{path}/delete")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Delete carol?") && html.contains("sessions end"));
    let to = console.submit_ok(&format!("{path}/delete"), &[]).await;
    assert!(to.ends_with("/admin/users?done=deleted"));
    assert!(role_of(&app, &carol.id).await.is_none());
    let deleted = events_of(&app, "user.deleted").await;
    assert_eq!(deleted[0]["actor"], user_actor(&console.user_id));
    let (status, _) = console.page(&path).await;
    assert_eq!(status, 404);
}

/// Alice authorizes the test client; returns the access token.
async fn alice_authorizes(app: &TestApp, it: &crate::helpers::browser::Interactive) -> String {
    let p = pkce();
    let mut browser = Browser::new();
    let url = authorize_url(app, &it.client, &p.challenge, &[]);
    let code = authorize(app, &mut browser, &url, "alice").await["code"].clone();
    let tokens: serde_json::Value = redeem(app, &it.client, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn grants_identities_and_password_resets_on_a_users_page() {
    let app = spawn_app().await;
    let it = interactive(&app, false).await;
    let mut console = console_admin(&app).await;
    let alice = app
        .state
        .store
        .user_by_name("alice")
        .await
        .unwrap()
        .unwrap();
    let path = format!("/users/{}", alice.id);

    // Her grant is listed; revoking it from the console ends her tokens at once.
    let token = alice_authorizes(&app, &it).await;
    let grants = app.state.store.user_grants(&alice.id).await.unwrap();
    assert_eq!(grants.len(), 1);
    let (_, html) = console.page(&path).await;
    assert!(
        html.contains("Example IDE") && html.contains("Example MCP"),
        "{html}"
    );
    assert!(html.contains(&format!("/admin/grants?user={}", alice.id)));
    let revoke = format!("{path}/grants/{}/revoke", grants[0].id);
    let to = console.submit_ok(&revoke, &[]).await;
    assert!(to.ends_with("?done=revoked"));
    assert_eq!(app.introspect(&it.server, &token).await["active"], false);
    let revoked = events_of(&app, "grant.revoked").await;
    assert_eq!(revoked[0]["actor"], user_actor(&console.user_id));
    assert_eq!(revoked[0]["grant_id"], grants[0].id.as_str());
    let response = console
        .submit(&format!("{path}/grants/nope/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // A reset that keeps grants: her sessions end, her tokens live.
    let token = alice_authorizes(&app, &it).await;
    let mut her_browser = signed_in_as_alice(&app).await;
    let to = console
        .submit_ok(
            &format!("{path}/password"),
            &[("password", "a-new-password"), ("keep_grants", "1")],
        )
        .await;
    assert!(to.ends_with("?done=password_kept"));
    assert_eq!(app.introspect(&it.server, &token).await["active"], true);
    let account = her_browser.get(&app.url("/account")).await;
    assert_eq!(account.status(), StatusCode::SEE_OTHER, "her session ended");
    // A plain reset: the grant is revoked too.
    let to = console
        .submit_ok(&format!("{path}/password"), &[("password", PASSWORD)])
        .await;
    assert!(to.ends_with("?done=password"));
    assert_eq!(app.introspect(&it.server, &token).await["active"], false);
    assert!(
        app.state
            .store
            .user_grants(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    let updated = events_of(&app, "user.updated").await;
    assert_eq!(updated[0]["actor"], user_actor(&console.user_id));
    assert_eq!(updated[0]["details"]["grants"], "revoked");

    // A linked identity is listed and unlinked.
    let provider = json!({"id": "corp", "kind": "oidc", "display_name": "Corp",
        "issuer": "https://idp.example", "client_id": "c", "client_secret": "s3cret-value"});
    let (status, body) = app
        .admin_call(
            &it.admin_token,
            Method::POST,
            "/upstream-providers",
            Some(provider),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let now = app.clock.now();
    let linked = app
        .state
        .store
        .link_identity(&IdentityRow {
            provider_id: "corp".into(),
            subject: "u-123".into(),
            user_id: alice.id.clone(),
            email: Some("alice@corp.example".into()),
            name: None,
            created_at: now,
            last_login_at: now,
        })
        .await
        .unwrap();
    assert!(linked);
    let (_, html) = console.page(&path).await;
    assert!(html.contains("u-123") && html.contains("alice@corp.example"));
    let unlink = format!("{path}/unlink");
    let response = console
        .submit(&unlink, &[("provider", "corp"), ("subject", "u-999")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let to = console
        .submit_ok(&unlink, &[("provider", "corp"), ("subject", "u-123")])
        .await;
    assert!(to.ends_with("?done=unlinked"));
    assert!(
        app.state
            .store
            .identities_of(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    let unlinked = events_of(&app, "identity.unlinked").await;
    assert_eq!(unlinked[0]["actor"], user_actor(&console.user_id));
}

async fn signed_in_as_alice(app: &TestApp) -> Browser {
    let mut browser = Browser::new();
    let login = browser.get(&app.url("/login")).await;
    let html = login.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    let response = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let account = browser.get(&app.url("/account")).await;
    assert_eq!(account.status(), StatusCode::OK);
    browser
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_demoted_disabled_or_deleted_anywhere() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let root = console.user_id.clone();
    let path = format!("/users/{root}");

    // The console: each refused with the reason on the user's page, nothing changed.
    for (action, fields) in [
        ("role", &[("role", "none")][..]),
        ("disable", &[][..]),
        ("delete", &[][..]),
    ] {
        let response = console.submit(&format!("{path}/{action}"), fields).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{action}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("root is the last enabled admin: make another user an admin first"),
            "{action}: {html}"
        );
    }
    assert_eq!(role_of(&app, &root).await, Some((Role::Admin, false)));
    assert!(events_of(&app, "user.updated").await.is_empty());
    assert!(events_of(&app, "user.deleted").await.is_empty());

    // The API and the CLI: the same rule, the same message.
    let token = app.admin_token().await;
    for (method, api_path, body) in [
        (Method::PATCH, path.clone(), Some(json!({"role": "none"}))),
        (Method::PATCH, path.clone(), Some(json!({"disabled": true}))),
        (Method::POST, format!("{path}/disable"), None),
        (Method::DELETE, path.clone(), None),
    ] {
        let (status, body) = app.admin_call(&token, method, &api_path, body).await;
        assert_eq!(status, 409, "{api_path}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("last enabled admin"),
            "{body}"
        );
    }
    for args in [
        &["user", "role", "root", "none"][..],
        &["user", "disable", "root"][..],
        &["user", "delete", "root"][..],
    ] {
        let out = app.cli(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("last enabled admin"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(role_of(&app, &root).await, Some((Role::Admin, false)));

    // A disabled admin does not count; an enabled one does.
    let ops = create_user(&app, "ops", ADMIN_PASSWORD, true).await;
    console
        .submit_ok(&format!("/users/{ops}/disable"), &[])
        .await;
    let response = console
        .submit(&format!("{path}/role"), &[("role", "none")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    console
        .submit_ok(&format!("/users/{ops}/enable"), &[])
        .await;
    // A password change is no demotion.
    console
        .submit_ok(
            &format!("{path}/password"),
            &[("password", ADMIN_PASSWORD), ("keep_grants", "1")],
        )
        .await;
    // Now root may step down; the console closes to them.
    // (The new password ended root's sessions: sign in again.)
    console.browser = signed_in(&app, "root", ADMIN_PASSWORD).await;
    let (_, html) = console.page("/users").await;
    console.csrf = hidden(&html, "csrf");
    console
        .submit_ok(&format!("{path}/role"), &[("role", "none")])
        .await;
    assert_eq!(role_of(&app, &root).await, Some((Role::None, false)));
    let (status, _) = console.page("/users").await;
    assert_eq!(status, 403);
    // And ops is the last one.
    let (status, _) = app
        .admin_call(&token, Method::DELETE, &format!("/users/{ops}"), None)
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    let a = create_user(&app, "a-admin", ADMIN_PASSWORD, true).await;
    let b = create_user(&app, "b-admin", ADMIN_PASSWORD, true).await;
    let token = app.admin_token().await;
    let demote = |id: String| {
        let app = &app;
        let token = token.clone();
        async move {
            app.admin_call(
                &token,
                Method::PATCH,
                &format!("/users/{id}"),
                Some(json!({"role": "none"})),
            )
            .await
            .0
        }
    };
    let (x, y) = tokio::join!(demote(a.clone()), demote(b.clone()));
    let mut statuses = [x, y];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let admins = [role_of(&app, &a).await, role_of(&app, &b).await]
        .into_iter()
        .filter(|r| *r == Some((Role::Admin, false)))
        .count();
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn user_forms_want_the_sessions_token_a_recent_password_and_an_admin() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let dave = create_user(&app, "dave", ADMIN_PASSWORD, false).await;
    let path = format!("/users/{dave}");

    // A stale form: the re-check page, nothing disabled.
    let url = console.url(&format!("{path}/disable"));
    let response = console.browser.post(&url, &[("csrf", "stale")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("Confirm it is you"));
    assert_eq!(role_of(&app, &dave).await, Some((Role::None, false)));

    // Past five minutes, a role change asks for the password, then goes through with it.
    app.clock.advance(6 * 60);
    let response = console
        .submit(&format!("{path}/role"), &[("role", "admin")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(role_of(&app, &dave).await, Some((Role::None, false)));
    let response = console
        .submit_confirmed(&format!("{path}/role"), &[("role", "admin")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(role_of(&app, &dave).await, Some((Role::Admin, false)));

    // Not an admin: 403 on the pages and the forms.
    create_user(&app, "erin", ADMIN_PASSWORD, false).await;
    let mut erin = signed_in(&app, "erin", ADMIN_PASSWORD).await;
    let page = erin.get(&app.url("/admin/users")).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let response = erin
        .post(&app.url(&format!("/admin{path}/disable")), &[("csrf", "x")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(role_of(&app, &dave).await, Some((Role::Admin, false)));
}
