//! Console: MCP servers. Register, edit, check, disable, delete, as the API would.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::console::console_admin;
use crate::helpers::mcp_server::McpServer;
use crate::helpers::{spawn_app, spawn_app_with};

const URI: &str = "https://notes.example.com/mcp";

fn id_from(location: &str) -> String {
    location
        .split("/resources/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_admin_registers_an_mcp_server_and_sees_what_to_paste() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;

    // A bad URI: 422, the field marked, everything typed kept, nothing stored.
    let r = console
        .submit(
            "/resources",
            &[
                ("uri", "ftp://notes.example.com"),
                ("name", "Team notes"),
                ("scopes", "mcp:read mcp:write"),
                ("access_token_ttl", "600"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"class="field field-invalid""#), "{html}");
    assert!(html.contains(r#"value="ftp://notes.example.com""#));
    assert!(html.contains(r#"value="Team notes""#));
    assert!(html.contains(r#"value="600""#));
    // The API's message for the same value.
    let token = app.admin_token().await;
    let (status, api) = app
        .admin_call(
            &token,
            reqwest::Method::POST,
            "/resources",
            Some(json!({"uri": "ftp://notes.example.com", "name": "x", "scopes": []})),
        )
        .await;
    assert_eq!(status, 422);
    let detail = api["detail"].as_str().unwrap().replace('"', "&#34;");
    assert!(html.contains(&detail), "{api}");
    // A lifetime that is not a number, and an unknown scope.
    let r = console
        .submit(
            "/resources",
            &[("uri", URI), ("name", "n"), ("access_token_ttl", "ten")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = console
        .submit(
            "/resources",
            &[("uri", URI), ("name", "n"), ("scopes", "no:such")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .is_none()
    );

    let to = console
        .submit_ok(
            "/resources",
            &[
                ("uri", URI),
                ("name", "Team notes"),
                ("scopes", "mcp:read mcp:write"),
                ("default_scopes", "mcp:read"),
                ("access_token_ttl", "600"),
            ],
        )
        .await;
    let id = id_from(&to);
    let (status, html) = console.page(&format!("/resources/{id}")).await;
    assert_eq!(status, 200);
    let prm = format!("{}/resource-metadata/{id}", app.issuer);
    assert!(html.contains(&prm), "{html}");
    assert!(
        html.contains(&format!(
            "Bearer resource_metadata=&#34;{prm}&#34;, scope=&#34;mcp:read&#34;"
        )),
        "{html}"
    );
    assert!(html.contains("at+jwt"));

    // The API sees it, and the audit log names the admin user.
    let (_, view) = app
        .admin_call(
            &token,
            reqwest::Method::GET,
            &format!("/resources/{id}"),
            None,
        )
        .await;
    assert_eq!(view["access_token_ttl"], 600);
    assert_eq!(view["default_scopes"], json!(["mcp:read"]));
    let (_, events) = app
        .admin_call(
            &token,
            reqwest::Method::GET,
            "/audit?kind=resource.created",
            None,
        )
        .await;
    assert_eq!(events["items"][0]["actor"]["id"], console.user_id.as_str());
    assert_eq!(events["items"][0]["actor"]["kind"], "user");

    // The list shows it; an edit narrows it.
    let (_, list) = console.page("/resources").await;
    assert!(list.contains("Team notes"));
    console
        .submit_ok(
            &format!("/resources/{id}"),
            &[
                ("uri", URI),
                ("name", "Notes"),
                ("scopes", "mcp:read"),
                ("default_scopes", "mcp:read"),
            ],
        )
        .await;
    let stored = app.state.store.resource_by_uri(URI).await.unwrap().unwrap();
    assert_eq!(stored.name, "Notes");
    assert_eq!(stored.scopes.iter().collect::<Vec<_>>(), ["mcp:read"]);

    // Unknown ids are 404 pages.
    let (status, _) = console.page("/resources/no-such-id").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn deleting_says_how_many_grants_it_ends_and_refuses_while_clients_name_it() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let resource = app
        .create_resource(
            &token,
            json!({"uri": URI, "name": "notes", "scopes": ["mcp:read"]}),
        )
        .await;
    let id = resource["id"].as_str().unwrap().to_owned();
    let agent = app
        .create_client(
            &token,
            json!({"name": "agent", "grant_types": ["client_credentials"], "resources": [URI]}),
        )
        .await;
    let issued = app.client_credentials(&agent, Some(URI), None).await;
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let mut console = console_admin(&app).await;

    let (status, html) = console.page(&format!("/resources/{id}/delete")).await;
    assert_eq!(status, 200);
    assert!(html.contains("This ends 1 grant"), "{html}");
    // A client lists it: refused with the API's reason, nothing deleted.
    let r = console
        .submit(&format!("/resources/{id}/delete"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains(&agent.client_id));

    app.admin_call(
        &token,
        reqwest::Method::PATCH,
        &format!("/clients/{}", agent.client_id),
        Some(json!({"resources": []})),
    )
    .await;
    let to = console
        .submit_ok(&format!("/resources/{id}/delete"), &[])
        .await;
    assert!(to.ends_with("/admin/resources?done=deleted"));
    assert!(
        app.state
            .store
            .resource_by_uri(URI)
            .await
            .unwrap()
            .is_none()
    );
    // Its grant ended with it.
    assert_eq!(
        app.state.store.live_grants_for_resource(URI).await.unwrap(),
        0
    );
    let grant = app.state.store.grant(&gid(&access)).await.unwrap().unwrap();
    assert!(grant.revoked_at.is_some());
}

#[tokio::test]
async fn the_check_button_probes_the_server_and_stores_the_outcome() {
    let app = spawn_app_with(&[("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1")]).await;
    let server = McpServer::start(&app.issuer, &["mcp:read", "mcp:write"], None).await;
    let token = app.admin_token().await;
    let resource = app
        .create_resource(
            &token,
            json!({"uri": server.uri, "name": "notes", "scopes": ["mcp:read", "mcp:write"], "default_scopes": ["mcp:read"]}),
        )
        .await;
    let id = resource["id"].as_str().unwrap();
    let mut console = console_admin(&app).await;
    let (_, html) = console.page(&format!("/resources/{id}")).await;
    assert!(html.contains("Never checked"));
    app.catch_up_with_wall_clock();
    let r = console.submit(&format!("/resources/{id}/check"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("finding-pass"), "{html}");
    assert!(!html.contains("finding-fail"), "{html}");
    let (_, html) = console.page(&format!("/resources/{id}")).await;
    assert!(html.contains("Last check: <strong>pass"), "{html}");
}

/// The grant id an access token carries.
fn gid(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["gid"].as_str().unwrap().to_owned()
}
