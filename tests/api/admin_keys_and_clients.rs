//! What an admin console needs beyond CRUD: signing keys listed and rotated through the
//! admin API (the new key published by this node at once), client listings filtered by
//! use, and a confidential client's secret replaced (the old one refused at once).

use reqwest::Method;
use serde_json::{Value, json};
use warden::clock::Clock;

use crate::helpers::clients::register;
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, TestClient, assert_oauth_error, setup, spawn_app, stdout_json};

/// The `kid` in a JWT's header.
fn kid_of(jwt: &str) -> String {
    use base64::Engine;
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    let jwks = app.get_json("/jwks.json").await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn keys(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = app.admin_call(token, Method::GET, "/keys", None).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// POSTs a raw body to the rotation endpoint.
async fn rotate_raw(app: &TestApp, token: &str, body: &'static str) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/admin/v1/keys/rotate", app.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn audit_events(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let (status, page) = app
        .admin_call(token, Method::GET, &format!("/audit?kind={kind}"), None)
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_key_rotated_through_the_api_is_listed_and_published_by_this_node_at_once() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let now = app.clock.now();
    let before = keys(&app, &token).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["status"], "signing");
    let first = before[0]["kid"].as_str().unwrap().to_owned();

    // No body: the configured delay. The key is in this node's JWKS before the next key
    // refresh (the test clock stands still and the interval is far away).
    let (status, key) = app
        .admin_call(&token, Method::POST, "/keys/rotate", None)
        .await;
    assert_eq!(status, 201, "{key}");
    let delay = app.state.settings.key_activation_delay;
    assert_eq!(key["status"], "published");
    assert_eq!(key["activate_at"], now + delay);
    assert_eq!(key["alg"], "ES256");
    let second = key["kid"].as_str().unwrap().to_owned();
    assert!(published_kids(&app).await.contains(&second));
    let listed = keys(&app, &token).await;
    let statuses: Vec<(&Value, &Value)> =
        listed.iter().map(|k| (&k["kid"], &k["status"])).collect();
    assert_eq!(
        statuses,
        [
            (&json!(first), &json!("signing")),
            (&json!(second), &json!("published"))
        ]
    );
    // Tokens are still signed by the old key until the new one activates.
    let s = setup(&app).await;
    let jwt = app.client_credentials(&s.agent, None, None).await;
    assert_eq!(kid_of(jwt["access_token"].as_str().unwrap()), first);

    // With no delay the new key signs this node's next token.
    let (status, third) = app
        .admin_call(
            &token,
            Method::POST,
            "/keys/rotate",
            Some(json!({"activate_in": 0})),
        )
        .await;
    assert_eq!(status, 201, "{third}");
    assert_eq!(third["status"], "signing");
    let third = third["kid"].as_str().unwrap().to_owned();
    let jwt = app.client_credentials(&s.server, None, None).await;
    assert_eq!(kid_of(jwt["access_token"].as_str().unwrap()), third);
    assert_eq!(
        keys(&app, &token)
            .await
            .iter()
            .map(|k| k["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        // Ordered by activation: the first key and the third both activated at this
        // frozen second, and the later-made of the two signs.
        ["retired", "signing", "published"]
    );

    // Each rotation is audited as the admin client, with the key's id but no key material.
    let events = audit_events(&app, &token, "key.rotated").await;
    assert_eq!(events.len(), 2, "{events:?}");
    let admin = decode_claims(&token)["client_id"].clone();
    for event in &events {
        assert_eq!(event["actor"], json!({"kind": "admin_client", "id": admin}));
        let text = event.to_string();
        assert!(
            !text.contains("\"d\"") && !text.contains("private"),
            "{text}"
        );
    }
    assert_eq!(events[0]["details"]["kid"], json!(third));
}

#[tokio::test]
async fn a_rotation_with_a_bad_body_is_refused_and_adds_no_key() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    for (body, status, field) in [
        (r#"{"activate_in": -1}"#, 422, Some("activate_in")),
        (r#"{"activate_in": "soon"}"#, 422, Some("activate_in")),
        (r#"{"activate_in": 1.5}"#, 422, Some("activate_in")),
        (r#"{"activate": 60}"#, 422, Some("body")),
        (r#"{"activate_in": "#, 400, None),
        ("[]", 422, Some("body")),
    ] {
        let (got, answer) = rotate_raw(&app, &token, body).await;
        assert_eq!(got, status, "{body}: {answer}");
        match field {
            Some(field) => assert_eq!(answer["field"], field, "{body}: {answer}"),
            None => assert_eq!(answer["error"], "invalid_request", "{body}: {answer}"),
        }
    }
    assert_eq!(keys(&app, &token).await.len(), 1);
    assert_eq!(published_kids(&app).await.len(), 1);
    assert!(audit_events(&app, &token, "key.rotated").await.is_empty());

    // And the endpoints are the admin API's: no token, no key.
    let response = app
        .http
        .post(format!("{}/admin/v1/keys/rotate", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(keys(&app, &token).await.len(), 1);
}

async fn client_ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let (status, page) = app
        .admin_call(
            token,
            Method::GET,
            &format!("/clients?limit=200&{query}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_owned())
        .collect()
}

/// An admin API token from `admin`'s one live grant (a new admin client per token would
/// be used at every call).
async fn fresh_admin_token(app: &TestApp, admin: &TestClient) -> String {
    let resource = app.state.settings.issuer.endpoint("/admin");
    let body = app.client_credentials(admin, Some(&resource), None).await;
    body["access_token"].as_str().unwrap().to_owned()
}

fn agent(resource_uri: &str, name: &str) -> Value {
    json!({"name": name, "grant_types": ["client_credentials"], "resources": [resource_uri]})
}

#[tokio::test]
async fn clients_are_listed_by_last_use_and_by_whether_they_ever_obtained_a_grant() {
    let app = spawn_app().await;
    // One admin client throughout, so that the admin API's own client is used only at t0.
    let admin = app.admin_client().await;
    let t0 = app.clock.now();
    let token = fresh_admin_token(&app, &admin).await;
    let resource = app
        .create_resource(
            &token,
            json!({"uri": "https://mcp.example.com/mcp", "name": "MCP", "scopes": ["mcp:read"]}),
        )
        .await;
    let resource_uri = resource["uri"].as_str().unwrap();
    let first = app
        .create_client(&token, agent(resource_uri, "first"))
        .await;
    // The first client's first token is its first use; an hour later another client is used.
    app.client_credentials(&first, None, None).await;
    app.clock.advance(3600);
    let token = fresh_admin_token(&app, &admin).await;
    let late = app.create_client(&token, agent(resource_uri, "late")).await;
    app.client_credentials(&late, None, None).await;
    // A second token from the same grant records nothing new (the token path writes
    // nothing): the first client's last use stays its first token.
    app.clock.advance(60);
    app.client_credentials(&first, None, None).await;
    let token = &fresh_admin_token(&app, &admin).await;
    // Two clients that never got a token: one an admin made, one that registered itself.
    let idle = app.create_client(token, agent(resource_uri, "idle")).await;
    let registered = register(
        &app,
        &json!({"client_name": "Abandoned", "redirect_uris": ["http://127.0.0.1:7777/cb"],
            "application_type": "native", "token_endpoint_auth_method": "none"}),
    )
    .await;
    let dynamic = registered["client_id"].as_str().unwrap().to_owned();

    let all = client_ids(&app, token, "").await;
    assert!(all.contains(&idle.client_id) && all.contains(&dynamic));

    let mid = t0 + 1800;
    let before = client_ids(&app, token, &format!("last_used_before={mid}")).await;
    assert!(before.contains(&first.client_id), "{before:?}");
    assert!(!before.contains(&late.client_id), "{before:?}");
    assert!(
        !before.contains(&idle.client_id),
        "never used is not used before: {before:?}"
    );

    let since = client_ids(&app, token, &format!("used_since={mid}")).await;
    assert_eq!(since, [late.client_id.as_str()]);
    // `used_since` is inclusive, `last_used_before` strict.
    let at = client_ids(&app, token, &format!("used_since={}", t0 + 3600)).await;
    assert_eq!(at, [late.client_id.as_str()]);
    let strict = client_ids(&app, token, &format!("last_used_before={}", t0 + 3600)).await;
    assert!(!strict.contains(&late.client_id), "{strict:?}");

    // The admin client used the API (it has a grant) and is never among the never-used.
    let never = client_ids(&app, token, "never_authorized=true").await;
    assert!(
        never.contains(&idle.client_id) && never.contains(&dynamic),
        "{never:?}"
    );
    assert!(!never.contains(&first.client_id) && !never.contains(&late.client_id));
    let abandoned = client_ids(&app, token, "registration=dynamic&never_authorized=true").await;
    assert_eq!(abandoned, [dynamic.as_str()]);
    let used = client_ids(&app, token, "never_authorized=false").await;
    assert!(used.contains(&first.client_id) && used.contains(&late.client_id));
    assert!(!used.contains(&idle.client_id) && !used.contains(&dynamic));

    // The listing and the client's own view carry the last use, absent when there is none.
    let (_, page) = app
        .admin_call(token, Method::GET, "/clients?limit=200", None)
        .await;
    let view = |id: &str| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(view(&first.client_id)["last_used_at"], t0);
    assert_eq!(view(&late.client_id)["last_used_at"], t0 + 3600);
    assert!(view(&idle.client_id).get("last_used_at").is_none());
    let (status, one) = app
        .admin_call(
            token,
            Method::GET,
            &format!("/clients/{}", late.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["last_used_at"], t0 + 3600);

    // Pages follow the filter: the cursor carries on within the filtered set.
    let (_, first) = app
        .admin_call(
            token,
            Method::GET,
            "/clients?limit=1&never_authorized=true",
            None,
        )
        .await;
    let next = first["next"].as_str().unwrap();
    let (_, second) = app
        .admin_call(
            token,
            Method::GET,
            &format!("/clients?limit=1&never_authorized=true&after={next}"),
            None,
        )
        .await;
    let mut paged = vec![
        first["items"][0]["client_id"].as_str().unwrap().to_owned(),
        second["items"][0]["client_id"].as_str().unwrap().to_owned(),
    ];
    paged.sort();
    let mut expected = vec![idle.client_id.clone(), dynamic.clone()];
    expected.sort();
    assert_eq!(paged, expected);

    // The CLI filters alike.
    let listed = stdout_json(&app.cli(&["client", "list", "--never-authorized"]));
    let mut cli_ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    cli_ids.sort();
    assert_eq!(cli_ids, expected);
}

#[tokio::test]
async fn bad_client_filters_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    for (query, field) in [
        ("last_used_before=-1", "last_used_before"),
        ("last_used_before=yesterday", "last_used_before"),
        ("used_since=-5", "used_since"),
        ("used_since=1.5", "used_since"),
        ("never_authorized=maybe", "never_authorized"),
        ("never_authorized=1", "never_authorized"),
        ("registration=robot", "registration"),
    ] {
        let (status, body) = app
            .admin_call(&token, Method::GET, &format!("/clients?{query}"), None)
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
}

async fn token_status(app: &TestApp, client: &TestClient, resource: &str) -> reqwest::Response {
    app.post_form(
        "/token",
        &[("grant_type", "client_credentials"), ("resource", resource)],
        Some(client),
    )
    .await
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_at_once_and_is_audited_without_it() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let token = &s.admin_token;
    // The agent has just authenticated: this node holds it in its hot cache.
    app.client_credentials(&s.agent, None, None).await;

    let path = format!("/clients/{}/secret", s.agent.client_id);
    let (status, view) = app.admin_call(token, Method::POST, &path, None).await;
    assert_eq!(status, 200, "{view}");
    let secret = view["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, s.agent.client_secret);
    assert_eq!(view["client_id"], s.agent.client_id.as_str());

    assert_oauth_error(
        token_status(&app, &s.agent, &s.resource_uri).await,
        401,
        "invalid_client",
    )
    .await;
    let rotated = TestClient {
        client_id: s.agent.client_id.clone(),
        client_secret: secret.clone(),
    };
    assert_eq!(
        token_status(&app, &rotated, &s.resource_uri).await.status(),
        200
    );
    // The secret is shown once: the client's view never carries it again.
    let (_, shown) = app
        .admin_call(
            token,
            Method::GET,
            &format!("/clients/{}", s.agent.client_id),
            None,
        )
        .await;
    assert!(shown.get("client_secret").is_none(), "{shown}");

    let events = audit_events(&app, token, "client.secret_rotated").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let admin = decode_claims(token)["client_id"].clone();
    assert_eq!(
        events[0]["actor"],
        json!({"kind": "admin_client", "id": admin})
    );
    assert_eq!(events[0]["client_id"], s.agent.client_id.as_str());
    let (_, log) = app
        .admin_call(token, Method::GET, "/audit?limit=200", None)
        .await;
    let log = log.to_string();
    for hidden in [&secret, &s.agent.client_secret] {
        assert!(
            !log.contains(hidden.as_str()),
            "a secret in the audit log: {log}"
        );
    }
    assert!(!log.contains("secret_hash"), "{log}");

    // Through the CLI, too (a client this server has not cached: the CLI cannot tell a
    // SQLite server's cache, which forgets within WARDEN_CACHE_TTL).
    let output = stdout_json(&app.cli(&["client", "rotate-secret", &s.server.client_id]));
    let by_cli = TestClient::from_view(&output);
    assert_ne!(by_cli.client_secret, s.server.client_secret);
    assert_oauth_error(
        token_status(&app, &s.server, &s.resource_uri).await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(
        token_status(&app, &by_cli, &s.resource_uri).await.status(),
        200
    );
    let events = audit_events(&app, token, "client.secret_rotated").await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["actor"], json!({"kind": "cli"}));
}

#[tokio::test]
async fn a_client_without_a_secret_has_none_to_rotate() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let public = app
        .create_client(
            &token,
            json!({"name": "public", "grant_types": ["authorization_code"],
                "redirect_uris": ["http://127.0.0.1:7777/cb"], "token_endpoint_auth_method": "none"}),
        )
        .await;
    let (status, body) = app
        .admin_call(
            &token,
            Method::POST,
            &format!("/clients/{}/secret", public.client_id),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("no secret"),
        "{body}"
    );
    let (_, view) = app
        .admin_call(
            &token,
            Method::GET,
            &format!("/clients/{}", public.client_id),
            None,
        )
        .await;
    assert_eq!(view["token_endpoint_auth_method"], "none");

    let (status, body) = app
        .admin_call(&token, Method::POST, "/clients/nobody/secret", None)
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        audit_events(&app, &token, "client.secret_rotated")
            .await
            .is_empty()
    );
}
