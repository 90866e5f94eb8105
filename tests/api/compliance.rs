//! Rows of the MCP compliance table (`docs/mcp-compliance.md`) that no flow test proved on
//! its own: canonical `resource` spellings (idx §Canonical Server URI), metadata document
//! caching and required members (reg §Implementation Requirements), `application_type`
//! (SEP-837), authorization server binding (SEP-2352), token lifetimes (sec §Token Theft),
//! the redirect host on the consent page (sec §Localhost Redirect URI Risks) and step-up to
//! a scope union (SEP-2350).

use serde_json::{Value, json};

use crate::helpers::browser::{
    Browser, REDIRECT, authorize, authorize_url, interactive, location, pkce, redeem,
    through_sign_in,
};
use crate::helpers::clients::{
    assert_no_null, document, dynamic_clients, post_register, public, register,
};
use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::pages::assert_bad_request_page;
use crate::helpers::tokens::{access, decode_claims};
use crate::helpers::{TestApp, assert_oauth_error, spawn_app, spawn_app_with};

const LOOPBACK_FETCH: (&str, &str) = ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1");

/// GET /authorize for the metadata-document client `client_id` with no session: the
/// document is fetched (or taken from the cache) before the sign-in page.
async fn authorize_as_document(app: &TestApp, client_id: &str) -> reqwest::Response {
    let url = authorize_url(app, &public(client_id), &pkce().challenge, &[]);
    app.http.get(&url).send().await.unwrap()
}

fn goes_to_sign_in(response: &reqwest::Response) -> bool {
    response.status() == 303 && location(response).contains("/login?request=")
}

/// The token response of a successful code redemption (asserting 200).
async fn token_body(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_resource_in_upper_case_or_with_a_lone_slash_binds_the_canonical_audience() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    assert_eq!(setup.resource_uri, "https://mcp.example.com");
    let p = pkce();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("resource", "HTTPS://MCP.Example.COM")],
    );
    let answer = authorize(&app, &mut Browser::new(), &url, &setup.username).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", answer["code"].as_str()),
        ("code_verifier", p.verifier.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", setup.client.client_id.as_str()),
        ("resource", "https://mcp.example.com/"),
    ];
    let token = token_body(app.post_form("/token", &form, None).await).await;
    assert_eq!(
        decode_claims(access(&token))["aud"],
        "https://mcp.example.com"
    );

    // Another path is another resource, whatever its case.
    let p = pkce();
    let other = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("resource", "HTTPS://MCP.EXAMPLE.COM/other")],
    );
    let target =
        crate::helpers::browser::run_to_client(&app, &mut Browser::new(), &other, &setup.username)
            .await;
    let q = crate::helpers::browser::query(&target);
    assert_eq!(q["error"], "invalid_target", "{target}");
    assert_eq!(q["iss"], app.issuer);
}

#[tokio::test]
async fn a_metadata_document_is_cached_for_its_max_age_and_fetched_again_after() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    let client_id = docs.url("/cached.json");
    let named = |name: &str| {
        let mut doc = document(&client_id);
        doc["client_name"] = name.into();
        Doc::json(&doc).header("cache-control", "public, max-age=600")
    };
    docs.serve("/cached.json", named("First Name"));
    for _ in 0..3 {
        assert!(goes_to_sign_in(
            &authorize_as_document(&app, &client_id).await
        ));
    }
    assert_eq!(docs.hits(), 1, "fetched once, then served from the cache");

    // A change is seen only once the cached copy is older than its max-age.
    docs.serve("/cached.json", named("Second Name"));
    app.clock.advance(599);
    assert!(goes_to_sign_in(
        &authorize_as_document(&app, &client_id).await
    ));
    assert_eq!(docs.hits(), 1);
    let name = |app: &TestApp| {
        let id = client_id.clone();
        let store = app.state.store.clone();
        async move { store.client(&id).await.unwrap().unwrap().name }
    };
    assert_eq!(name(&app).await, "First Name");
    app.clock.advance(2);
    assert!(goes_to_sign_in(
        &authorize_as_document(&app, &client_id).await
    ));
    assert_eq!(docs.hits(), 2, "fetched again after max-age");
    assert_eq!(name(&app).await, "Second Name");

    // `no-store` is never cached.
    let fresh = docs.url("/fresh.json");
    docs.serve(
        "/fresh.json",
        Doc::json(&document(&fresh)).header("cache-control", "no-store"),
    );
    for _ in 0..2 {
        assert!(goes_to_sign_in(&authorize_as_document(&app, &fresh).await));
    }
    assert_eq!(docs.hits(), 4);
}

#[tokio::test]
async fn a_metadata_document_without_a_required_member_or_with_a_shared_secret_is_refused() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    type Change = fn(&mut Value);
    let cases: [(&str, &str, Change); 5] = [
        ("/no-name.json", "client_name", |d| {
            d.as_object_mut().unwrap().remove("client_name");
        }),
        ("/blank-name.json", "client_name", |d| {
            d["client_name"] = "  ".into();
        }),
        ("/no-redirects.json", "redirect_uris", |d| {
            d.as_object_mut().unwrap().remove("redirect_uris");
        }),
        ("/basic.json", "token_endpoint_auth_method", |d| {
            d["token_endpoint_auth_method"] = "client_secret_basic".into();
        }),
        ("/post.json", "token_endpoint_auth_method", |d| {
            d["token_endpoint_auth_method"] = "client_secret_post".into();
        }),
    ];
    for (path, member, change) in cases {
        let client_id = docs.url(path);
        let mut doc = document(&client_id);
        change(&mut doc);
        docs.serve(path, Doc::json(&doc));
        let page = assert_bad_request_page(authorize_as_document(&app, &client_id).await).await;
        assert!(page.contains("cannot be used"), "{path}: {page}");
        assert!(page.contains(member), "{path}: {member}: {page}");
        assert!(
            app.state.store.client(&client_id).await.unwrap().is_none(),
            "{path}: nothing stored"
        );
    }
}

#[tokio::test]
async fn application_type_is_echoed_and_constrains_redirect_uris() {
    let app = spawn_app().await;
    let admin_token = app.admin_token().await;
    let body = |extra: Value| {
        let mut body = json!({"client_name": "App", "token_endpoint_auth_method": "none",
                              "grant_types": ["authorization_code", "refresh_token"]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (metadata, echoed) in [
        (
            json!({"application_type": "native", "redirect_uris": ["http://127.0.0.1:3000/cb", "com.example.app:/cb"]}),
            "native",
        ),
        // The TypeScript SDK sends none: a loopback redirect makes it native.
        (
            json!({"redirect_uris": ["http://localhost:6274/oauth/callback"]}),
            "native",
        ),
        (
            json!({"application_type": "web", "redirect_uris": ["https://app.example.com/cb"]}),
            "web",
        ),
    ] {
        let registered = register(&app, &body(metadata.clone())).await;
        assert_eq!(registered["application_type"], echoed, "{metadata}");
        assert_eq!(registered["redirect_uris"], metadata["redirect_uris"]);
        assert_no_null(&registered, &registered);
    }
    let before = dynamic_clients(&app, &admin_token).await.len();
    assert_eq!(before, 3);
    for (metadata, code) in [
        (
            json!({"application_type": "web", "redirect_uris": ["http://localhost:3000/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"application_type": "web", "redirect_uris": ["com.example.app:/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"application_type": "native", "redirect_uris": ["http://app.example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"application_type": "desktop", "redirect_uris": ["http://127.0.0.1:3000/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"application_type": ["native"], "redirect_uris": ["http://127.0.0.1:3000/cb"]}),
            "invalid_client_metadata",
        ),
    ] {
        let response = post_register(&app, &body(metadata.clone())).await;
        assert_oauth_error(response, 400, code).await;
    }
    assert_eq!(dynamic_clients(&app, &admin_token).await.len(), before);
}

#[tokio::test]
async fn credentials_of_another_authorization_server_are_refused_and_documents_are_portable() {
    let docs = DocServer::start().await;
    let a = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let b = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let at_a = interactive(&a, true).await;
    let at_b = interactive(&b, true).await;
    let p = pkce();
    let url = authorize_url(&a, &at_a.client, &p.challenge, &[]);
    let answer = authorize(&a, &mut Browser::new(), &url, &at_a.username).await;
    assert_eq!(answer["iss"], a.issuer);
    let tokens = token_body(redeem(&a, &at_a.client, &answer["code"], &p.verifier).await).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    let issued_at_b = b.grant_count().await;

    // A's client id means nothing at B: an error page, never a redirect.
    let url = authorize_url(&b, &at_a.client, &pkce().challenge, &[]);
    let page = assert_bad_request_page(b.http.get(&url).send().await.unwrap()).await;
    assert!(page.contains("Unknown application"), "{page}");
    // A's refresh token and A's confidential client are unknown at B.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", at_a.client.client_id.as_str()),
    ];
    assert_oauth_error(
        b.post_form("/token", &refresh, None).await,
        401,
        "invalid_client",
    )
    .await;
    let refresh_as_b = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", at_b.client.client_id.as_str()),
    ];
    assert_oauth_error(
        b.post_form("/token", &refresh_as_b, None).await,
        400,
        "invalid_grant",
    )
    .await;
    let cc = [("grant_type", "client_credentials")];
    assert_oauth_error(
        b.post_form("/token", &cc, Some(&at_a.server)).await,
        401,
        "invalid_client",
    )
    .await;
    // A's access token is not one of B's, though both name the same resource.
    let seen_by_b = b.introspect(&at_b.server, access(&tokens)).await;
    assert_eq!(seen_by_b, json!({"active": false}));
    assert_eq!(
        b.grant_count().await,
        issued_at_b,
        "nothing was issued at B"
    );
    // A's refresh token still works at A: B's refusals revoked nothing.
    token_body(a.post_form("/token", &refresh, None).await).await;

    // A metadata document client is the same client at both servers.
    let client_id = docs.url("/portable.json");
    docs.serve("/portable.json", Doc::json(&document(&client_id)));
    for app in [&a, &b] {
        assert!(goes_to_sign_in(
            &authorize_as_document(app, &client_id).await
        ));
    }
}

#[tokio::test]
async fn the_code_flow_answers_a_short_lived_bearer_token_with_expires_in_and_scope() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "mcp:read")]);
    let answer = authorize(&app, &mut Browser::new(), &url, &setup.username).await;
    let response = redeem(&app, &setup.client, &answer["code"], &p.verifier).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["content-type"], "application/json");
    let token = token_body(response).await;
    assert_no_null(&token, &token);
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 600, "ten minutes by default");
    assert_eq!(token["scope"], "mcp:read");
    assert!(token["refresh_token"].is_string(), "{token}");
    let claims = decode_claims(access(&token));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );

    // The refreshed token is as short-lived and names its scope again.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token["refresh_token"].as_str().unwrap()),
        ("client_id", setup.client.client_id.as_str()),
    ];
    let refreshed = token_body(app.post_form("/token", &refresh, None).await).await;
    assert_no_null(&refreshed, &refreshed);
    assert_eq!(refreshed["expires_in"], 600);
    assert_eq!(refreshed["scope"], "mcp:read");
    assert_ne!(
        refreshed["refresh_token"], token["refresh_token"],
        "rotated"
    );
}

#[tokio::test]
async fn the_consent_page_names_the_redirect_host() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let setup = interactive(&app, true).await;
    // The host in the "Redirects to" entry of the details list.
    let shown = |html: &str, host: &str| {
        html.split_once("<dt>Redirects to</dt>")
            .is_some_and(|(_, rest)| {
                rest.trim_start()
                    .starts_with(&format!("<dd><code class=\"mono\">{host}</code></dd>"))
            })
    };

    // An admin-registered client returning to its https redirect URI.
    let mut browser = Browser::new();
    let url = authorize_url(
        &app,
        &setup.client,
        &pkce().challenge,
        &[("redirect_uri", "https://app.example.com/cb")],
    );
    let page = through_sign_in(&app, &mut browser, &url, &setup.username).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(shown(&html, "app.example.com"), "{html}");

    // A metadata-document client: the host is named in the warning as well.
    let client_id = docs.url("/client.json");
    let mut doc = document(&client_id);
    doc["redirect_uris"] = json!(["https://client.example.org/oauth/cb", REDIRECT]);
    docs.serve("/client.json", Doc::json(&doc));
    let url = authorize_url(
        &app,
        &public(&client_id),
        &pkce().challenge,
        &[("redirect_uri", "https://client.example.org/oauth/cb")],
    );
    let page = through_sign_in(&app, &mut browser, &url, &setup.username).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(shown(&html, "client.example.org"), "{html}");
    assert!(
        html.contains("you trust <strong class=\"mono\">client.example.org</strong>"),
        "{html}"
    );
}

#[tokio::test]
async fn a_step_up_to_the_union_of_scopes_asks_only_for_the_new_one_and_the_token_carries_both() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let mut browser = Browser::new();
    let p = pkce();
    let read = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "mcp:read")]);
    let first = authorize(&app, &mut browser, &read, &setup.username).await;
    let token = token_body(redeem(&app, &setup.client, &first["code"], &p.verifier).await).await;
    assert_eq!(token["scope"], "mcp:read");

    // The union of what was granted and what the server challenged for.
    let p = pkce();
    let union = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read mcp:write")],
    );
    let page = browser.get(&union).await;
    assert_eq!(page.status(), 200, "the new scope needs consent");
    let html = page.text().await.unwrap();
    let asked = &html[..html
        .find("You already allowed")
        .expect("granted scopes listed")];
    assert!(
        asked.contains("mcp:write") && !asked.contains(">mcp:read<"),
        "{html}"
    );
    let answer = authorize(&app, &mut browser, &union, &setup.username).await;
    let stepped_up =
        token_body(redeem(&app, &setup.client, &answer["code"], &p.verifier).await).await;
    assert_eq!(stepped_up["scope"], "mcp:read mcp:write");
    assert_eq!(
        decode_claims(access(&stepped_up))["scope"],
        "mcp:read mcp:write"
    );
}
