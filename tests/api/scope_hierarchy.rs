//! The scope hierarchy (SEP-835): a catalogue scope may imply others. Set by admins (API,
//! CLI), checked (known scopes, no cycle, bounded), shown in scope reads; tokens carry
//! the closure (so a resource's plain string check passes), introspection reports it, a
//! step-up to an implied scope needs no new consent, the consent page lists a broader
//! scope once, and removing an implication takes effect at the next refresh.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{
    Browser, authorize, authorize_url, interactive, pkce, redeem, through_sign_in,
};
use crate::helpers::tokens::{access, decode_claims};
use crate::helpers::{TestApp, TestClient, spawn_app, stdout_json};

async fn patch_scope(app: &TestApp, token: &str, name: &str, body: Value) -> (u16, Value) {
    app.admin_call(token, Method::PATCH, &format!("/scopes/{name}"), Some(body))
        .await
}

async fn get_scope(app: &TestApp, token: &str, name: &str) -> Value {
    let (status, body) = app
        .admin_call(token, Method::GET, &format!("/scopes/{name}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `mcp:write` ⇒ `mcp:read`, through the API.
async fn write_implies_read(app: &TestApp, token: &str) {
    let (status, body) =
        patch_scope(app, token, "mcp:write", json!({"implies": ["mcp:read"]})).await;
    assert_eq!(status, 200, "{body}");
}

/// Runs the browser leg for `client` with `scope` in `browser` and redeems the code.
async fn tokens(app: &TestApp, browser: &mut Browser, client: &TestClient, scope: &str) -> Value {
    let p = pkce();
    let url = authorize_url(app, client, &p.challenge, &[("scope", scope)]);
    let answer = authorize(app, browser, &url, "alice").await;
    let response = redeem(app, client, &answer["code"], &p.verifier).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn implications_set_through_the_api_show_in_every_scope_read() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    write_implies_read(&app, &token).await;
    let (status, created) = app
        .admin_call(
            &token,
            Method::POST,
            "/scopes",
            Some(
                json!({"name": "mcp:admin", "description": "Administer the MCP server",
                        "implies": ["mcp:write", "mcp:write"]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["implies"],
        json!(["mcp:write"]),
        "duplicates collapse"
    );
    assert_eq!(created["includes"], json!(["mcp:read", "mcp:write"]));

    let read = get_scope(&app, &token, "mcp:read").await;
    assert_eq!(read["implied_by"], json!(["mcp:write"]));
    assert_eq!(read["implies"], json!([]));
    let write = get_scope(&app, &token, "mcp:write").await;
    assert_eq!(write["implied_by"], json!(["mcp:admin"]));
    assert_eq!(write["builtin"], false);

    let (_, list) = app.admin_call(&token, Method::GET, "/scopes", None).await;
    let admin = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mcp:admin")
        .unwrap();
    assert_eq!(admin["includes"], json!(["mcp:read", "mcp:write"]));

    // A change is audited with what the scope implied before and after.
    let (_, audit) = app
        .admin_call(&token, Method::GET, "/audit?kind=scope.updated", None)
        .await;
    let text = audit.to_string();
    assert!(
        text.contains("implies") && text.contains("mcp:read"),
        "{text}"
    );

    // Clearing.
    let (status, body) = patch_scope(&app, &token, "mcp:write", json!({"implies": []})).await;
    assert_eq!(status, 200);
    assert_eq!(body["implies"], json!([]));
    assert_eq!(
        get_scope(&app, &token, "mcp:admin").await["includes"],
        json!(["mcp:write"])
    );
}

#[tokio::test]
async fn a_cycle_is_refused_with_a_clear_message_and_nothing_changes() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    write_implies_read(&app, &token).await;
    let (status, body) =
        patch_scope(&app, &token, "mcp:read", json!({"implies": ["mcp:write"]})).await;
    assert_eq!(status, 422, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("cycle") && detail.contains("mcp:read ⇒ mcp:write ⇒ mcp:read"),
        "{detail}"
    );
    assert_eq!(
        get_scope(&app, &token, "mcp:read").await["implies"],
        json!([])
    );

    let (status, body) =
        patch_scope(&app, &token, "mcp:read", json!({"implies": ["mcp:read"]})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("itself"));
    // The description in the same request is not applied either.
    let (status, _) = patch_scope(
        &app,
        &token,
        "mcp:read",
        json!({"description": "changed", "implies": ["mcp:write"]}),
    )
    .await;
    assert_eq!(status, 422);
    assert_ne!(
        get_scope(&app, &token, "mcp:read").await["description"],
        "changed"
    );
}

#[tokio::test]
async fn unknown_built_in_malformed_and_too_many_implied_scopes_are_refused() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let new =
        |implies: Value| json!({"name": "mcp:admin", "description": "Admin", "implies": implies});
    let many: Vec<String> = (0..17).map(|i| format!("s{i}")).collect();
    for i in 0..17 {
        let (status, _) = app
            .admin_call(
                &token,
                Method::POST,
                "/scopes",
                Some(json!({"name": format!("s{i}"), "description": "x"})),
            )
            .await;
        assert_eq!(status, 201);
    }
    for (implies, says) in [
        (json!(["mcp:nope"]), "not in the scope catalogue"),
        (json!(["offline_access"]), "built in"),
        (json!(["warden:admin"]), "built in"),
        (json!(["with space"]), "printable ASCII"),
        (json!([""]), "empty"),
        (json!(many), "at most 16"),
    ] {
        let (status, body) = app
            .admin_call(&token, Method::POST, "/scopes", Some(new(implies.clone())))
            .await;
        assert_eq!(status, 422, "{implies}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{implies}: {body}"
        );
        let (status, _) = app
            .admin_call(&token, Method::GET, "/scopes/mcp:admin", None)
            .await;
        assert_eq!(status, 404, "nothing stored for {implies}");
    }
    let (status, _) = app
        .admin_call(
            &token,
            Method::POST,
            "/scopes",
            Some(new(json!("mcp:read"))),
        )
        .await;
    assert_eq!(status, 422, "implies is a list");

    // A chain longer than eight links.
    for i in 0..9 {
        let (status, body) = patch_scope(
            &app,
            &token,
            &format!("s{i}"),
            json!({"implies": [format!("s{}", i + 1)]}),
        )
        .await;
        if i < 8 {
            assert_eq!(status, 200, "{body}");
        } else {
            assert_eq!(status, 422, "{body}");
            assert!(
                body["detail"].as_str().unwrap().contains("longer than 8"),
                "{body}"
            );
        }
    }
}

#[tokio::test]
async fn a_scope_that_another_implies_cannot_be_deleted() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let (status, _) = app
        .admin_call(
            &token,
            Method::POST,
            "/scopes",
            Some(json!({"name": "notes:read", "description": "Read notes"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .admin_call(&token, Method::POST, "/scopes",
            Some(json!({"name": "notes:write", "description": "Write notes", "implies": ["notes:read"]})))
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .admin_call(&token, Method::DELETE, "/scopes/notes:read", None)
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("notes:write"));
    // Deleting the broader scope takes its implications with it.
    let (status, _) = app
        .admin_call(&token, Method::DELETE, "/scopes/notes:write", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        get_scope(&app, &token, "notes:read").await["implied_by"],
        json!([])
    );
    let (status, _) = app
        .admin_call(&token, Method::DELETE, "/scopes/notes:read", None)
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn implications_are_set_by_the_cli_and_a_cycle_is_refused_there_too() {
    let app = spawn_app().await;
    let updated = stdout_json(&app.cli(&["scope", "update", "mcp:write", "--implies", "mcp:read"]));
    assert_eq!(updated["implies"], json!(["mcp:read"]));
    let added = stdout_json(&app.cli(&[
        "scope",
        "add",
        "--name",
        "mcp:admin",
        "--description",
        "Administer",
        "--implies",
        "mcp:write,mcp:read",
    ]));
    assert_eq!(added["implies"], json!(["mcp:read", "mcp:write"]));
    assert_eq!(added["includes"], json!(["mcp:read", "mcp:write"]));

    let cycle = app.cli(&["scope", "update", "mcp:read", "--implies", "mcp:admin"]);
    assert!(!cycle.status.success());
    let stderr = String::from_utf8_lossy(&cycle.stderr);
    assert!(stderr.contains("cycle"), "{stderr}");

    let token = app.admin_token().await;
    assert_eq!(
        get_scope(&app, &token, "mcp:read").await["implies"],
        json!([])
    );
    let cleared = stdout_json(&app.cli(&["scope", "update", "mcp:admin", "--implies", ""]));
    assert_eq!(cleared["implies"], json!([]));
    let listed = stdout_json(&app.cli(&["scope", "list"]));
    let write = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mcp:write")
        .unwrap();
    assert_eq!(write["implies"], json!(["mcp:read"]));
}

#[tokio::test]
async fn a_token_for_the_broader_scope_carries_what_it_implies_and_introspection_says_so() {
    let app = spawn_app().await;
    let setup = crate::helpers::setup(&app).await;
    write_implies_read(&app, &setup.admin_token).await;
    let body = app
        .client_credentials(&setup.agent, Some(&setup.resource_uri), Some("mcp:write"))
        .await;
    assert_eq!(body["scope"], "mcp:read mcp:write");
    assert_eq!(decode_claims(access(&body))["scope"], "mcp:read mcp:write");
    let introspected = app.introspect(&setup.server, access(&body)).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["scope"], "mcp:read mcp:write");
    // The narrower scope alone implies nothing.
    let body = app
        .client_credentials(&setup.agent, Some(&setup.resource_uri), Some("mcp:read"))
        .await;
    assert_eq!(body["scope"], "mcp:read");
}

#[tokio::test]
async fn a_step_up_to_an_implied_scope_needs_no_new_consent() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    write_implies_read(&app, &setup.admin_token).await;
    let mut browser = Browser::new();
    let first = tokens(&app, &mut browser, &setup.client, "mcp:write").await;
    assert_eq!(first["scope"], "mcp:read mcp:write");

    // mcp:read, implied by what alice allowed: straight back to the client, no page.
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "mcp:read")]);
    let response = through_sign_in(&app, &mut browser, &url, "alice").await;
    assert_eq!(response.status(), 303, "no consent page");
    let code =
        crate::helpers::browser::query(&crate::helpers::browser::location(&response))["code"]
            .clone();
    let token: Value = redeem(&app, &setup.client, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["scope"], "mcp:read");
    // The grant still records what alice consented to, nothing more.
    let grants = app
        .state
        .store
        .grants_of_client(&setup.client.client_id)
        .await
        .unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].scope, "mcp:write");
}

#[tokio::test]
async fn the_consent_page_lists_the_broader_scope_once_with_what_it_includes() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    write_implies_read(&app, &setup.admin_token).await;
    let p = pkce();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read mcp:write")],
    );
    let mut browser = Browser::new();
    let page = through_sign_in(&app, &mut browser, &url, "alice").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<code class=\"mono small\">mcp:write</code> <span class=\"scope-includes small muted\">— also includes mcp:read</span>"), "{html}");
    assert!(
        !html.contains("<code class=\"mono small\">mcp:read</code>"),
        "mcp:read is not listed again"
    );
    assert_eq!(html.matches("<li class=\"scope\">").count(), 1);
}

#[tokio::test]
async fn removing_an_implication_takes_effect_at_the_next_refresh() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    write_implies_read(&app, &setup.admin_token).await;
    let mut browser = Browser::new();
    let first = tokens(&app, &mut browser, &setup.client, "mcp:write").await;
    assert_eq!(first["scope"], "mcp:read mcp:write");

    let (status, _) = patch_scope(
        &app,
        &setup.admin_token,
        "mcp:write",
        json!({"implies": []}),
    )
    .await;
    assert_eq!(status, 200);
    let refresh = |rt: String| {
        let app = &app;
        let client = setup.client.clone();
        async move {
            let response = app
                .post_form(
                    "/token",
                    &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
                    Some(&client),
                )
                .await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let refreshed = refresh(first["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(refreshed["scope"], "mcp:write");
    assert_eq!(decode_claims(access(&refreshed))["scope"], "mcp:write");
    // Narrowing to mcp:read is no longer narrowing.
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    refreshed["refresh_token"].as_str().unwrap(),
                ),
                ("scope", "mcp:read"),
            ],
            Some(&setup.client),
        )
        .await;
    crate::helpers::assert_oauth_error(response, 400, "invalid_scope").await;

    // And given back, mcp:read returns with the next refresh.
    write_implies_read(&app, &setup.admin_token).await;
    let again = refresh(refreshed["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(again["scope"], "mcp:read mcp:write");
}

#[tokio::test]
async fn an_admin_sets_implications_on_the_console_scope_page() {
    let app = spawn_app().await;
    let mut console = crate::helpers::console::console_admin(&app).await;
    let description = "Change data and use tools that act on your behalf";
    let to = console
        .submit_ok(
            "/scopes/mcp%3Awrite",
            &[("description", description), ("implies", "mcp:read")],
        )
        .await;
    assert!(to.ends_with("/admin/scopes/mcp%3Awrite?done=saved"), "{to}");
    let (status, html) = console.page("/scopes/mcp%3Awrite").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"name="implies" type="text""#) && html.contains(r#"value="mcp:read""#),
        "{html}"
    );
    assert!(html.contains("Now it includes mcp:read."), "{html}");
    // This node closes tokens under the new hierarchy at once.
    assert_eq!(
        warden::oauth::scope::implications(&app.state).direct("mcp:write"),
        ["mcp:read"]
    );
    let token = app.admin_token().await;
    assert_eq!(
        get_scope(&app, &token, "mcp:write").await["implies"],
        json!(["mcp:read"])
    );

    // A cycle: 422 beside the field, nothing stored.
    let response = console
        .submit(
            "/scopes/mcp%3Aread",
            &[("description", "Read"), ("implies", "mcp:write")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("field-invalid") && html.contains("cycle"),
        "{html}"
    );
    assert_eq!(
        get_scope(&app, &token, "mcp:read").await["implies"],
        json!([])
    );
    assert_ne!(
        get_scope(&app, &token, "mcp:read").await["description"],
        "Read"
    );
}

#[tokio::test]
async fn an_exchanged_token_carries_the_closure_of_what_was_exchanged() {
    use crate::helpers::exchange::{B, exchange, issued, registry};
    let app = spawn_app().await;
    let fx = registry(&app).await;
    write_implies_read(&app, &fx.admin_token).await;
    let subject = tokens(&app, &mut Browser::new(), &fx.ide, "mcp:write").await;
    assert_eq!(subject["scope"], "mcp:read mcp:write");
    let body = issued(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("resource", B), ("scope", "mcp:write")],
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "mcp:read mcp:write");
    assert_eq!(decode_claims(access(&body))["scope"], "mcp:read mcp:write");
    let introspected = app.introspect(&fx.b_server, access(&body)).await;
    assert_eq!(introspected["scope"], "mcp:read mcp:write");
}
