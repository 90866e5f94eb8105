//! The authorization code and refresh grants with proofs (RFC 9449 §5): a public client's
//! refresh token is bound to its key and refuses any other, and a refused refresh spends
//! nothing; a confidential client's refresh token is not bound.

use serde_json::Value;

use crate::dpop::assert_bound;
use crate::helpers::browser::{Browser, Interactive, authorize, authorize_url, interactive, pkce};
use crate::helpers::dpop::DpopKey;
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, assert_oauth_error, scalar, spawn_app};

/// Signs in, consents and redeems the code with a proof by `key`; returns the response.
async fn redeem_with_proof(app: &TestApp, setup: &Interactive, key: &DpopKey) -> reqwest::Response {
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(app, &setup.client, &p.challenge, &[]);
    let q = authorize(app, &mut browser, &url, &setup.username).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", q["code"].as_str()),
        ("code_verifier", p.verifier.as_str()),
        ("redirect_uri", crate::helpers::browser::REDIRECT),
    ];
    app.token_with_proofs(&form, &setup.client, &[&app.token_proof(key)])
        .await
}

async fn refresh(
    app: &TestApp,
    setup: &Interactive,
    token: &str,
    proofs: &[&str],
) -> reqwest::Response {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    app.token_with_proofs(&form, &setup.client, proofs).await
}

async fn live_refresh_tokens(app: &TestApp) -> i64 {
    scalar(
        &app.db,
        "SELECT COUNT(*) FROM refresh_tokens WHERE rotated_at IS NULL",
    )
    .await
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_and_refuses_no_proof_or_another_key() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let key = DpopKey::es256();
    let token = assert_bound(redeem_with_proof(&app, &setup, &key).await, &key).await;
    let refresh_token = token["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        scalar(
            &app.db,
            &format!(
                "SELECT COUNT(*) FROM refresh_tokens WHERE dpop_jkt = '{}'",
                key.jkt()
            )
        )
        .await,
        1
    );

    // No proof, or a proof by a thief's key: refused, and the token is not spent.
    let thief = DpopKey::es256();
    let no_proof = refresh(&app, &setup, &refresh_token, &[]).await;
    assert_oauth_error(no_proof, 400, "invalid_dpop_proof").await;
    let other_key = refresh(&app, &setup, &refresh_token, &[&app.token_proof(&thief)]).await;
    assert_oauth_error(other_key, 400, "invalid_dpop_proof").await;
    assert_eq!(live_refresh_tokens(&app).await, 1, "nothing rotated");
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(
        app.introspect(&setup.server, access).await["active"],
        true,
        "nothing revoked"
    );

    // The right key still works, and the successor is bound to it as well.
    let next = assert_bound(
        refresh(&app, &setup, &refresh_token, &[&app.token_proof(&key)]).await,
        &key,
    )
    .await;
    let successor = next["refresh_token"].as_str().unwrap();
    assert_ne!(successor, refresh_token);
    let refused = refresh(&app, &setup, successor, &[&app.token_proof(&thief)]).await;
    assert_oauth_error(refused, 400, "invalid_dpop_proof").await;
    assert_bound(
        refresh(&app, &setup, successor, &[&app.token_proof(&key)]).await,
        &key,
    )
    .await;
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_is_not_bound_but_each_access_token_is() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let key = DpopKey::es256();
    let token = assert_bound(redeem_with_proof(&app, &setup, &key).await, &key).await;
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM refresh_tokens WHERE dpop_jkt IS NOT NULL"
        )
        .await,
        0
    );

    // Refreshed with another key: the new access token is bound to that key.
    let second = DpopKey::es256();
    let next = assert_bound(
        refresh(
            &app,
            &setup,
            token["refresh_token"].as_str().unwrap(),
            &[&app.token_proof(&second)],
        )
        .await,
        &second,
    )
    .await;
    // And without a proof: a bearer token.
    let response = refresh(&app, &setup, next["refresh_token"].as_str().unwrap(), &[]).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("dpop-nonce").is_none());
    let plain: Value = response.json().await.unwrap();
    assert_eq!(plain["token_type"], "Bearer");
    assert!(decode_claims(plain["access_token"].as_str().unwrap())["cnf"].is_null());
}

#[tokio::test]
async fn a_code_redeemed_with_a_bad_proof_is_not_spent() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let key = DpopKey::es256();
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let q = authorize(&app, &mut browser, &url, &setup.username).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", q["code"].as_str()),
        ("code_verifier", p.verifier.as_str()),
        ("redirect_uri", crate::helpers::browser::REDIRECT),
    ];
    let stale = key.proof(
        &app.token_endpoint(),
        crate::helpers::assertions::now(&app) - 120,
        Some(&app.dpop_nonce()),
    );
    let refused = app.token_with_proofs(&form, &setup.client, &[&stale]).await;
    assert_oauth_error(refused, 400, "invalid_dpop_proof").await;
    assert_bound(
        app.token_with_proofs(&form, &setup.client, &[&app.token_proof(&key)])
            .await,
        &key,
    )
    .await;
}
