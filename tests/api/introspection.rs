//! RFC 7662 introspection and RFC 7009 revocation.

use warden::clock::Clock;

use crate::helpers::{assert_oauth_error, setup, spawn_app};

#[tokio::test]
async fn the_resource_server_sees_its_tokens_active_with_their_claims() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let token = app
        .client_credentials(&s.agent, None, Some("mcp:read mcp:write"))
        .await;
    let token = token["access_token"].as_str().unwrap();
    let body = app.introspect(&s.server, token).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "mcp:read mcp:write");
    assert_eq!(body["client_id"], s.agent.client_id);
    assert_eq!(body["sub"], s.agent.client_id);
    assert_eq!(body["aud"], s.resource_uri);
    assert_eq!(body["iss"], app.issuer);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["exp"].as_i64().unwrap() > body["iat"].as_i64().unwrap());
}

#[tokio::test]
async fn another_resources_server_learns_nothing() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let other = app
        .create_resource(&s.admin_token, serde_json::json!({"uri": "https://other.example.com", "name": "Other", "scopes": ["mcp:read"]}))
        .await;
    let other_server = app
        .create_client(
            &s.admin_token,
            serde_json::json!({"name": "other server", "grant_types": ["client_credentials"], "served_resources": [other["uri"]]}),
        )
        .await;
    let token = app.client_credentials(&s.agent, None, None).await;
    let body = app
        .introspect(&other_server, token["access_token"].as_str().unwrap())
        .await;
    assert_eq!(body, serde_json::json!({"active": false}));
    // The agent itself serves nothing either.
    let body = app
        .introspect(&s.agent, token["access_token"].as_str().unwrap())
        .await;
    assert_eq!(body, serde_json::json!({"active": false}));
}

#[tokio::test]
async fn expired_garbage_and_foreign_tokens_are_inactive() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let token = app.client_credentials(&s.agent, None, None).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    for garbage in [
        "",
        "x",
        "a.b.c",
        &format!("{token}x"),
        &token.replacen('e', "f", 1),
        &"y".repeat(10_000),
    ] {
        if garbage.is_empty() {
            continue;
        }
        assert_eq!(
            app.introspect(&s.server, garbage).await["active"],
            false,
            "{garbage}"
        );
    }
    app.clock.advance(601);
    assert_eq!(app.introspect(&s.server, &token).await["active"], false);
    let _ = app.clock.now();
}

#[tokio::test]
async fn introspection_requires_client_authentication_and_a_token() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let response = app
        .post_form("/introspect", &[("token", "abc")], None)
        .await;
    assert_oauth_error(response, 401, "invalid_client").await;
    let response = app.post_form("/introspect", &[], Some(&s.server)).await;
    assert_oauth_error(response, 400, "invalid_request").await;
    let response = app
        .post_form(
            "/introspect",
            &[("token", "a"), ("token", "b")],
            Some(&s.server),
        )
        .await;
    assert_oauth_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn revoking_a_token_revokes_its_grant_and_a_new_token_starts_a_new_one() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let first = app.client_credentials(&s.agent, None, None).await;
    let second = app.client_credentials(&s.agent, None, None).await;
    let first = first["access_token"].as_str().unwrap();
    let second = second["access_token"].as_str().unwrap();

    let response = app
        .post_form(
            "/revoke",
            &[("token", first), ("token_type_hint", "access_token")],
            Some(&s.agent),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.introspect(&s.server, first).await["active"], false);
    assert_eq!(
        app.introspect(&s.server, second).await["active"],
        false,
        "same grant"
    );

    let third = app.client_credentials(&s.agent, None, None).await;
    assert_eq!(
        app.introspect(&s.server, third["access_token"].as_str().unwrap())
            .await["active"],
        true
    );
}

#[tokio::test]
async fn unknown_or_foreign_tokens_revoke_as_200_without_effect() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let token = app.client_credentials(&s.agent, None, None).await;
    let token = token["access_token"].as_str().unwrap();
    assert_eq!(
        app.post_form("/revoke", &[("token", "unknown")], Some(&s.agent))
            .await
            .status(),
        200
    );
    // Someone else's token: 200 (nothing to learn), and it stays active.
    assert_eq!(
        app.post_form("/revoke", &[("token", token)], Some(&s.server))
            .await
            .status(),
        200
    );
    assert_eq!(app.introspect(&s.server, token).await["active"], true);
    assert_oauth_error(
        app.post_form("/revoke", &[("token", token)], None).await,
        401,
        "invalid_client",
    )
    .await;
    assert_oauth_error(
        app.post_form("/revoke", &[], Some(&s.agent)).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn an_admin_revokes_a_grant_and_deleting_a_client_kills_its_tokens() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let token = app.client_credentials(&s.agent, None, None).await;
    let token = token["access_token"].as_str().unwrap();
    let (status, grants) = app
        .admin_call(
            &s.admin_token,
            reqwest::Method::GET,
            &format!("/clients/{}/grants", s.agent.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let grant_id = grants["items"][0]["id"].as_str().unwrap();
    let (status, grant) = app
        .admin_call(
            &s.admin_token,
            reqwest::Method::POST,
            &format!("/grants/{grant_id}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(grant["revoked_at"].is_i64());
    assert_eq!(app.introspect(&s.server, token).await["active"], false);

    let fresh = app.client_credentials(&s.agent, None, None).await;
    let fresh = fresh["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(&s.server, fresh).await["active"], true);
    let (status, _) = app
        .admin_call(
            &s.admin_token,
            reqwest::Method::DELETE,
            &format!("/clients/{}", s.agent.client_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.introspect(&s.server, fresh).await["active"], false);
}
