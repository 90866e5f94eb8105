//! The scope catalogue in the console: add, edit the description, delete (refused while an
//! MCP server accepts the scope), each audited with the admin as the actor.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::browser::{hidden, location};
use crate::helpers::console::{ADMIN_PASSWORD, console_admin, create_user, signed_in};
use crate::helpers::{TestApp, spawn_app};

/// The audit events of `kind`, newest first, through the admin API.
pub async fn events_of(app: &TestApp, kind: &str) -> Vec<Value> {
    let token = app.admin_token().await;
    let path = format!("/audit?limit=200&kind={kind}");
    let (status, page) = app.admin_call(&token, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

pub fn user_actor(user_id: &str) -> Value {
    json!({"kind": "user", "id": user_id})
}

async fn supported(app: &TestApp) -> Vec<Value> {
    app.get_json("/.well-known/oauth-authorization-server")
        .await["scopes_supported"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_admin_adds_edits_and_deletes_a_scope() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let (status, html) = console.page("/scopes").await;
    assert_eq!(status, 200);
    assert!(html.contains("mcp:read"), "the seeded catalogue is listed");
    assert!(
        html.contains(&console.username),
        "the chrome names who is signed in"
    );

    // A name outside RFC 6749's syntax: 422 beside the field, what was typed kept.
    let response = console
        .submit(
            "/scopes",
            &[("name", "files read"), ("description", "Read <your> files")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("field-invalid"), "{html}");
    assert!(html.contains(r#"aria-invalid="true""#));
    assert!(html.contains(r#"value="files read""#));
    assert!(
        html.contains("Read &#60;your&#62; files") || html.contains("Read &lt;your&gt; files"),
        "the description is kept, escaped: {html}"
    );
    assert!(app.state.store.scope("files read").await.unwrap().is_none());
    assert!(events_of(&app, "scope.created").await.is_empty());

    // Added: its page, the catalogue, the metadata and the audit log say so.
    let to = console
        .submit_ok(
            "/scopes",
            &[
                ("name", "files:read"),
                ("description", "Read your files"),
                ("is_default", "1"),
            ],
        )
        .await;
    assert!(
        to.ends_with("/admin/scopes/files%3Aread?done=created"),
        "{to}"
    );
    let (status, html) = console.page("/scopes/files%3Aread?done=created").await;
    assert_eq!(status, 200);
    assert!(html.contains("Created."));
    assert!(html.contains("Read your files"));
    let row = app.state.store.scope("files:read").await.unwrap().unwrap();
    assert!(row.is_default);
    assert!(supported(&app).await.contains(&json!("files:read")));
    let created = events_of(&app, "scope.created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["actor"], user_actor(&console.user_id));

    // An empty description is refused and nothing changes.
    let response = console
        .submit("/scopes/files%3Aread", &[("description", "  ")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("field-invalid") && html.contains("must not be empty"));
    let row = app.state.store.scope("files:read").await.unwrap().unwrap();
    assert_eq!(row.description, "Read your files");

    // Edited (the checkbox left out clears the default), visible through the API.
    let to = console
        .submit_ok(
            "/scopes/files%3Aread",
            &[("description", "Read the files you own")],
        )
        .await;
    assert!(to.ends_with("?done=saved"), "{to}");
    let token = app.admin_token().await;
    let (status, body) = app
        .admin_call(&token, Method::GET, "/scopes/files:read", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["description"], "Read the files you own");
    assert_eq!(body["is_default"], false);
    let updated = events_of(&app, "scope.updated").await;
    assert_eq!(updated[0]["actor"], user_actor(&console.user_id));

    // Accepted by an MCP server: listed beside the scope, and the delete is refused with
    // the service's reason.
    let resource = app
        .create_resource(
            &token,
            json!({"uri": "https://files.example.com/mcp", "name": "Files", "scopes": ["files:read"]}),
        )
        .await;
    let (_, html) = console.page("/scopes").await;
    assert!(html.contains(&format!(
        "/admin/resources/{}",
        resource["id"].as_str().unwrap()
    )));
    let (status, html) = console.page("/scopes/files%3Aread/delete").await;
    assert_eq!(status, 200);
    assert!(html.contains("accepted by Files"), "{html}");
    let response = console.submit("/scopes/files%3Aread/delete", &[]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("is accepted by https://files.example.com/mcp"),
        "{html}"
    );
    assert!(app.state.store.scope("files:read").await.unwrap().is_some());
    assert!(events_of(&app, "scope.deleted").await.is_empty());

    // Free again: deleted, gone from the catalogue and the metadata.
    let (status, _) = app
        .admin_call(
            &token,
            Method::DELETE,
            &format!("/resources/{}", resource["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let to = console.submit_ok("/scopes/files%3Aread/delete", &[]).await;
    assert!(to.ends_with("/admin/scopes?done=deleted"), "{to}");
    assert!(app.state.store.scope("files:read").await.unwrap().is_none());
    assert!(!supported(&app).await.contains(&json!("files:read")));
    let deleted = events_of(&app, "scope.deleted").await;
    assert_eq!(deleted[0]["actor"], user_actor(&console.user_id));
    let (status, _) = console.page("/scopes/files%3Aread").await;
    assert_eq!(status, 404);

    // A duplicate name is a conflict shown on the form.
    let response = console
        .submit("/scopes", &[("name", "mcp:read"), ("description", "again")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("already exists"));
}

#[tokio::test]
async fn scope_forms_want_the_sessions_token_a_recent_password_for_deletes_and_an_admin() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;

    // A stale form (another token): the re-check page, nothing created.
    let url = console.url("/scopes");
    let response = console
        .browser
        .post(
            &url,
            &[("csrf", "stale"), ("name", "x:y"), ("description", "X")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("Confirm it is you"), "{html}");
    assert_eq!(hidden(&html, "name"), "x:y", "the form is carried");
    assert!(app.state.store.scope("x:y").await.unwrap().is_none());

    // A delete with a sign-in older than five minutes asks for the password first.
    console
        .submit_ok("/scopes", &[("name", "x:y"), ("description", "X")])
        .await;
    app.clock.advance(6 * 60);
    let response = console.submit("/scopes/x%3Ay/delete", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(app.state.store.scope("x:y").await.unwrap().is_some());
    let response = console.submit_confirmed("/scopes/x%3Ay/delete", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).ends_with("/admin/scopes?done=deleted"));
    assert!(app.state.store.scope("x:y").await.unwrap().is_none());

    // A signed-in user who is not an admin: 403 on the pages and the forms.
    create_user(&app, "bob", ADMIN_PASSWORD, false).await;
    let mut bob = signed_in(&app, "bob", ADMIN_PASSWORD).await;
    let page = bob.get(&app.url("/admin/scopes")).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let response = bob
        .post(
            &app.url("/admin/scopes"),
            &[("csrf", "whatever"), ("name", "b:c"), ("description", "B")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(app.state.store.scope("b:c").await.unwrap().is_none());
}
