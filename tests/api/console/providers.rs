//! The console's sign-in providers page (upstream identity providers) and its metadata
//! domains panel: each action through HTTP, seen on the page, through the admin API and
//! in the audit log; bad values, stale forms, old sign-ins and non-admins change nothing.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use warden::domain::{AuditEvent, AuditKind};
use warden::store::audit::AuditFilter;

use crate::helpers::browser::hidden;
use crate::helpers::console::{Console, console_admin, create_user, signed_in};
use crate::helpers::{TestApp, spawn_app};

/// The events of `kind`, newest first.
pub(super) async fn events(app: &TestApp, kind: AuditKind) -> Vec<AuditEvent> {
    let filter = AuditFilter {
        kind: Some(kind),
        ..Default::default()
    };
    app.state.store.audit_page(&filter, None, 50).await.unwrap()
}

/// A signed-in user without the admin role, holding their session's CSRF token.
pub(super) async fn non_admin(app: &TestApp) -> Console {
    let user_id = create_user(app, "mallory", "mallory-password", false).await;
    let mut browser = signed_in(app, "mallory", "mallory-password").await;
    let account = browser.get(&format!("{}/account", app.issuer)).await;
    let html = account.text().await.unwrap();
    Console {
        browser,
        issuer: app.issuer.clone(),
        username: "mallory".into(),
        user_id,
        csrf: hidden(&html, "csrf"),
    }
}

/// The HTML of the field `name`'s wrapper, from its `<div class="field` to its input.
pub(super) fn field_html<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html
        .find(&format!(r#"name="{name}""#))
        .unwrap_or_else(|| panic!("no field {name}"));
    let start = html[..at].rfind("<div class=\"field").unwrap();
    let end = html[at..].find('>').unwrap() + at;
    &html[start..=end]
}

pub(super) fn is_marked(html: &str, name: &str) -> bool {
    let f = field_html(html, name);
    f.contains("field-invalid") && f.contains(r#"aria-invalid="true""#)
}

const SECRET: &str = "upstream-client-secret-42";

fn corp<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("id", "corp"),
        ("kind", "oidc"),
        ("display_name", "Corp SSO"),
        ("issuer", "https://login.corp.example"),
        ("client_id", "warden-at-corp"),
        ("client_secret", SECRET),
        ("token_auth_method", "client_secret_basic"),
        ("scopes", ""),
        ("allowed_domains", ""),
        ("on_first_login", "create"),
    ]
}

async fn api_provider(app: &TestApp, token: &str, id: &str) -> (u16, Value) {
    app.admin_call(
        token,
        Method::GET,
        &format!("/upstream-providers/{id}"),
        None,
    )
    .await
}

async fn sealed_secret(app: &TestApp, id: &str) -> String {
    app.state
        .store
        .upstream_provider(id)
        .await
        .unwrap()
        .unwrap()
        .client_secret_sealed
}

#[tokio::test]
async fn a_provider_is_added_edited_without_its_secret_disabled_and_deleted_in_the_console() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let token = app.admin_token().await;

    // A bad issuer: 422, the field marked, what was typed kept (but not the secret),
    // nothing stored.
    let mut bad = corp();
    bad[3] = ("issuer", "http://login.corp.example");
    let response = console.submit("/providers", &bad).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(is_marked(&html, "issuer"), "{html}");
    assert!(html.contains("must be an https URL"));
    assert!(html.contains(r#"value="Corp SSO""#));
    assert!(html.contains(r#"value="http://login.corp.example""#));
    assert!(!html.contains(SECRET), "a typed secret is never echoed");
    // No secret on a new provider: 422 on its field.
    let mut no_secret = corp();
    no_secret[5] = ("client_secret", "");
    let response = console.submit("/providers", &no_secret).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(is_marked(&response.text().await.unwrap(), "client_secret"));
    assert_eq!(api_provider(&app, &token, "corp").await.0, 404);
    assert!(events(&app, AuditKind::ProviderCreated).await.is_empty());

    // Added: on the list, on its page (with the redirect URI, without the secret), in the
    // API, and audited with the admin as actor.
    let to = console.submit_ok("/providers", &corp()).await;
    assert!(to.ends_with("/admin/providers/corp?done=created"), "{to}");
    let (status, list) = console.page("/providers").await;
    assert_eq!(status, 200);
    assert!(list.contains("Corp SSO") && list.contains("https://login.corp.example"));
    let (status, page) = console.page("/providers/corp").await;
    assert_eq!(status, 200);
    assert!(page.contains("/login/upstream/corp/callback"), "{page}");
    assert!(!page.contains(SECRET));
    assert!(field_html(&page, "client_secret").contains(r#"value="""#));
    let (status, view) = api_provider(&app, &token, "corp").await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["display_name"], "Corp SSO");
    assert_eq!(view["scopes"], "openid email profile");
    let created = &events(&app, AuditKind::ProviderCreated).await[0];
    assert_eq!(created.actor, warden::domain::Actor::user(&console.user_id));
    assert!(!created.details.to_string().contains(SECRET));

    // Edited with the secret left empty: the stored secret stays.
    let sealed = sealed_secret(&app, "corp").await;
    let mut edit = corp();
    edit[2] = ("display_name", "Corp sign-in");
    edit[5] = ("client_secret", "");
    edit.push(("trust_email", "1"));
    let to = console.submit_ok("/providers/corp", &edit).await;
    assert!(to.ends_with("/admin/providers/corp?done=saved"), "{to}");
    let (_, view) = api_provider(&app, &token, "corp").await;
    assert_eq!(view["display_name"], "Corp sign-in");
    assert_eq!(view["trust_email"], true);
    assert_eq!(sealed_secret(&app, "corp").await, sealed);
    let updated = &events(&app, AuditKind::ProviderUpdated).await[0];
    assert_eq!(updated.details["display_name"]["after"], "Corp sign-in");
    assert!(
        updated.details.get("client_secret").is_none(),
        "{updated:?}"
    );

    // A bad edit changes nothing: the domain list refuses, the name typed stays.
    let mut bad_edit = edit.clone();
    bad_edit[2] = ("display_name", "Renamed");
    bad_edit[8] = ("allowed_domains", "not a domain");
    let response = console.submit("/providers/corp", &bad_edit).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(is_marked(&html, "allowed_domains"), "{html}");
    assert!(html.contains(r#"value="Renamed""#));
    assert_eq!(
        api_provider(&app, &token, "corp").await.1["display_name"],
        "Corp sign-in"
    );

    // A new secret replaces the stored one; the event says so without the secret.
    edit[5] = ("client_secret", "a-rotated-upstream-secret");
    console.submit_ok("/providers/corp", &edit).await;
    assert_ne!(sealed_secret(&app, "corp").await, sealed);
    let updated = &events(&app, AuditKind::ProviderUpdated).await[0];
    assert_eq!(updated.details["client_secret"], "changed");
    assert!(
        !updated
            .details
            .to_string()
            .contains("a-rotated-upstream-secret")
    );

    // Disabled (a fresh sign-in counts as recent); saving the form keeps it disabled.
    let to = console.submit_ok("/providers/corp/disable", &[]).await;
    assert!(to.ends_with("?done=disabled"), "{to}");
    assert_eq!(api_provider(&app, &token, "corp").await.1["enabled"], false);
    edit[5] = ("client_secret", "");
    console.submit_ok("/providers/corp", &edit).await;
    assert_eq!(api_provider(&app, &token, "corp").await.1["enabled"], false);
    console.submit_ok("/providers/corp/enable", &[]).await;
    assert_eq!(api_provider(&app, &token, "corp").await.1["enabled"], true);

    // Deleted after the confirmation page, which says what it ends.
    let (status, confirm) = console.page("/providers/corp/delete").await;
    assert_eq!(status, 200);
    assert!(confirm.contains("unlinked"), "{confirm}");
    let to = console.submit_ok("/providers/corp/delete", &[]).await;
    assert!(to.ends_with("/admin/providers?done=deleted"), "{to}");
    assert_eq!(api_provider(&app, &token, "corp").await.0, 404);
    let deleted = &events(&app, AuditKind::ProviderDeleted).await[0];
    assert_eq!(deleted.actor, warden::domain::Actor::user(&console.user_id));
    let (status, _) = console.page("/providers/corp").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn stale_forms_old_sign_ins_and_non_admins_change_no_provider() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let token = app.admin_token().await;
    console.submit_ok("/providers", &corp()).await;

    // A stale CSRF token: the re-check page, nothing disabled.
    let csrf = std::mem::replace(&mut console.csrf, "stale".into());
    let response = console.submit("/providers/corp/disable", &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("Confirm it is you"));
    assert_eq!(api_provider(&app, &token, "corp").await.1["enabled"], true);
    console.csrf = csrf;

    // A sign-in older than five minutes: the password first, then it is done.
    app.clock.advance(6 * 60);
    let response = console.submit("/providers/corp/delete", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api_provider(&app, &token, "corp").await.0, 200);
    let response = console
        .submit_confirmed("/providers/corp/disable", &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_provider(&app, &token, "corp").await.1["enabled"], false);

    // A user who is not an admin: 403 for the page and the forms.
    let mut user = non_admin(&app).await;
    assert_eq!(user.page("/providers").await.0, 403);
    assert_eq!(user.page("/providers/corp").await.0, 403);
    let mut other = corp();
    other[0] = ("id", "other");
    let response = user.submit("/providers", &other).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = user.submit("/providers/corp/delete", &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = user
        .submit(
            "/metadata-domains",
            &[("domain", "evil.example"), ("policy", "trusted")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_provider(&app, &token, "other").await.0, 404);
    assert_eq!(api_provider(&app, &token, "corp").await.0, 200);
    assert!(app.state.store.metadata_domains().await.unwrap().is_empty());

    // Unknown providers are 404 pages, never 500.
    assert_eq!(console.page("/providers/nobody").await.0, 404);
    let response = console.submit("/providers/nobody", &corp()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metadata_domain_policies_are_set_shown_and_forgotten_in_the_console() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let token = app.admin_token().await;

    // A bad domain: 422, the field marked, the value kept, nothing stored.
    let response = console
        .submit(
            "/metadata-domains",
            &[("domain", "not a domain"), ("policy", "trusted")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(is_marked(&html, "domain"), "{html}");
    assert!(html.contains(r#"value="not a domain""#));
    // A policy outside the two: 422 on its field.
    let response = console
        .submit(
            "/metadata-domains",
            &[("domain", "apps.example"), ("policy", "maybe")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(is_marked(&response.text().await.unwrap(), "policy"));
    assert!(app.state.store.metadata_domains().await.unwrap().is_empty());

    let to = console
        .submit_ok(
            "/metadata-domains",
            &[("domain", "Apps.Example"), ("policy", "trusted")],
        )
        .await;
    assert!(to.ends_with("/admin/providers?done=saved"), "{to}");
    console
        .submit_ok(
            "/metadata-domains",
            &[("domain", "*.spam.example"), ("policy", "blocked")],
        )
        .await;
    let (_, page) = console.page("/providers").await;
    assert!(
        page.contains("apps.example") && page.contains("*.spam.example"),
        "{page}"
    );
    let (status, body) = app
        .admin_call(&token, Method::GET, "/metadata-domains", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 2, "{body}");
    let set = &events(&app, AuditKind::MetadataDomainSet).await[0];
    assert_eq!(set.actor, warden::domain::Actor::user(&console.user_id));
    assert_eq!(set.details["domain"], "*.spam.example");

    // Forgotten after the confirmation page.
    let (status, confirm) = console
        .page("/metadata-domains/*.spam.example/forget")
        .await;
    assert_eq!(status, 200);
    assert!(
        confirm.contains("register and ask for consent again"),
        "{confirm}"
    );
    let to = console
        .submit_ok("/metadata-domains/*.spam.example/forget", &[])
        .await;
    assert!(to.ends_with("/admin/providers?done=deleted"), "{to}");
    let left = app.state.store.metadata_domains().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].domain, "apps.example");
    let forgotten = &events(&app, AuditKind::MetadataDomainForgotten).await[0];
    assert_eq!(
        forgotten.actor,
        warden::domain::Actor::user(&console.user_id)
    );
    // Forgetting what is not there: 404, not 500.
    assert_eq!(
        console
            .page("/metadata-domains/none.example/forget")
            .await
            .0,
        404
    );
    let response = console
        .submit("/metadata-domains/none.example/forget", &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
