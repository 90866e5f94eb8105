//! Admin changes (API and CLI), client registrations and deletions, and key rotations in
//! the audit log: each with its actor, the changed fields before and after, and no secret;
//! a change that fails writes no event.

use reqwest::Method;
use serde_json::{Value, json};

use super::{assert_no_secret, events};
use crate::helpers::clients::register;
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, spawn_app, stdout_json};

const URI: &str = "https://mcp.example.com/mcp";

fn admin_actor(token: &str) -> Value {
    json!({"kind": "admin_client", "id": decode_claims(token)["client_id"]})
}

async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Value {
    let body = (!body.is_null()).then_some(body);
    let (status, answer) = app.admin_call(token, method, path, body).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    answer
}

/// The one event of `kind` (asserting there is exactly one).
async fn only(app: &TestApp, token: &str, kind: &str) -> Value {
    let found = events(app, token, &format!("?kind={kind}")).await;
    assert_eq!(found.len(), 1, "{kind}: {found:?}");
    found[0].clone()
}

#[tokio::test]
async fn admin_api_changes_are_audited_with_the_changed_fields_and_no_secret() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let actor = admin_actor(&token);

    // Resources.
    let resource = call(
        &app,
        &token,
        Method::POST,
        "/resources",
        json!({"uri": URI, "name": "MCP", "scopes": ["mcp:read"]}),
    )
    .await;
    let id = resource["id"].as_str().unwrap().to_owned();
    let created = only(&app, &token, "resource.created").await;
    assert_eq!(
        (&created["actor"], &created["resource"]),
        (&actor, &json!(URI))
    );
    assert_eq!(
        created["details"]["name"],
        json!({"before": null, "after": "MCP"})
    );
    call(
        &app,
        &token,
        Method::PATCH,
        &format!("/resources/{id}"),
        json!({"name": "Docs MCP"}),
    )
    .await;
    call(
        &app,
        &token,
        Method::POST,
        &format!("/resources/{id}/disable"),
        Value::Null,
    )
    .await;
    let updates = events(&app, &token, "?kind=resource.updated").await;
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert_eq!(
        updates[1]["details"],
        json!({"name": {"before": "MCP", "after": "Docs MCP"}})
    );
    assert_eq!(
        updates[0]["details"],
        json!({"enabled": {"before": true, "after": false}})
    );

    // Clients: the secret is in the answer, never in the log.
    let client = call(
        &app,
        &token,
        Method::POST,
        "/clients",
        json!({"name": "agent",
        "grant_types": ["client_credentials"], "resources": [URI]}),
    )
    .await;
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let created = events(
        &app,
        &token,
        &format!("?kind=client.created&client={client_id}"),
    )
    .await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["actor"], actor);
    assert_eq!(created[0]["details"]["name"]["after"], "agent");
    assert!(created[0]["details"].get("client_secret").is_none());
    call(
        &app,
        &token,
        Method::POST,
        &format!("/clients/{client_id}/disable"),
        Value::Null,
    )
    .await;
    let updated = only(&app, &token, "client.updated").await;
    assert_eq!(
        updated["details"],
        json!({"enabled": {"before": true, "after": false}})
    );
    call(
        &app,
        &token,
        Method::DELETE,
        &format!("/clients/{client_id}"),
        Value::Null,
    )
    .await;
    let deleted = only(&app, &token, "client.deleted").await;
    assert_eq!(
        (&deleted["actor"], &deleted["client_id"]),
        (&actor, &json!(client_id))
    );
    assert_eq!(
        deleted["details"]["name"],
        json!({"before": "agent", "after": null})
    );

    // Users: that a password changed, never the password or its hash.
    let password = "first password of bob";
    let user = call(
        &app,
        &token,
        Method::POST,
        "/users",
        json!({"username": "bob", "password": password}),
    )
    .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let created = only(&app, &token, "user.created").await;
    assert_eq!(
        (
            &created["subject"],
            &created["details"]["username"]["after"]
        ),
        (&json!(user_id), &json!("bob"))
    );
    let new_password = "second password of bob";
    call(
        &app,
        &token,
        Method::PATCH,
        &format!("/users/{user_id}"),
        json!({"password": new_password}),
    )
    .await;
    let updated = only(&app, &token, "user.updated").await;
    assert_eq!(
        updated["details"],
        json!({"password": "changed", "sessions": "ended", "grants": "revoked"})
    );
    call(
        &app,
        &token,
        Method::DELETE,
        &format!("/users/{user_id}"),
        Value::Null,
    )
    .await;
    assert_eq!(only(&app, &token, "user.deleted").await["subject"], user_id);

    // Scopes.
    call(
        &app,
        &token,
        Method::POST,
        "/scopes",
        json!({"name": "files:read", "description": "Read files"}),
    )
    .await;
    call(
        &app,
        &token,
        Method::PATCH,
        "/scopes/files:read",
        json!({"is_default": true}),
    )
    .await;
    call(
        &app,
        &token,
        Method::DELETE,
        "/scopes/files:read",
        Value::Null,
    )
    .await;
    let updated = only(&app, &token, "scope.updated").await;
    assert_eq!(
        updated["details"],
        json!({"scope": "files:read", "is_default": {"before": false, "after": true}})
    );
    assert_eq!(only(&app, &token, "scope.deleted").await["actor"], actor);

    // Deleting the resource last (no client names it any more).
    call(
        &app,
        &token,
        Method::DELETE,
        &format!("/resources/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(
        only(&app, &token, "resource.deleted").await["resource"],
        URI
    );

    let hashes = [password, new_password, &secret];
    assert_no_secret(&app, &token, &hashes).await;
    let text = serde_json::to_string(&events(&app, &token, "").await).unwrap();
    assert!(!text.contains("$argon2"), "a password hash in {text}");
}

#[tokio::test]
async fn a_change_that_fails_writes_no_event() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let resource = call(
        &app,
        &token,
        Method::POST,
        "/resources",
        json!({"uri": URI, "name": "MCP", "scopes": ["mcp:read"]}),
    )
    .await;
    let id = resource["id"].as_str().unwrap();
    let before = events(&app, &token, "").await;
    for (method, path, body, status) in [
        // Validation: nothing written at all.
        (
            Method::PATCH,
            format!("/resources/{id}"),
            json!({"scopes": ["no:such"]}),
            422,
        ),
        (
            Method::POST,
            "/users".to_owned(),
            json!({"username": "eve", "password": "short"}),
            422,
        ),
        // A unique violation inside the write's transaction: rolled back with its event.
        (
            Method::POST,
            "/resources".to_owned(),
            json!({"uri": URI, "name": "again", "scopes": ["mcp:read"]}),
            409,
        ),
        (
            Method::DELETE,
            "/clients/nobody".to_owned(),
            Value::Null,
            404,
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (got, answer) = app.admin_call(&token, method, &path, body).await;
        assert_eq!(got, status, "{path}: {answer}");
    }
    assert_eq!(events(&app, &token, "").await, before);
}

#[tokio::test]
async fn cli_changes_and_key_rotations_are_audited_as_the_cli_and_logged_when_asked() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let created = stdout_json(&app.cli(&[
        "resource", "create", "--uri", URI, "--name", "MCP", "--scopes", "mcp:read",
    ]));
    let event = only(&app, &token, "resource.created").await;
    assert_eq!(event["actor"], json!({"kind": "cli"}));
    assert_eq!(event["resource"], created["uri"]);

    // With WARDEN_AUDIT_LOG=1 the command logs the event too, as one JSON line.
    let mut env = app.env.clone();
    env.insert("WARDEN_AUDIT_LOG".into(), "1".into());
    env.insert("WARDEN_LOG_FORMAT".into(), "json".into());
    let output = crate::helpers::warden_command(&env)
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    let key = stdout_json(&output);
    let rotated = only(&app, &token, "key.rotated").await;
    assert_eq!(rotated["actor"], json!({"kind": "cli"}));
    assert_eq!(rotated["details"]["kid"], key["kid"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line: Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["target"] == "audit")
        .unwrap_or_else(|| panic!("no audit line in {stderr}"));
    assert_eq!(
        (&line["kind"], &line["id"]),
        (&json!("key.rotated"), &rotated["id"])
    );
    assert!(!stderr.contains("private"), "{stderr}");
}

#[tokio::test]
async fn registrations_and_their_deletions_are_audited_without_credentials() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let registered = register(
        &app,
        &json!({"client_name": "Native App",
        "redirect_uris": ["http://127.0.0.1:7777/callback"],
        "grant_types": ["authorization_code", "refresh_token"], "application_type": "native"}),
    )
    .await;
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    let event = only(&app, &token, "client.registered").await;
    assert_eq!(
        (&event["actor"], &event["source"]),
        (&json!({"kind": "anonymous"}), &json!("127.0.0.1"))
    );
    assert_eq!(
        (&event["client_id"], &event["details"]["name"]),
        (&json!(client_id), &json!("Native App"))
    );
    assert_eq!(event["details"]["registration"], "dynamic");

    // RFC 7592: the client deletes itself.
    let uri = registered["registration_client_uri"].as_str().unwrap();
    let rat = registered["registration_access_token"].as_str().unwrap();
    let deleted = app.http.delete(uri).bearer_auth(rat).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    let event = only(&app, &token, "client.deleted").await;
    assert_eq!(event["actor"], json!({"kind": "client", "id": client_id}));

    // The clean-up sweep deletes one never used: Warden itself is the actor.
    let abandoned = register(
        &app,
        &json!({"client_name": "Abandoned",
        "redirect_uris": ["http://127.0.0.1:7777/callback"], "application_type": "native",
        "token_endpoint_auth_method": "none"}),
    )
    .await;
    app.clock.advance(86_401);
    let now = crate::helpers::assertions::now(&app);
    let swept = app
        .state
        .store
        .delete_abandoned_registrations(now - 86_400, now)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    let token = app.admin_token().await;
    let deleted = events(&app, &token, "?kind=client.deleted&actor=system").await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0]["client_id"], abandoned["client_id"]);

    let secrets: Vec<&str> = [&registered, &abandoned]
        .iter()
        .flat_map(|r| {
            [
                r["client_secret"].as_str(),
                r["registration_access_token"].as_str(),
            ]
        })
        .flatten()
        .collect();
    assert!(secrets.len() >= 3, "{secrets:?}");
    assert_no_secret(&app, &token, &secrets).await;
}

#[tokio::test]
async fn provider_exchange_and_domain_policy_changes_are_audited_without_the_provider_secret() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let actor = admin_actor(&token);
    let secret = "provider-secret-Zq81mW";
    call(
        &app,
        &token,
        Method::POST,
        "/upstream-providers",
        json!({"id": "corp", "kind": "oidc",
        "display_name": "Corp", "issuer": "https://idp.example", "client_id": "c",
        "client_secret": secret}),
    )
    .await;
    call(
        &app,
        &token,
        Method::POST,
        "/upstream-providers/corp/disable",
        Value::Null,
    )
    .await;
    call(
        &app,
        &token,
        Method::DELETE,
        "/upstream-providers/corp",
        Value::Null,
    )
    .await;
    let created = only(&app, &token, "provider.created").await;
    assert_eq!(
        (&created["actor"], &created["details"]["provider"]),
        (&actor, &json!("corp"))
    );
    assert_eq!(
        created["details"]["client_id"],
        json!({"before": null, "after": "c"})
    );
    let updated = only(&app, &token, "provider.updated").await;
    assert_eq!(
        updated["details"],
        json!({"provider": "corp", "enabled": {"before": true, "after": false}})
    );
    assert_eq!(only(&app, &token, "provider.deleted").await["actor"], actor);

    call(
        &app,
        &token,
        Method::PUT,
        "/metadata-domains/apps.example.com",
        json!({"policy": "trusted"}),
    )
    .await;
    call(
        &app,
        &token,
        Method::PUT,
        "/metadata-domains/apps.example.com",
        json!({"policy": "blocked"}),
    )
    .await;
    call(
        &app,
        &token,
        Method::DELETE,
        "/metadata-domains/apps.example.com",
        Value::Null,
    )
    .await;
    let set = events(&app, &token, "?kind=metadata_domain.set").await;
    assert_eq!(
        set[0]["details"],
        json!({"domain": "apps.example.com",
        "policy": {"before": "trusted", "after": "blocked"}})
    );
    assert_eq!(
        only(&app, &token, "metadata_domain.forgotten").await["actor"],
        actor
    );

    let a = call(
        &app,
        &token,
        Method::POST,
        "/resources",
        json!({"uri": URI, "name": "A", "scopes": ["mcp:read"]}),
    )
    .await;
    call(
        &app,
        &token,
        Method::POST,
        "/resources",
        json!({"uri": "https://api.example.com/v1", "name": "B", "scopes": ["mcp:read"]}),
    )
    .await;
    let path = format!("/resources/{}/downstreams", a["id"].as_str().unwrap());
    call(
        &app,
        &token,
        Method::PUT,
        &path,
        json!([{"target": "https://api.example.com/v1"}]),
    )
    .await;
    let linked = only(&app, &token, "downstreams.replaced").await;
    assert_eq!(linked["resource"], URI);
    assert_eq!(linked["details"]["downstreams"]["before"], json!([]));
    assert_eq!(
        linked["details"]["downstreams"]["after"][0]["target"],
        "https://api.example.com/v1"
    );

    let issuer = call(
        &app,
        &token,
        Method::POST,
        "/trusted-issuers",
        json!({
        "issuer": "https://idp.example", "jwks_uri": "https://idp.example/jwks.json",
        "audience": URI}),
    )
    .await;
    let id = issuer["id"].as_str().unwrap();
    call(
        &app,
        &token,
        Method::DELETE,
        &format!("/trusted-issuers/{id}"),
        Value::Null,
    )
    .await;
    let created = only(&app, &token, "trusted_issuer.created").await;
    assert_eq!(created["details"]["issuer"]["after"], "https://idp.example");
    let deleted = only(&app, &token, "trusted_issuer.deleted").await;
    assert_eq!(
        deleted["details"]["issuer"]["before"],
        "https://idp.example"
    );

    assert_no_secret(&app, &token, &[secret]).await;
}

#[tokio::test]
async fn the_first_use_of_a_metadata_document_is_its_registration_and_is_audited_once() {
    use crate::helpers::browser::{Browser, authorize_url, interactive, pkce};
    use crate::helpers::clients::{document, public};
    use crate::helpers::doc_server::{Doc, DocServer};
    let docs = DocServer::start().await;
    let app = crate::helpers::spawn_app_with(crate::helpers::upstream::LOOPBACK).await;
    let setup = interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    for _ in 0..2 {
        let url = authorize_url(&app, &public(&client_id), &pkce().challenge, &[]);
        let page = Browser::new().get(&url).await;
        assert_eq!(page.status(), 303, "sent to sign in");
    }
    let query = format!("?kind=client.registered&client={}", urlencode(&client_id));
    let registered = events(&app, &setup.admin_token, &query).await;
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert_eq!(registered[0]["actor"], json!({"kind": "anonymous"}));
    assert_eq!(
        registered[0]["details"]["registration"],
        "metadata_document"
    );
    assert_eq!(registered[0]["details"]["name"], "Doc Client");
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
