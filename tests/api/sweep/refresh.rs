//! Hostile-input sweep, security.md §5 E (cases 53–61): refresh tokens. Rotation and the
//! revocation of the whole family on reuse, and what a refresh needs: client
//! authentication (a secret or a `private_key_jwt` assertion), a live client and resource,
//! and use within the token's idle lifetime.
//!
//! The grace window (cases 55–56) is `sweep::refresh_grace`; case 57 is
//! `authorization_errors::a_refresh_token_works_only_for_its_own_client_and_only_if_it_exists`.

use josekit::jwk::alg::ec::EcCurve;
use reqwest::Method;
use serde_json::json;

use super::support::{
    OTHER_RESOURCE, assertion_claims, is_active, json_error, jwt_client_tokens, ok_json, refresh,
    refresh_token, register_jwt_client, tokens, with_assertion,
};
use crate::helpers::assertions::{ec_key, sign_es256};
use crate::helpers::browser::{Browser, interactive, pkce};
use crate::helpers::tokens::access;
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, TestClient, spawn_app, spawn_app_with};

/// An admin API call without a body that must succeed (2xx).
async fn admin_ok(app: &TestApp, token: &str, method: Method, path: &str) {
    let (status, answer) = app.admin_call(token, method, path, None).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
}

#[tokio::test]
async fn a_rotated_refresh_token_presented_again_revokes_the_whole_family() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let mut browser = Browser::new();
    let first = tokens(
        &app,
        &setup.client,
        &mut browser,
        &[("scope", "mcp:read mcp:write")],
    )
    .await;
    let rt1 = refresh_token(&first);

    // Case 53 (refresh-rotation-public): the public client refreshes with RT1 and gets a new
    // pair. Case 58 (refresh-no-scope-widening), its allowed half: the same scope, in
    // another order, is fine.
    let second =
        ok_json(refresh(&app, &setup.client, rt1, &[("scope", "mcp:write mcp:read")]).await).await;
    let rt2 = refresh_token(&second);
    assert_ne!(rt2, rt1);
    assert_ne!(access(&second), access(&first));
    assert!(is_active(&app, &setup.server, access(&second)).await);

    // Case 54 (refresh-reuse-detection): RT1 again, outside the grace window: invalid_grant,
    // and the whole family goes: RT2 no longer refreshes, AT1 and AT2 are inactive.
    app.clock.advance(11);
    json_error(
        refresh(&app, &setup.client, rt1, &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    json_error(
        refresh(&app, &setup.client, rt2, &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    for token in [&first, &second] {
        assert_eq!(
            app.introspect(&setup.server, access(token)).await,
            json!({"active": false})
        );
    }
}

#[tokio::test]
async fn a_refresh_needs_client_authentication_a_live_client_and_resource_and_recent_use() {
    let app = spawn_app_with(&[("WARDEN_REFRESH_TOKEN_TTL", "1h")]).await;
    let setup = interactive(&app, false).await;
    app.create_resource(
        &setup.admin_token,
        json!({"uri": OTHER_RESOURCE, "name": "Other MCP", "scopes": ["mcp:read"]}),
    )
    .await;
    let mut browser = Browser::new();

    // Case 61 (refresh-idle-expiry): WARDEN_REFRESH_TOKEN_TTL is an idle limit, since every
    // refresh rotates to a token with a fresh lifetime: used just within the hour, a token
    // works (twice, so the family outlives one lifetime); unused for the hour, it is
    // invalid_grant.
    let first = tokens(&app, &setup.client, &mut browser, &[]).await;
    app.clock.advance(3599);
    let second = ok_json(refresh(&app, &setup.client, refresh_token(&first), &[]).await).await;
    app.clock.advance(3599);
    let third = ok_json(refresh(&app, &setup.client, refresh_token(&second), &[]).await).await;
    app.clock.advance(3601);
    json_error(
        refresh(&app, &setup.client, refresh_token(&third), &[]).await,
        400,
        "invalid_grant",
    )
    .await;

    // The admin token of the setup has expired meanwhile.
    let admin_token = app.admin_token().await;

    // Case 59 (refresh-confidential-requires-auth): a confidential client's refresh without
    // its secret, or with a wrong one, is 401 invalid_client; the token is not spent.
    let token = tokens(&app, &setup.client, &mut browser, &[]).await;
    let rt = refresh_token(&token);
    let named_only = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", setup.client.client_id.as_str()),
    ];
    json_error(
        app.post_form("/token", &named_only, None).await,
        401,
        "invalid_client",
    )
    .await;
    let wrong = TestClient {
        client_secret: format!("{}x", &setup.client.client_secret[..42]),
        ..setup.client.clone()
    };
    json_error(refresh(&app, &wrong, rt, &[]).await, 401, "invalid_client").await;
    let token = ok_json(refresh(&app, &setup.client, rt, &[]).await).await;
    // The same for a private_key_jwt client: no client_assertion (only its id, or a
    // client_secret it never had) is invalid_client; a fresh assertion refreshes.
    let key = ec_key(EcCurve::P256, "jwt-1");
    let jwt_client = register_jwt_client(&app, &[&key]).await;
    let jwt_tokens = jwt_client_tokens(&app, &mut browser, &jwt_client, &key).await;
    let jwt_rt = refresh_token(&jwt_tokens);
    let bare = [
        ("grant_type", "refresh_token"),
        ("refresh_token", jwt_rt),
        ("client_id", jwt_client.as_str()),
    ];
    json_error(
        app.post_form("/token", &bare, None).await,
        401,
        "invalid_client",
    )
    .await;
    let made_up = pkce().verifier;
    let posing = [&bare[..], &[("client_secret", made_up.as_str())]].concat();
    json_error(
        app.post_form("/token", &posing, None).await,
        401,
        "invalid_client",
    )
    .await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", jwt_rt)];
    let assertion = sign_es256(&key, &assertion_claims(&app, &jwt_client));
    ok_json(with_assertion(&app, &form, &assertion).await).await;

    // Case 60 (refresh-after-user-disabled), the client and resource halves (the user half
    // is authorization_errors::disabling_a_user_ends_their_sessions_and_their_tokens):
    // a disabled client cannot authenticate (401 invalid_client)...
    let client_path = format!("/clients/{}", setup.client.client_id);
    admin_ok(
        &app,
        &admin_token,
        Method::POST,
        &format!("{client_path}/disable"),
    )
    .await;
    json_error(
        refresh(&app, &setup.client, refresh_token(&token), &[]).await,
        401,
        "invalid_client",
    )
    .await;
    admin_ok(
        &app,
        &admin_token,
        Method::POST,
        &format!("{client_path}/enable"),
    )
    .await;
    // ...a disabled resource gives invalid_grant...
    let token = tokens(&app, &setup.client, &mut browser, &[]).await;
    let a_id = app.resource_id(&setup.resource_uri).await;
    admin_ok(
        &app,
        &admin_token,
        Method::POST,
        &format!("/resources/{a_id}/disable"),
    )
    .await;
    json_error(
        refresh(&app, &setup.client, refresh_token(&token), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(!is_active(&app, &setup.server, access(&token)).await);
    admin_ok(
        &app,
        &admin_token,
        Method::POST,
        &format!("/resources/{a_id}/enable"),
    )
    .await;
    // ...and so does a deleted one.
    let other = tokens(
        &app,
        &setup.client,
        &mut browser,
        &[("resource", OTHER_RESOURCE)],
    )
    .await;
    assert_eq!(decode_claims(access(&other))["aud"], OTHER_RESOURCE);
    let other_id = app.resource_id(OTHER_RESOURCE).await;
    admin_ok(
        &app,
        &admin_token,
        Method::DELETE,
        &format!("/resources/{other_id}"),
    )
    .await;
    json_error(
        refresh(&app, &setup.client, refresh_token(&other), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    // A resource registered again under the deleted one's URI is a new registration the
    // user never consented to: the old grant must stay dead.
    app.create_resource(
        &admin_token,
        json!({"uri": OTHER_RESOURCE, "name": "Another MCP at that URI", "scopes": ["mcp:read"]}),
    )
    .await;
    let revived = refresh(&app, &setup.client, refresh_token(&other), &[]).await;
    let status = revived.status().as_u16();
    let body = revived.text().await.unwrap();
    // Deleting a resource revokes its grants: the grant status joins resources by URI, so
    // without that, registering the URI again would revive every refresh token issued for
    // the deleted resource (found by this sweep).
    assert_eq!(
        status, 400,
        "a refresh token of a deleted resource revived: {body}"
    );
}
