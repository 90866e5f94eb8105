//! The console's token exchange page: trusted issuers (add, remove) and each MCP server's
//! downstream links (add, edit, remove, one at a time), through HTTP, seen on the page,
//! through the admin API and in the audit log.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use warden::domain::{Actor, AuditKind};

use super::providers::{events, is_marked, non_admin};
use crate::helpers::console::console_admin;
use crate::helpers::{TestApp, spawn_app};

/// Registers an MCP server accepting the test scopes; returns its id.
async fn server(app: &TestApp, uri: &str, name: &str) -> String {
    warden::admin::resources::create(
        &app.state.store,
        &app.state.settings,
        warden::admin::resources::NewResource {
            uri: uri.into(),
            name: name.into(),
            description: String::new(),
            scopes: vec!["mcp:read".into(), "mcp:write".into()],
            default_scopes: None,
            access_token_ttl: None,
            allowed_clients: None,
            enabled: None,
            require_dpop: false,
        },
        warden::clock::Clock::now(&*app.clock),
        &Actor::cli(),
    )
    .await
    .unwrap()
    .id
}

async fn api_links(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let path = format!("/resources/{id}/downstreams");
    let (status, body) = app.admin_call(token, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

const NOTES: &str = "https://notes.example.com/mcp";
const FILES: &str = "https://files.example.com/mcp";
const MAIL: &str = "https://mail.example.com/mcp";

#[tokio::test]
async fn downstream_links_are_added_edited_and_removed_one_at_a_time() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let token = app.admin_token().await;
    let notes = server(&app, NOTES, "Notes").await;
    let files = server(&app, FILES, "Files").await;
    let mail = server(&app, MAIL, "Mail").await;

    let (status, page) = console.page("/exchange").await;
    assert_eq!(status, 200);
    assert!(page.contains("Notes") && page.contains(&format!("/admin/exchange/{notes}")));
    let links = format!("/exchange/{notes}/links");

    // Bad values: 422 on the field, what was typed kept, nothing stored.
    let response = console
        .submit(&links, &[("target", FILES), ("scope_map", "mcp:read")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(is_marked(&html, "scope_map"), "{html}");
    assert!(html.contains(">mcp:read</textarea>"));
    let response = console
        .submit(
            &links,
            &[("target", FILES), ("scope_map", "mcp:read = mcp:admin")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(is_marked(&html, "scope_map"));
    assert!(html.contains("mcp:admin is not accepted by"), "{html}");
    let response = console
        .submit(
            &links,
            &[
                ("target", FILES),
                ("impersonation_clients", "no-such-client"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(is_marked(&html, "impersonation_clients"));
    assert!(html.contains(r#"value="no-such-client""#));
    let response = console
        .submit(&links, &[("target", "https://unknown.example.com/mcp")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(is_marked(&response.text().await.unwrap(), "target"));
    assert!(api_links(&app, &token, &notes).await.is_empty());
    assert!(
        events(&app, AuditKind::DownstreamsReplaced)
            .await
            .is_empty()
    );

    // Added: two links, on the page and in the API, audited with the admin as actor.
    let to = console
        .submit_ok(
            &links,
            &[
                ("target", FILES),
                ("scope_map", "mcp:read = mcp:read mcp:write"),
            ],
        )
        .await;
    assert!(
        to.ends_with(&format!("/admin/exchange/{notes}?done=saved")),
        "{to}"
    );
    console.submit_ok(&links, &[("target", MAIL)]).await;
    let stored = api_links(&app, &token, &notes).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[0]["target"], FILES);
    assert_eq!(
        stored[0]["scope_map"]["mcp:read"],
        serde_json::json!(["mcp:read", "mcp:write"])
    );
    let replaced = &events(&app, AuditKind::DownstreamsReplaced).await[0];
    assert_eq!(replaced.actor, Actor::user(&console.user_id));
    assert_eq!(replaced.resource.as_deref(), Some(NOTES));
    let (_, overview) = console.page("/exchange").await;
    assert!(overview.contains(FILES) && overview.contains(MAIL));

    // Edited: the form opens with the link's values; saving replaces that link only.
    let edit = format!("/exchange/{notes}?edit={}", urlencode(FILES));
    let (status, page) = console.page(&edit).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(">mcp:read = mcp:read mcp:write</textarea>"),
        "{page}"
    );
    assert!(page.contains(r#"name="editing""#));
    console
        .submit_ok(
            &links,
            &[("editing", "1"), ("target", FILES), ("scope_map", "")],
        )
        .await;
    let stored = api_links(&app, &token, &notes).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0]["scope_map"], serde_json::json!({}));

    // Removed after the confirmation page; the other link stays.
    let remove = format!("/exchange/{notes}/links/{files}/remove");
    let (status, confirm) = console.page(&remove).await;
    assert_eq!(status, 200);
    assert!(
        confirm.contains("can no longer exchange its tokens for Files"),
        "{confirm}"
    );
    let to = console.submit_ok(&remove, &[]).await;
    assert!(
        to.ends_with(&format!("/admin/exchange/{notes}?done=deleted")),
        "{to}"
    );
    let stored = api_links(&app, &token, &notes).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["target"], MAIL);
    // Removing it again, or from an unknown server: 404, not 500.
    assert_eq!(
        console.submit(&remove, &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    let response = console
        .submit(&format!("/exchange/nothing/links/{mail}/remove"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(console.page("/exchange/nothing").await.0, 404);
    // The target's own page lists nothing: links go one way.
    let (_, page) = console.page(&format!("/exchange/{files}")).await;
    assert!(page.contains("No links"));
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn issuer_form<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("issuer", "https://idp.partner.example"),
        ("jwks_uri", "https://idp.partner.example/jwks"),
        ("audience", NOTES),
        ("alg-ES256", "1"),
        ("alg-EdDSA", "1"),
        ("subject", "keep"),
    ]
}

#[tokio::test]
async fn trusted_issuers_are_added_and_removed_and_only_by_an_admin() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let token = app.admin_token().await;
    server(&app, NOTES, "Notes").await;

    // Bad values: 422 on the field, what was typed kept, nothing stored.
    let mut bad = issuer_form();
    bad[0] = ("issuer", "http://idp.partner.example");
    let response = console.submit("/exchange/issuers", &bad).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(is_marked(&html, "issuer"), "{html}");
    assert!(html.contains(r#"value="https://idp.partner.example/jwks""#));
    let no_algs: Vec<_> = issuer_form()
        .into_iter()
        .filter(|(n, _)| !n.starts_with("alg-"))
        .collect();
    let response = console.submit("/exchange/issuers", &no_algs).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("choose from"), "{html}");
    assert!(html.contains(r#"<fieldset class="field field-invalid">"#));
    let mut bad_subject = issuer_form();
    bad_subject[5] = ("subject", "email");
    let response = console.submit("/exchange/issuers", &bad_subject).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(is_marked(&response.text().await.unwrap(), "subject"));
    let (_, body) = app
        .admin_call(&token, Method::GET, "/trusted-issuers", None)
        .await;
    assert!(body["items"].as_array().unwrap().is_empty(), "{body}");

    // Added: on the page, in the API, audited with the admin as actor.
    let to = console.submit_ok("/exchange/issuers", &issuer_form()).await;
    assert!(to.ends_with("/admin/exchange?done=created"), "{to}");
    let (_, page) = console.page("/exchange").await;
    assert!(page.contains("https://idp.partner.example/jwks"), "{page}");
    let (_, body) = app
        .admin_call(&token, Method::GET, "/trusted-issuers", None)
        .await;
    let issuer = body["items"][0].clone();
    assert_eq!(issuer["algorithms"], serde_json::json!(["ES256", "EdDSA"]));
    let id = issuer["id"].as_str().unwrap().to_owned();
    let created = &events(&app, AuditKind::TrustedIssuerCreated).await[0];
    assert_eq!(created.actor, Actor::user(&console.user_id));
    // The same issuer twice: 409 with the form kept.
    let response = console.submit("/exchange/issuers", &issuer_form()).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("already trusted"));

    // Non-admins and stale forms remove nothing.
    let remove = format!("/exchange/issuers/{id}/remove");
    let mut user = non_admin(&app).await;
    assert_eq!(user.page("/exchange").await.0, 403);
    assert_eq!(
        user.submit(&remove, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let response = user.submit("/exchange/issuers", &issuer_form()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let csrf = std::mem::replace(&mut console.csrf, "stale".into());
    assert_eq!(
        console.submit(&remove, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    console.csrf = csrf;
    app.clock.advance(6 * 60);
    assert_eq!(
        console.submit(&remove, &[]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, body) = app
        .admin_call(&token, Method::GET, "/trusted-issuers", None)
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);

    // Removed after the confirmation page and the password.
    let (status, confirm) = console.page(&remove).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("no longer accepted"), "{confirm}");
    let response = console.submit_confirmed(&remove, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, body) = app
        .admin_call(&token, Method::GET, "/trusted-issuers", None)
        .await;
    assert!(body["items"].as_array().unwrap().is_empty());
    let deleted = &events(&app, AuditKind::TrustedIssuerDeleted).await[0];
    assert_eq!(deleted.actor, Actor::user(&console.user_id));
    assert_eq!(console.page(&remove).await.0, 404);
}
