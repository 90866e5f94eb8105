//! `warden scope|resource|client|admin …`: the stable, scriptable CLI forms, on the same
//! database as a running server, which sees the changes without a restart.

use crate::helpers::{TestClient, spawn_app, stdout_json};

#[tokio::test]
async fn an_operator_registers_a_resource_and_an_agent_by_cli_and_the_server_issues_tokens() {
    let app = spawn_app().await;
    let scope = stdout_json(&app.cli(&[
        "scope",
        "create",
        "--name",
        "mcp:tools:deploy",
        "--description",
        "Deploy",
    ]));
    assert_eq!(scope["name"], "mcp:tools:deploy");

    let resource = stdout_json(&app.cli(&[
        "resource",
        "create",
        "--uri",
        "https://MCP.example.com/",
        "--name",
        "Example",
        "--scopes",
        "mcp:read mcp:write mcp:tools:deploy",
    ]));
    assert_eq!(resource["uri"], "https://mcp.example.com");
    assert_eq!(resource["default_scopes"], serde_json::json!(["mcp:read"]));

    let client = stdout_json(&app.cli(&[
        "client",
        "create",
        "--name",
        "deploy bot",
        "--grant-type",
        "client_credentials",
        "--resource",
        "https://mcp.example.com",
        "--scope",
        "mcp:read mcp:tools:deploy",
    ]));
    let agent = TestClient::from_view(&client);
    assert_eq!(agent.client_secret.len(), 43);

    // The running server sees all of it at once.
    let token = app
        .client_credentials(
            &agent,
            Some("https://mcp.example.com/"),
            Some("mcp:tools:deploy"),
        )
        .await;
    assert_eq!(token["scope"], "mcp:tools:deploy");

    let listed = stdout_json(&app.cli(&["client", "list"]));
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == client["client_id"])
        .unwrap();
    assert!(
        entry.get("client_secret").is_none(),
        "a secret is shown once"
    );

    let id = resource["id"].as_str().unwrap();
    let disabled = stdout_json(&app.cli(&["resource", "disable", id]));
    assert_eq!(disabled["enabled"], false);
    // The CLI is another process: the server's cached resource row (WARDEN_CACHE_TTL,
    // 5 s) may still be served until it expires, never after.
    let form = [("grant_type", "client_credentials")];
    app.clock.advance(5);
    assert_eq!(
        app.post_form("/token", &form, Some(&agent)).await.status(),
        400
    );
}

#[tokio::test]
async fn cli_validation_errors_name_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let output = app.cli(&[
        "resource",
        "create",
        "--uri",
        "https://x.example.com/#frag",
        "--name",
        "x",
        "--scopes",
        "mcp:read",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("uri"), "{stderr}");
    assert!(output.stdout.is_empty());
    let output = app.cli(&[
        "scope",
        "create",
        "--name",
        "bad scope",
        "--description",
        "d",
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("name"));
    assert_eq!(
        stdout_json(&app.cli(&["resource", "list"]))
            .as_array()
            .unwrap()
            .len(),
        1,
        "only the built-in one"
    );
}

#[tokio::test]
async fn admin_bootstrap_prints_credentials_that_open_the_admin_api() {
    let app = spawn_app().await;
    let out = stdout_json(&app.cli(&["admin", "bootstrap"]));
    let admin = TestClient::from_view(&out["client"]);
    assert_eq!(out["resource"], format!("{}/admin", app.issuer));
    let token = app.client_credentials(&admin, None, None).await;
    assert_eq!(token["scope"], "warden:admin");
    let (status, _) = app
        .admin_call(
            token["access_token"].as_str().unwrap(),
            reqwest::Method::GET,
            "/clients",
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_cli_registers_a_private_key_jwt_agent_with_its_keys() {
    use crate::helpers::assertions::{claims, es256_key, now, sign_es256};

    let app = spawn_app().await;
    let resource = stdout_json(&app.cli(&[
        "resource",
        "create",
        "--uri",
        "https://mcp.example.com",
        "--name",
        "Example",
        "--scopes",
        "mcp:read",
    ]));
    let key = es256_key("cli-key");
    let jwks = serde_json::json!({"keys": [key.public]}).to_string();
    let base = [
        "client",
        "create",
        "--name",
        "jwt bot",
        "--grant-type",
        "client_credentials",
        "--auth-method",
        "private_key_jwt",
    ];
    for (extra, field) in [
        (&[][..], "jwks"),
        (&["--jwks", "{not json"][..], "--jwks"),
        (
            &["--jwks-uri", "http://keys.example.com/jwks"][..],
            "jwks_uri",
        ),
    ] {
        let output = app.cli(&[&base[..], extra].concat());
        assert!(!output.status.success(), "{extra:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(field), "{extra:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    let client = stdout_json(&app.cli(&[&base[..], &["--jwks", &jwks]].concat()));
    assert!(client.get("client_secret").is_none(), "{client}");
    assert_eq!(client["jwks"]["keys"][0]["kid"], "cli-key");
    let client_id = client["client_id"].as_str().unwrap();

    let t = now(&app);
    let assertion = sign_es256(&key, &claims(client_id, &app.issuer, Some(t + 60), t));
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
        ("resource", resource["uri"].as_str().unwrap()),
    ];
    let response = app.post_form("/token", &form, None).await;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "mcp:read");
}
