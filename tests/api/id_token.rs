//! OpenID Connect ID tokens (OIDC Core §3.1.2.1, §3.1.3.3, §3.1.3.6) from the code flow,
//! and what the discovery document says about them (OIDC Discovery §3).

use serde_json::Value;
use warden::clock::Clock;

use crate::helpers::browser::{
    Browser, authorize, authorize_url, interactive, pkce, query, redeem, run_to_client,
};
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, assert_oauth_error, scalar, spawn_app};

/// The header of a JWT, unverified.
fn header(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// Checks the signature against the published JWKS, as a relying party would.
async fn verify_with_jwks(app: &TestApp, token: &str) -> Value {
    let jwks = app.get_json("/jwks.json").await;
    let kid = header(token)["kid"].as_str().unwrap().to_owned();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the ID token's key is published");
    let jwk = josekit::jwk::Jwk::from_bytes(jwk.to_string().as_bytes()).unwrap();
    let verifier = josekit::jws::ES256.verifier_from_jwk(&jwk).unwrap();
    let (payload, _) = josekit::jwt::decode_with_verifier(token, &verifier).unwrap();
    serde_json::from_str(&payload.to_string()).unwrap()
}

#[tokio::test]
async fn an_openid_request_gets_a_signed_id_token_with_nonce_auth_time_and_azp() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "openid mcp:read"), ("nonce", "n-0S6_WzA2Mj")],
    );
    let signed_in_at = app.clock.now();
    let q = authorize(&app, &mut browser, &url, &setup.username).await;
    app.clock.advance(5);
    let response = redeem(&app, &setup.client, &q["code"], &p.verifier).await;
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    assert_eq!(token["scope"], "mcp:read", "openid is no resource scope");
    let id_token = token["id_token"].as_str().expect("an id_token");
    assert_eq!(header(id_token)["typ"], "JWT");
    assert_eq!(header(id_token)["alg"], "ES256");

    let claims = verify_with_jwks(&app, id_token).await;
    let client_id = setup.client.client_id.as_str();
    assert_eq!(claims["iss"], app.issuer);
    assert_eq!(claims["sub"], app.user_id("alice").await);
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["azp"], client_id);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(
        claims["auth_time"], signed_in_at,
        "when alice typed her password"
    );
    assert_eq!(claims["iat"], signed_in_at + 5);
    assert_eq!(claims["exp"], signed_in_at + 5 + 600);
    assert!(claims.get("email").is_none(), "email was not asked for");

    // The access token carries no OIDC scope, and the ID token is no access token.
    let access = decode_claims(token["access_token"].as_str().unwrap());
    assert_eq!(access["scope"], "mcp:read");
    assert_eq!(
        app.introspect(&setup.server, id_token).await["active"],
        false
    );

    // Refresh: no new ID token (OIDC Core §12.2 allows either).
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token["refresh_token"].as_str().unwrap()),
    ];
    let refreshed: Value = app
        .post_form("/token", &refresh, Some(&setup.client))
        .await
        .json()
        .await
        .unwrap();
    assert!(refreshed["access_token"].is_string());
    assert!(refreshed.get("id_token").is_none());
}

#[tokio::test]
async fn without_openid_there_is_no_id_token_and_a_nonce_is_ignored() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read"), ("nonce", &"x".repeat(2000))],
    );
    let q = authorize(&app, &mut browser, &url, &setup.username).await;
    let token: Value = redeem(&app, &setup.client, &q["code"], &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    assert!(token["access_token"].is_string());
    assert!(token.get("id_token").is_none());
}

#[tokio::test]
async fn openid_with_profile_names_the_user_and_without_a_nonce_sends_none() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "openid profile email mcp:write")],
    );
    let q = authorize(&app, &mut browser, &url, &setup.username).await;
    let token: Value = redeem(&app, &setup.client, &q["code"], &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["scope"], "mcp:write");
    let claims = verify_with_jwks(&app, token["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["preferred_username"], "alice");
    assert!(claims.get("nonce").is_none());
    assert!(
        claims.get("email").is_none(),
        "a local account has no verified email to share"
    );
    let grant_scope = scalar(
        &app.db,
        "SELECT COUNT(*) FROM grants WHERE scope LIKE '%openid%' OR scope LIKE '%profile%'",
    )
    .await;
    assert_eq!(grant_scope, 0, "OIDC scopes never reach a grant");
}

#[tokio::test]
async fn a_hostile_nonce_is_refused_with_invalid_request_and_nothing_is_stored() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let p = pkce();
    // (An empty nonce is an omitted one, RFC 6749 §3.1.)
    for nonce in ["x".repeat(513), "a\u{7}b".to_owned()] {
        let mut browser = Browser::new();
        let mut url = url::Url::parse(&authorize_url(
            &app,
            &setup.client,
            &p.challenge,
            &[("scope", "openid mcp:read")],
        ))
        .unwrap();
        url.query_pairs_mut().append_pair("nonce", &nonce);
        let response = browser.get(url.as_str()).await;
        assert_eq!(
            response.status(),
            303,
            "an admin's client hears it: {nonce:?}"
        );
        let q = query(&crate::helpers::browser::location(&response));
        assert_eq!(q["error"], "invalid_request", "{nonce:?}");
    }
    // Two nonces: which one would the ID token carry? Refused before anything is read.
    let twice = format!(
        "{}&nonce=a&nonce=b",
        authorize_url(
            &app,
            &setup.client,
            &p.challenge,
            &[("scope", "openid mcp:read")]
        )
    );
    let response = Browser::new().get(&twice).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        scalar(&app.db, "SELECT COUNT(*) FROM authorization_requests").await,
        0
    );
}

#[tokio::test]
async fn openid_alone_asks_for_the_resources_defaults_and_a_replayed_code_gets_no_id_token() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let p = pkce();
    // The test resource's default scope is mcp:read: openid alone asks for it.
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "openid")]);
    let mut browser = Browser::new();
    let q = query(&run_to_client(&app, &mut browser, &url, &setup.username).await);
    let first = redeem(&app, &setup.client, &q["code"], &p.verifier).await;
    let token: Value = first.json().await.unwrap();
    assert_eq!(token["scope"], "mcp:read");
    assert!(token["id_token"].is_string());
    let replay = redeem(&app, &setup.client, &q["code"], &p.verifier).await;
    let body = assert_oauth_error(replay, 400, "invalid_grant").await;
    assert!(body.get("id_token").is_none());
}

#[tokio::test]
async fn discovery_advertises_what_oidc_discovery_requires() {
    let app = spawn_app().await;
    let oidc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        oidc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    let scopes = oidc["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&"openid".into()));
    let claims = oidc["claims_supported"].as_array().unwrap();
    for claim in ["sub", "iss", "aud", "nonce", "auth_time", "azp", "email"] {
        assert!(claims.contains(&claim.into()), "{claim}");
    }
}
