//! DPoP policy (RFC 9449 §5.2, §10; RFC 9728 §2): clients registered with
//! `dpop_bound_access_tokens` (by an admin, RFC 7591 or a metadata document) and resources
//! an admin marks `require_dpop` are refused tokens without a proof; `dpop_jkt` on
//! /authorize binds the code to one key; the protected resource metadata says when DPoP is
//! required.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{
    Browser, Interactive, REDIRECT, authorize, authorize_url, interactive, pkce, redeem,
};
use crate::helpers::clients::{document, post_register, public, register};
use crate::helpers::console::console_admin;
use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::dpop::DpopKey;
use crate::helpers::exchange as ex;
use crate::helpers::pages::{assert_error_page, assert_error_redirect};
use crate::helpers::tokens::{access, decode_claims};
use crate::helpers::{
    TestApp, TestClient, assert_oauth_error, scalar, setup, spawn_app, spawn_app_with, stdout_json,
};

const LOOPBACK_FETCH: (&str, &str) = ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1");
/// A well-formed thumbprint of no key a test holds.
const STRANGER_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

async fn pending_requests(app: &TestApp) -> i64 {
    app.state
        .store
        .count_pending_authorizations(0)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Settings: stored, shown, validated.

#[tokio::test]
async fn an_admin_sets_dpop_bound_access_tokens_on_a_client_and_it_is_read_back() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let created = app
        .create_client(
            &s.admin_token,
            json!({"name": "bound agent", "grant_types": ["client_credentials"], "dpop_bound_access_tokens": true}),
        )
        .await;
    let path = format!("/clients/{}", created.client_id);
    let (status, view) = app
        .admin_call(&s.admin_token, Method::GET, &path, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["dpop_bound_access_tokens"], true, "{view}");
    let (status, view) = app
        .admin_call(
            &s.admin_token,
            Method::GET,
            &format!("/clients/{}", s.agent.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["dpop_bound_access_tokens"], false, "{view}");

    let (status, view) = app
        .admin_call(
            &s.admin_token,
            Method::PATCH,
            &path,
            Some(json!({"dpop_bound_access_tokens": false})),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["dpop_bound_access_tokens"], false);
    let stored = app
        .state
        .store
        .client(&created.client_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.dpop_bound_access_tokens);

    for bad in [json!("yes"), json!(1)] {
        let (status, body) = app
            .admin_call(
                &s.admin_token,
                Method::PATCH,
                &path,
                Some(json!({"dpop_bound_access_tokens": bad})),
            )
            .await;
        assert!(status == 400 || status == 422, "{bad}: {status} {body}");
    }
}

#[tokio::test]
async fn a_resource_requiring_dpop_says_so_in_its_protected_resource_metadata() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let id = s.resource["id"].as_str().unwrap();
    assert_eq!(s.resource["require_dpop"], false);
    let metadata = app.get_json(&format!("/resource-metadata/{id}")).await;
    assert!(
        metadata.get("dpop_bound_access_tokens_required").is_none(),
        "{metadata}"
    );

    let (status, view) = app
        .admin_call(
            &s.admin_token,
            Method::PATCH,
            &format!("/resources/{id}"),
            Some(json!({"require_dpop": true})),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["require_dpop"], true);
    let metadata = app.get_json(&format!("/resource-metadata/{id}")).await;
    assert_eq!(
        metadata["dpop_bound_access_tokens_required"], true,
        "{metadata}"
    );

    let created = app
        .create_resource(
            &s.admin_token,
            json!({"uri": "https://strict.example.com/mcp", "name": "Strict", "scopes": ["mcp:read"], "require_dpop": true}),
        )
        .await;
    assert_eq!(created["require_dpop"], true);
    let (status, body) = app
        .admin_call(
            &s.admin_token,
            Method::PATCH,
            &format!("/resources/{id}"),
            Some(json!({"require_dpop": "always"})),
        )
        .await;
    assert!(status == 400 || status == 422, "{status} {body}");
}

#[tokio::test]
async fn the_cli_sets_both_flags() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let id = s.resource["id"].as_str().unwrap();
    let updated = stdout_json(&app.cli(&["resource", "update", id, "--require-dpop", "true"]));
    assert_eq!(updated["require_dpop"], true, "{updated}");
    let client = stdout_json(&app.cli(&[
        "client",
        "create",
        "--name",
        "cli agent",
        "--grant-type",
        "client_credentials",
        "--dpop-bound-access-tokens",
    ]));
    assert_eq!(client["dpop_bound_access_tokens"], true, "{client}");
    let client_id = client["client_id"].as_str().unwrap();
    let updated = stdout_json(&app.cli(&[
        "client",
        "update",
        client_id,
        "--dpop-bound-access-tokens",
        "false",
    ]));
    assert_eq!(updated["dpop_bound_access_tokens"], false, "{updated}");
    let refused = app.cli(&["resource", "update", id, "--require-dpop", "maybe"]);
    assert!(!refused.status.success());
    let stored = app.state.store.resource_by_id(id).await.unwrap().unwrap();
    assert!(stored.require_dpop, "a refused command changed nothing");
}

#[tokio::test]
async fn rfc_7591_registration_records_and_echoes_dpop_bound_access_tokens() {
    let app = spawn_app().await;
    let body = json!({"redirect_uris": ["http://127.0.0.1:7777/callback"], "token_endpoint_auth_method": "none", "dpop_bound_access_tokens": true});
    let registered = register(&app, &body).await;
    assert_eq!(registered["dpop_bound_access_tokens"], true, "{registered}");
    let client_id = registered["client_id"].as_str().unwrap();
    let stored = app.state.store.client(client_id).await.unwrap().unwrap();
    assert!(stored.dpop_bound_access_tokens);

    let plain = register(
        &app,
        &json!({"redirect_uris": ["http://127.0.0.1:7777/callback"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(plain["dpop_bound_access_tokens"], false, "{plain}");

    let before = app.state.store.clients_page("", 100).await.unwrap().len();
    for bad in [json!("true"), json!(1), json!([true])] {
        let body = json!({"redirect_uris": ["http://127.0.0.1:7777/callback"], "dpop_bound_access_tokens": bad});
        assert_oauth_error(
            post_register(&app, &body).await,
            400,
            "invalid_client_metadata",
        )
        .await;
    }
    let after = app.state.store.clients_page("", 100).await.unwrap().len();
    assert_eq!(before, after, "refused registrations store nothing");
}

// ---------------------------------------------------------------------------------------
// /authorize: dpop_jkt.

#[tokio::test]
async fn a_malformed_dpop_jkt_is_an_invalid_request_redirect_and_nothing_is_stored() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let p = pkce();
    for bad in [
        "short",
        // 43 characters, one outside base64url.
        "0ZcOCORZNYy+DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        // 44: a padded value.
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I=",
        &"A".repeat(5000),
    ] {
        let url = authorize_url(&app, &setup.client, &p.challenge, &[("dpop_jkt", bad)]);
        let response = Browser::new().get(&url).await;
        let q = assert_error_redirect(&app, &response, "invalid_request");
        assert!(q["error_description"].contains("dpop_jkt"), "{q:?}");
    }
    let url = format!(
        "{}&dpop_jkt={STRANGER_JKT}&dpop_jkt={STRANGER_JKT}",
        authorize_url(&app, &setup.client, &p.challenge, &[])
    );
    assert_error_page(Browser::new().get(&url).await, 400).await;
    assert_eq!(pending_requests(&app).await, 0);
}

// ---------------------------------------------------------------------------------------
// Enforcement at /token.

/// An authorization_code request for `code`, with each of `proofs` as a `DPoP` header.
async fn redeem_with(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: &str,
    proofs: &[&str],
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", REDIRECT),
    ];
    app.token_with_proofs(&form, client, proofs).await
}

/// A DPoP token response for `key`: 200, `token_type` DPoP, `cnf.jkt` its thumbprint.
async fn assert_bound_to(response: reqwest::Response, key: &DpopKey) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let claims = decode_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["cnf"]["jkt"], key.jkt(), "{claims}");
    body
}

async fn refused_for_want_of_a_proof(response: reqwest::Response, why: &str) {
    let body = assert_oauth_error(response, 400, "invalid_dpop_proof").await;
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains("proof is required"), "{description}");
    assert!(description.contains(why), "{description}");
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) {
    let (status, view) = app.admin_call(token, Method::PATCH, path, Some(body)).await;
    assert_eq!(status, 200, "{view}");
}

#[tokio::test]
async fn an_admin_client_with_dpop_bound_access_tokens_gets_no_token_without_a_proof() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    patch(
        &app,
        &s.admin_token,
        &format!("/clients/{}", s.agent.client_id),
        json!({"dpop_bound_access_tokens": true}),
    )
    .await;
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", s.resource_uri.as_str()),
    ];
    let grants = app.grant_count().await;
    refused_for_want_of_a_proof(
        app.token_with_proofs(&form, &s.agent, &[]).await,
        "dpop_bound_access_tokens",
    )
    .await;
    assert_eq!(
        app.grant_count().await,
        grants,
        "a refusal creates no grant"
    );

    let key = DpopKey::es256();
    let body = assert_bound_to(
        app.token_with_proofs(&form, &s.agent, &[&app.token_proof(&key)])
            .await,
        &key,
    )
    .await;
    let introspected = app
        .introspect(&s.server, body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspected["active"], true);
    // The admin lifts the requirement: a bearer token again, at once on this node.
    patch(
        &app,
        &s.admin_token,
        &format!("/clients/{}", s.agent.client_id),
        json!({"dpop_bound_access_tokens": false}),
    )
    .await;
    let body = app
        .client_credentials(&s.agent, Some(&s.resource_uri), None)
        .await;
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn a_resource_requiring_dpop_refuses_tokens_without_a_proof_on_every_grant() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let key = DpopKey::es256();
    // A refresh token obtained before the admin turned DPoP on.
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let code = authorize(&app, &mut Browser::new(), &url, &setup.username).await["code"].clone();
    let tokens: Value = redeem(&app, &setup.client, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let id = app.resource_id(&setup.resource_uri).await;
    patch(
        &app,
        &setup.admin_token,
        &format!("/resources/{id}"),
        json!({"require_dpop": true}),
    )
    .await;

    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    refused_for_want_of_a_proof(
        app.token_with_proofs(&form, &setup.client, &[]).await,
        "resource",
    )
    .await;
    // Nothing rotated: the same refresh token works with a proof.
    let body = assert_bound_to(
        app.token_with_proofs(&form, &setup.client, &[&app.token_proof(&key)])
            .await,
        &key,
    )
    .await;
    assert!(body["refresh_token"].is_string());

    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let code = authorize(&app, &mut Browser::new(), &url, &setup.username).await["code"].clone();
    refused_for_want_of_a_proof(
        redeem_with(&app, &setup.client, &code, &p.verifier, &[]).await,
        "resource",
    )
    .await;
    // The code was bound to nothing, so the refusal did not spend it.
    assert_bound_to(
        redeem_with(
            &app,
            &setup.client,
            &code,
            &p.verifier,
            &[&app.token_proof(&key)],
        )
        .await,
        &key,
    )
    .await;
}

#[tokio::test]
async fn a_self_registered_client_with_dpop_bound_access_tokens_needs_a_proof_for_its_code() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let registered = register(
        &app,
        &json!({"client_name": "Bound CLI", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "dpop_bound_access_tokens": true}),
    )
    .await;
    let client = public(registered["client_id"].as_str().unwrap());
    let p = pkce();
    let url = authorize_url(&app, &client, &p.challenge, &[]);
    let code = authorize(&app, &mut Browser::new(), &url, &setup.username).await["code"].clone();
    refused_for_want_of_a_proof(
        redeem_with(&app, &client, &code, &p.verifier, &[]).await,
        "dpop_bound_access_tokens",
    )
    .await;
    let key = DpopKey::es256();
    assert_bound_to(
        redeem_with(&app, &client, &code, &p.verifier, &[&app.token_proof(&key)]).await,
        &key,
    )
    .await;
}

#[tokio::test]
async fn a_metadata_document_declaring_dpop_bound_access_tokens_is_held_to_it() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let setup = interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    let mut doc = document(&client_id);
    doc["dpop_bound_access_tokens"] = true.into();
    docs.serve("/client.json", Doc::json(&doc));
    let client = public(&client_id);
    let p = pkce();
    let url = authorize_url(&app, &client, &p.challenge, &[]);
    let code = authorize(&app, &mut Browser::new(), &url, &setup.username).await["code"].clone();
    let stored = app.state.store.client(&client_id).await.unwrap().unwrap();
    assert!(stored.dpop_bound_access_tokens);
    refused_for_want_of_a_proof(
        redeem_with(&app, &client, &code, &p.verifier, &[]).await,
        "dpop_bound_access_tokens",
    )
    .await;
    let key = DpopKey::es256();
    assert_bound_to(
        redeem_with(&app, &client, &code, &p.verifier, &[&app.token_proof(&key)]).await,
        &key,
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// dpop_jkt (RFC 9449 §10).

/// A code for `setup`'s client bound to `jkt`.
async fn bound_code(app: &TestApp, setup: &Interactive, jkt: &str) -> (String, String) {
    let p = pkce();
    let url = authorize_url(app, &setup.client, &p.challenge, &[("dpop_jkt", jkt)]);
    let code = authorize(app, &mut Browser::new(), &url, &setup.username).await["code"].clone();
    (code, p.verifier)
}

#[tokio::test]
async fn a_code_bound_by_dpop_jkt_is_redeemed_with_that_key() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let key = DpopKey::es256();
    let (code, verifier) = bound_code(&app, &setup, &key.jkt()).await;
    let sql = format!(
        "SELECT COUNT(*) FROM authorization_codes WHERE dpop_jkt = '{}'",
        key.jkt()
    );
    assert_eq!(scalar(&app.db, &sql).await, 1, "the code carries the key");
    let body = assert_bound_to(
        redeem_with(
            &app,
            &setup.client,
            &code,
            &verifier,
            &[&app.token_proof(&key)],
        )
        .await,
        &key,
    )
    .await;
    // A public client's refresh token follows the key too (h1's binding).
    let refresh = body["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    assert_bound_to(
        app.token_with_proofs(&form, &setup.client, &[&app.token_proof(&key)])
            .await,
        &key,
    )
    .await;
}

#[tokio::test]
async fn a_code_bound_by_dpop_jkt_refuses_another_key_or_none_and_is_spent() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let key = DpopKey::es256();
    let thief = DpopKey::es256();

    let (code, verifier) = bound_code(&app, &setup, &key.jkt()).await;
    let body = assert_oauth_error(
        redeem_with(
            &app,
            &setup.client,
            &code,
            &verifier,
            &[&app.token_proof(&thief)],
        )
        .await,
        400,
        "invalid_dpop_proof",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("another key"),
        "{body}"
    );
    let issued = scalar(&app.db, "SELECT COUNT(*) FROM refresh_tokens").await;
    assert_eq!(issued, 0, "no token was issued");
    // Spent: the right key now meets a used code, which revokes the grant it came from.
    assert_oauth_error(
        redeem_with(
            &app,
            &setup.client,
            &code,
            &verifier,
            &[&app.token_proof(&key)],
        )
        .await,
        400,
        "invalid_grant",
    )
    .await;

    let (code, verifier) = bound_code(&app, &setup, &key.jkt()).await;
    let body = assert_oauth_error(
        redeem_with(&app, &setup.client, &code, &verifier, &[]).await,
        400,
        "invalid_dpop_proof",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("dpop_jkt"),
        "{body}"
    );
    assert_oauth_error(
        redeem_with(
            &app,
            &setup.client,
            &code,
            &verifier,
            &[&app.token_proof(&key)],
        )
        .await,
        400,
        "invalid_grant",
    )
    .await;

    // A wrong verifier is refused before the binding is looked at, and spends nothing.
    let (code, verifier) = bound_code(&app, &setup, &key.jkt()).await;
    assert_oauth_error(
        redeem_with(
            &app,
            &setup.client,
            &code,
            "wrong-verifier-wrong-verifier-wrong-verifier",
            &[&app.token_proof(&thief)],
        )
        .await,
        400,
        "invalid_grant",
    )
    .await;
    assert_bound_to(
        redeem_with(
            &app,
            &setup.client,
            &code,
            &verifier,
            &[&app.token_proof(&key)],
        )
        .await,
        &key,
    )
    .await;
}

#[tokio::test]
async fn a_token_exchange_for_a_target_requiring_dpop_needs_a_proof_and_grants_nothing_without() {
    let app = spawn_app().await;
    let (fx, subject) = ex::arrange(&app).await;
    let target = app.resource_id(ex::B).await;
    patch(
        &app,
        &fx.admin_token,
        &format!("/resources/{target}"),
        json!({"require_dpop": true}),
    )
    .await;
    let form = [
        ("grant_type", ex::TOKEN_EXCHANGE),
        ("subject_token", access(&subject)),
        ("subject_token_type", ex::ACCESS_TOKEN_TYPE),
        ("resource", ex::B),
    ];
    let grants = app.grant_count().await;
    refused_for_want_of_a_proof(app.token_with_proofs(&form, &fx.s, &[]).await, "resource").await;
    assert_eq!(
        app.grant_count().await,
        grants,
        "a refused exchange makes no grant"
    );
    let key = DpopKey::es256();
    let body = assert_bound_to(
        app.token_with_proofs(&form, &fx.s, &[&app.token_proof(&key)])
            .await,
        &key,
    )
    .await;
    assert_eq!(body["issued_token_type"], ex::ACCESS_TOKEN_TYPE);
    assert_eq!(
        app.grant_count().await,
        grants + 1,
        "the exchange's own grant"
    );
}

#[tokio::test]
async fn the_console_checkboxes_set_and_clear_both_flags() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let uri = "https://notes.example.com/mcp";
    let to = console
        .submit_ok(
            "/resources",
            &[
                ("uri", uri),
                ("name", "Team notes"),
                ("scopes", "mcp:read"),
                ("require_dpop", "1"),
            ],
        )
        .await;
    let id = to
        .split("/resources/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let stored = app.state.store.resource_by_id(&id).await.unwrap().unwrap();
    assert!(stored.require_dpop);
    let (status, html) = console.page(&format!("/resources/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"name="require_dpop" value="1" checked"#),
        "{html}"
    );
    // Saved without the box: cleared.
    console
        .submit_ok(
            &format!("/resources/{id}"),
            &[("uri", uri), ("name", "Team notes"), ("scopes", "mcp:read")],
        )
        .await;
    let stored = app.state.store.resource_by_id(&id).await.unwrap().unwrap();
    assert!(!stored.require_dpop);

    // A confidential client: the answer is its page with the secret, once (200).
    let answer = console
        .submit(
            "/clients",
            &[
                ("name", "Bound agent"),
                ("grant_client_credentials", "1"),
                ("token_endpoint_auth_method", "client_secret_basic"),
                ("dpop_bound_access_tokens", "1"),
            ],
        )
        .await;
    assert_eq!(answer.status(), 200);
    let to = answer.text().await.unwrap();
    let client = app
        .state
        .store
        .clients_page("", 100)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Bound agent")
        .unwrap_or_else(|| panic!("no client after {to}"));
    assert!(client.dpop_bound_access_tokens);
}
