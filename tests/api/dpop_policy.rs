//! DPoP policy (RFC 9449 §5.2, §10; RFC 9728 §2): clients registered with
//! `dpop_bound_access_tokens` (by an admin, RFC 7591 or a metadata document) and resources
//! an admin marks `require_dpop` are refused tokens without a proof; `dpop_jkt` on
//! /authorize binds the code to one key; the protected resource metadata says when DPoP is
//! required.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{Browser, authorize, authorize_url, interactive, pkce, redeem};
use crate::helpers::clients::{document, post_register, public, register};
use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::pages::{assert_error_page, assert_error_redirect};
use crate::helpers::{TestApp, TestClient, assert_oauth_error, setup, spawn_app, spawn_app_with, stdout_json};

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
    let (status, view) = app.admin_call(&s.admin_token, Method::GET, &path, None).await;
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
        assert!(
            status == 400 || status == 422,
            "{bad}: {status} {body}"
        );
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
    assert_eq!(metadata["dpop_bound_access_tokens_required"], true, "{metadata}");

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
        assert_oauth_error(post_register(&app, &body).await, 400, "invalid_client_metadata").await;
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
