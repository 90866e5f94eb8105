//! What an outside attacker found (security issue "Close what an outside attacker found",
//! points 9 and 11): blocked domains cover their subdomains in every spelling, assertions
//! name one audience, a revocation of nothing clears no cache, CORS answers only the
//! public endpoints, the embedded database is private, and the `invalid_client` challenge
//! names the scheme the client used.

use josekit::jwt::JwtPayload;
use reqwest::Method;
use serde_json::json;
use warden::clock::Clock;

use super::support::{assertion_claims, register_jwt_client, with_assertion};
use crate::helpers::assertions::sign_es256;
use crate::helpers::browser::{authorize_url, interactive, pkce};
use crate::helpers::clients::{document, public};
use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::pages::assert_bad_request_page;
use crate::helpers::{TestApp, setup, spawn_app, spawn_app_with};

const LOOPBACK_FETCH: (&str, &str) = ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1");

async fn put_policy(app: &TestApp, token: &str, domain: &str, policy: &str) -> serde_json::Value {
    let (status, body) = app
        .admin_call(
            token,
            Method::PUT,
            &format!("/metadata-domains/{domain}"),
            Some(json!({ "policy": policy })),
        )
        .await;
    assert_eq!(status, 200, "{domain}: {body}");
    body
}

#[tokio::test]
async fn a_blocked_domain_blocks_its_subdomains_in_every_spelling() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let setup = interactive(&app, true).await;
    // Stored normalised: case, trailing dot and IDNA do not make another domain.
    let stored = put_policy(&app, &setup.admin_token, "EVIL.Example.", "blocked").await;
    assert_eq!(stored["domain"], "evil.example");
    let stored = put_policy(&app, &setup.admin_token, "Bücher.example", "blocked").await;
    assert_eq!(stored["domain"], "xn--bcher-kva.example");
    let stored = put_policy(&app, &setup.admin_token, "*.Apps.example", "trusted").await;
    assert_eq!(stored["domain"], "*.apps.example");
    let (status, _) = app
        .admin_call(
            &setup.admin_token,
            Method::PUT,
            "/metadata-domains/a..b",
            Some(json!({"policy": "blocked"})),
        )
        .await;
    assert_eq!(status, 422);

    for client_id in [
        "https://evil.example/client.json",
        "https://evil.example./client.json",
        "https://www.evil.example/client.json",
        "https://a.b.evil.example./client.json",
        "https://xn--bcher-kva.example/client.json",
        "https://shop.xn--bcher-kva.example/client.json",
    ] {
        let url = authorize_url(&app, &public(client_id), &pkce().challenge, &[]);
        let page = assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await;
        assert!(page.contains("are blocked"), "{client_id}: {page}");
        assert!(app.state.store.client(client_id).await.unwrap().is_none());
    }

    // The CLI normalises the same way; a block of the document server's host leaves a
    // legitimate client of another host alone until then.
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    let url = authorize_url(&app, &public(&client_id), &pkce().challenge, &[]);
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 303);
    let output = app.cli(&["domain", "block", "127.0.0.1."]);
    assert!(output.status.success(), "{output:?}");
    let page = assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await;
    assert!(page.contains("are blocked"), "{page}");
}

#[tokio::test]
async fn an_assertion_whose_audience_names_another_server_too_is_refused() {
    let app = spawn_app().await;
    interactive(&app, true).await;
    let key = crate::helpers::assertions::ec_key(josekit::jwk::alg::ec::EcCurve::P256, "k");
    let client_id = register_jwt_client(&app, &[&key]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "made-up"),
        ("code_verifier", "x"),
    ];
    let with_audience = |aud: Vec<String>| {
        let mut claims: JwtPayload = assertion_claims(&app, &client_id);
        claims.set_audience(aud);
        claims.set_jwt_id(warden::crypto::random::token());
        sign_es256(&key, &claims)
    };
    let token_endpoint = format!("{}/token", app.issuer);
    for aud in [
        vec![app.issuer.clone(), "https://other.example/token".into()],
        vec!["https://other.example/token".into(), token_endpoint.clone()],
        vec![app.issuer.clone(), token_endpoint.clone()],
    ] {
        let response = with_assertion(&app, &form, &with_audience(aud.clone())).await;
        assert_eq!(response.status(), 401, "{aud:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{aud:?}");
    }
    // One audience, ours: authentication passes (the made-up request then fails).
    for aud in [app.issuer.clone(), token_endpoint] {
        let response = with_assertion(&app, &form, &with_audience(vec![aud])).await;
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_ne!(body["error"], "invalid_client", "{body}");
    }
}

#[tokio::test]
async fn revoking_an_unknown_or_foreign_token_clears_no_cache() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let resource = Some(s.resource_uri.as_str());
    let agents = app.client_credentials(&s.agent, resource, None).await;
    let agents = agents["access_token"].as_str().unwrap().to_owned();
    // The server revokes nothing of its own: an unknown token, then the agent's.
    for token in ["no-such-token", agents.as_str()] {
        let response = app
            .post_form("/revoke", &[("token", token)], Some(&s.server))
            .await;
        assert_eq!(response.status(), 200);
        assert!(
            app.state
                .hot
                .client(&s.server.client_id, app.clock.now())
                .is_some(),
            "the caller's cached row survives a revocation of nothing"
        );
    }
    assert!(
        app.introspect(&s.server, &agents).await["active"]
            .as_bool()
            .unwrap()
    );
    assert!(
        app.state
            .hot
            .resource(&s.resource_uri, &s.agent.client_id, app.clock.now())
            .is_some()
    );
    let response = app
        .post_form("/revoke", &[("token", agents.as_str())], Some(&s.agent))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        app.state
            .hot
            .resource(&s.resource_uri, &s.agent.client_id, app.clock.now())
            .is_none(),
        "a real revocation forgets the revoked client_credentials grant"
    );
    assert!(
        app.state
            .hot
            .client(&s.agent.client_id, app.clock.now())
            .is_some(),
        "and only what depends on it: the client did not change"
    );
    assert!(
        !app.introspect(&s.server, &agents).await["active"]
            .as_bool()
            .unwrap()
    );
}

#[tokio::test]
async fn cors_answers_only_the_public_endpoints_exactly() {
    let app = spawn_app().await;
    let origin = "https://evil.example";
    for path in ["/account/grants/g1/revoke", "/introspect", "/x/token"] {
        for method in [Method::OPTIONS, Method::POST] {
            let response = app
                .http
                .request(method.clone(), app.url(path))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .unwrap();
            assert!(
                !response
                    .headers()
                    .contains_key("access-control-allow-origin"),
                "{method} {path}"
            );
        }
    }
    let response = app
        .http
        .request(Method::OPTIONS, app.url("/revoke"))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn the_embedded_database_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    if app.db.postgres.is_some() {
        return;
    }
    let path = app.db.data_dir.path().join("warden.db");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

#[tokio::test]
async fn invalid_client_challenges_only_a_client_that_used_basic() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let wrong = format!("{}x", &s.agent.client_secret[..42]);
    let posted = [
        ("grant_type", "client_credentials"),
        ("client_id", s.agent.client_id.as_str()),
        ("client_secret", wrong.as_str()),
    ];
    let response = app.post_form("/token", &posted, None).await;
    assert_eq!(response.status(), 401);
    assert!(
        !response.headers().contains_key("www-authenticate"),
        "client_secret_post gets no Basic challenge"
    );
    let basic = crate::helpers::TestClient {
        client_secret: wrong.clone(),
        ..s.agent.clone()
    };
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some(&basic),
        )
        .await;
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
}
