//! Signing keys: JWKS publication, verification with an independent JOSE library, rotation.

use josekit::jwk::JwkSet;
use josekit::jws::ES256;
use warden::clock::Clock;
use warden::crypto::keys::{self, JwtType, SigningAlg};

use crate::helpers::{TestApp, spawn_app, spawn_app_with, stdout_json};

async fn jwks(app: &TestApp) -> JwkSet {
    let response = app.get("/jwks.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/jwk-set+json"
    );
    JwkSet::from_bytes(response.bytes().await.unwrap()).unwrap()
}

fn kid_of(jwt: &str) -> String {
    let header = josekit::jwt::decode_header(jwt).unwrap();
    header.claim("kid").unwrap().as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_jwt_signed_with_the_active_key_verifies_against_the_published_jwks() {
    let app = spawn_app().await;
    let set = jwks(&app).await;
    assert_eq!(set.keys().len(), 1);
    let jwk = set.keys()[0];
    assert_eq!(jwk.key_type(), "EC");
    assert_eq!(jwk.key_use(), Some("sig"));
    assert_eq!(jwk.algorithm(), Some("ES256"));
    assert!(
        jwk.parameter("d").is_none(),
        "the private part must never be published"
    );

    let now = app.clock.now();
    let jwt = app
        .state
        .keys
        .sign(
            now,
            JwtType::AccessToken,
            &serde_json::json!({"iss": app.issuer, "sub": "s"}),
        )
        .unwrap();
    let verifier = ES256.verifier_from_jwk(jwk).unwrap();
    let (payload, header) = josekit::jwt::decode_with_verifier(&jwt, &verifier).unwrap();
    assert_eq!(header.token_type(), Some("at+jwt"));
    assert_eq!(header.key_id(), jwk.key_id());
    assert_eq!(payload.issuer(), Some(app.issuer.as_str()));
}

#[tokio::test]
async fn eddsa_and_rs256_are_selectable() {
    for (alg, kty) in [("EdDSA", "OKP"), ("RS256", "RSA")] {
        let app = spawn_app_with(&[("WARDEN_SIGNING_ALG", alg)]).await;
        let set = jwks(&app).await;
        assert_eq!(set.keys()[0].key_type(), kty);
        assert_eq!(set.keys()[0].algorithm(), Some(alg));
    }
}

#[tokio::test]
async fn rotation_publishes_the_new_key_first_then_signs_with_it_and_keeps_the_old_one() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let old_kid = kid_of(
        &app.state
            .keys
            .sign(now, JwtType::AccessToken, &serde_json::json!({}))
            .unwrap(),
    );

    let new = keys::generate(SigningAlg::Es256, &app.state.master_key).unwrap();
    let delay = app.state.settings.key_activation_delay;
    app.state
        .store
        .insert_rotated_signing_key(
            &new.row(now, now + delay),
            &warden::domain::AuditEvent::new(
                warden::domain::AuditKind::KeyRotated,
                warden::domain::Actor::cli(),
                now,
            ),
        )
        .await
        .unwrap();
    warden::startup::reload_keys(&app.state).await.unwrap();

    // Published at once, not yet signing.
    let kids: Vec<_> = jwks(&app)
        .await
        .keys()
        .iter()
        .map(|k| k.key_id().unwrap().to_owned())
        .collect();
    assert!(kids.contains(&old_kid) && kids.contains(&new.kid));
    let before = app
        .state
        .keys
        .sign(
            app.clock.now(),
            JwtType::AccessToken,
            &serde_json::json!({}),
        )
        .unwrap();
    assert_eq!(kid_of(&before), old_kid);

    // After the activation delay the new key signs; the old one stays published.
    app.clock.advance(delay);
    warden::startup::reload_keys(&app.state).await.unwrap();
    let after = app
        .state
        .keys
        .sign(
            app.clock.now(),
            JwtType::AccessToken,
            &serde_json::json!({}),
        )
        .unwrap();
    assert_eq!(kid_of(&after), new.kid);
    assert_eq!(jwks(&app).await.keys().len(), 2);

    // Once every token the old key signed has expired, it is withdrawn.
    app.clock
        .advance(app.state.settings.access_token_max_ttl + 301);
    warden::startup::reload_keys(&app.state).await.unwrap();
    let kids: Vec<_> = jwks(&app)
        .await
        .keys()
        .iter()
        .map(|k| k.key_id().unwrap().to_owned())
        .collect();
    assert_eq!(kids, vec![new.kid.clone()]);
}

#[tokio::test]
async fn a_running_server_picks_up_a_key_rotated_by_the_cli_without_restart() {
    let app = spawn_app_with(&[("WARDEN_KEY_REFRESH_INTERVAL", "1")]).await;
    assert_eq!(jwks(&app).await.keys().len(), 1);
    let rotated = stdout_json(&app.cli(&["keys", "rotate"]));
    let kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_eq!(rotated["status"], "published");

    let mut published = false;
    for _ in 0..50 {
        if jwks(&app)
            .await
            .keys()
            .iter()
            .any(|k| k.key_id() == Some(kid.as_str()))
        {
            published = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(published, "the rotated key never appeared in the JWKS");

    let listed = stdout_json(&app.cli(&["keys", "list"]));
    let statuses: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, vec!["signing", "published"]);
}
