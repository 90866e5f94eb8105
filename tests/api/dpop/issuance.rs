//! A valid proof binds the access token of every grant (RFC 9449 §5, §6.1), and
//! introspection reports the binding (§6.2).

use crate::dpop::{assert_bound, cc_with};
use crate::helpers::dpop::DpopKey;
use crate::helpers::exchange as ex;
use crate::helpers::tokens::{access, decode_claims};
use crate::helpers::{setup, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_proof_on_client_credentials_gives_a_dpop_token_bound_to_the_key() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    for key in [
        DpopKey::es256(),
        DpopKey::es384(),
        DpopKey::ed25519(),
        DpopKey::rsa("RS256"),
        DpopKey::rsa("PS256"),
    ] {
        let response = cc_with(&app, &s.agent, &[&app.token_proof(&key)]).await;
        let body = assert_bound(response, &key).await;
        assert_eq!(body["scope"], "mcp:read");
        assert_eq!(body["expires_in"], 600);
    }
    assert_eq!(app.remembered_proofs().await, 5);
}

#[tokio::test]
async fn introspection_reports_the_binding_and_a_plain_token_stays_bearer() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let body = assert_bound(
        cc_with(&app, &s.agent, &[&app.token_proof(&key)]).await,
        &key,
    )
    .await;
    let info = app
        .introspect(&s.server, body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "DPoP");
    assert_eq!(info["cnf"]["jkt"], key.jkt());

    let plain = app
        .client_credentials(&s.agent, Some("https://mcp.example.com/mcp"), None)
        .await;
    assert_eq!(plain["token_type"], "Bearer");
    assert!(decode_claims(plain["access_token"].as_str().unwrap())["cnf"].is_null());
    let info = app
        .introspect(&s.server, plain["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["token_type"], "Bearer");
    assert!(info["cnf"].is_null(), "{info}");
}

#[tokio::test]
async fn metadata_lists_only_asymmetric_proof_algorithms() {
    let app = spawn_app().await;
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let algs: Vec<&str> = metadata["dpop_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for alg in ["ES256", "ES384", "RS256", "PS256", "EdDSA"] {
        assert!(algs.contains(&alg), "{algs:?}");
    }
    assert!(
        algs.iter().all(|a| *a != "none" && !a.starts_with("HS")),
        "{algs:?}"
    );
}

#[tokio::test]
async fn with_nonces_off_a_proof_needs_none_and_no_nonce_is_sent() {
    let app = spawn_app_with(&[("WARDEN_DPOP_NONCE", "off")]).await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let now = crate::helpers::assertions::now(&app);
    let proof = key.proof(&app.token_endpoint(), now, None);
    let response = cc_with(&app, &s.agent, &[&proof]).await;
    assert!(response.headers().get("dpop-nonce").is_none());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let claims = decode_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["cnf"]["jkt"], key.jkt());
}

#[tokio::test]
async fn a_token_exchange_with_a_proof_binds_the_exchanged_token() {
    let app = spawn_app().await;
    let (fx, subject) = ex::arrange(&app).await;
    let key = DpopKey::es256();
    let response = app
        .token_with_proofs(
            &[
                ("grant_type", ex::TOKEN_EXCHANGE),
                ("subject_token", access(&subject)),
                ("subject_token_type", ex::ACCESS_TOKEN_TYPE),
                ("resource", ex::B),
            ],
            &fx.s,
            &[&app.token_proof(&key)],
        )
        .await;
    let body = assert_bound(response, &key).await;
    assert_eq!(body["issued_token_type"], ex::ACCESS_TOKEN_TYPE);
}

#[tokio::test]
async fn the_admin_api_refuses_a_dpop_bound_token_presented_as_bearer() {
    let app = spawn_app().await;
    let admin = app.admin_client().await;
    let key = DpopKey::es256();
    let resource = format!("{}/admin", app.issuer);
    let response = app
        .token_with_proofs(
            &[
                ("grant_type", "client_credentials"),
                ("resource", &resource),
            ],
            &admin,
            &[&app.token_proof(&key)],
        )
        .await;
    let bound = assert_bound(response, &key).await;
    let (status, body) = app
        .admin_call(access(&bound), reqwest::Method::GET, "/resources", None)
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
    // The same client's bearer token works: the refusal is about the binding.
    let plain = app.client_credentials(&admin, Some(&resource), None).await;
    let (status, _) = app
        .admin_call(access(&plain), reqwest::Method::GET, "/resources", None)
        .await;
    assert_eq!(status, 200);
}
